"""Aligning entries to the sessions they follow."""

from __future__ import annotations

from datetime import date

from webapp.progress import SessionCalendar

SESSIONS = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]


def test_entry_on_a_session_day_is_day_0_of_that_session():
    alignment = SessionCalendar(SESSIONS).align(date(2026, 10, 1))
    assert (alignment.session_number, alignment.days_since_session) == (2, 0)
    assert alignment.label == "Day 0 after session 2"


def test_entry_belongs_to_the_latest_session_on_or_before_it():
    alignment = SessionCalendar(SESSIONS).align(date(2026, 10, 31))
    assert (alignment.session_number, alignment.days_since_session) == (2, 30)


def test_entries_before_the_first_session_are_baseline():
    alignment = SessionCalendar(SESSIONS).align(date(2026, 8, 20))
    assert alignment.session_number is None and alignment.label == "Before first session"


def test_sessions_are_numbered_in_date_order_whatever_order_they_come_in():
    calendar = SessionCalendar(list(reversed(SESSIONS)))
    assert calendar.align(date(2026, 9, 5)).session_number == 1
    assert calendar.number_of(date(2026, 11, 1)) == 3


def test_removing_a_session_realigns_its_entries():
    without_second = SessionCalendar([SESSIONS[0], SESSIONS[2]])
    alignment = without_second.align(date(2026, 10, 5))
    assert (alignment.session_number, alignment.days_since_session) == (1, 34)


def test_no_sessions_means_everything_is_baseline():
    assert SessionCalendar([]).align(date(2026, 1, 1)).session_number is None
