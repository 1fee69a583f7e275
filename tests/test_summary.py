"""What a view says first (webapp.summary): the warning signs reported, then "is it working?" in
numbers. Every number in a sentence is the number in the data."""

from __future__ import annotations

import re
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from webapp.photo_choice import PhotoItem
from webapp.progress import (
    DayRecord,
    SessionCalendar,
    cycles,
    matched_day,
    series_rows,
    summary_lines,
)
from webapp.summary import (
    NO_WARNING_SIGNS,
    Period,
    before_and_now,
    change,
    dates_in_series,
    headline,
    logging_sentence,
    warning_signs,
)

S1, S2, S3 = date(2026, 1, 10), date(2026, 2, 7), date(2026, 3, 7)  # 28 days apart
CALENDAR = SessionCalendar([S1, S2, S3])
TODAY = date(2026, 3, 20)


def day(d: date, **values) -> DayRecord:
    return DayRecord(d, values)


def after(session: date, days: int) -> date:
    return session + timedelta(days=days)


# --- Warning signs -------------------------------------------------------------------------------


def test_each_sign_is_listed_once_with_every_date_and_its_day_after_the_session():
    flagged = [(after(S3, offset), ["spreading_redness"]) for offset in (1, 2, 3, 4, 5)]
    flagged[1] = (after(S3, 2), ["pus", "spreading_redness"])
    flagged.append((after(S2, 9), ["pus"]))
    pus, spreading = warning_signs(flagged, CALENDAR)
    assert (pus.label, pus.count) == ("Pus or yellow crusting", "2 days")
    assert pus.when == "16 Feb 2026 (day 9 after session 2), 9 Mar (day 2 after session 3)"
    assert spreading.label == "Warmth or redness that is spreading"
    assert spreading.count == "5 days"
    assert spreading.when == (
        "8 Mar 2026 (day 1 after session 3), 9 Mar (day 2), 10 Mar (day 3), 11 Mar (day 4), "
        "12 Mar (day 5)"
    )


def test_signs_before_the_first_session_say_so():
    (fever,) = warning_signs([(after(S1, -3), ["fever"]), (after(S1, -2), ["fever"])], CALENDAR)
    assert fever.when == "7 Jan 2026 (before the first session), 8 Jan"


def test_signs_come_in_the_vocabularys_order_and_a_day_counts_once():
    flagged = [(S2, ["new_dark_patches", "fever"]), (S2, ["fever"])]
    signs = warning_signs(flagged, CALENDAR)
    assert [sign.flag for sign in signs] == ["fever", "new_dark_patches"]
    assert signs[0].dates == (S2,)


def test_no_flags_no_signs():
    assert warning_signs([], CALENDAR) == []
    assert NO_WARNING_SIGNS == "No warning signs reported in this period"


def test_the_year_is_written_again_when_it_changes():
    calendar = SessionCalendar([date(2025, 12, 30)])
    text = dates_in_series([date(2025, 12, 31), date(2026, 1, 1)], calendar)
    assert text == "31 Dec 2025 (day 1 after session 1), 1 Jan 2026 (day 2)"


# --- Is it working? ------------------------------------------------------------------------------


def test_severity_from_baseline_to_latest_with_words_numbers_and_days():
    days = [
        day(after(S1, -5), pie_severity=4),
        day(after(S1, -1), pie_severity=3),  # the baseline: the last before session 1
        day(after(S2, 3), pie_severity=3),
        day(after(S3, 10), pie_severity=2),
    ]
    lines = headline(days, CALENDAR, **_options(["pie_severity"]))
    assert lines[0] == (
        "PIE moderate (3) to mild (2), from 9 Jan 2026 (before the first session) "
        "to 17 Mar 2026 (day 10 after session 3)."
    )


def test_a_severity_that_did_not_move_says_unchanged():
    days = [
        day(after(S1, -1), pie_severity=3, pih_severity=1),
        day(after(S2, 4), pie_severity=2, pih_severity=1),
    ]
    lines = headline(days, CALENDAR, **_options(["pie_severity", "pih_severity"]))
    assert lines[0].startswith("PIE moderate (3) to mild (2), PIH unchanged at almost clear (1), ")


def test_without_a_baseline_it_says_what_was_logged_first():
    days = [day(after(S1, 2), pih_severity=3), day(after(S2, 20), pih_severity=1)]
    assert not change(days, CALENDAR, "pih_severity").from_baseline
    line = headline(days, CALENDAR, **_options(["pih_severity"]))[0]
    assert line == (
        "PIH moderate (3) to almost clear (1), from the first value logged, "
        "12 Jan 2026 (day 2 after session 1) to 27 Feb 2026 (day 20 after session 2)."
    )


def test_only_the_tracked_severities_are_summed_up():
    days = [day(after(S1, 1), pie_severity=2, pih_severity=3)]
    pih_only = headline(days, CALENDAR, **_options(["pih_severity"]))
    assert pih_only[0] == (
        "PIH moderate (3) on 11 Jan 2026 (day 1 after session 1), the only value logged."
    )
    pie_only = headline(days, CALENDAR, **_options(["pie_severity"]))
    assert pie_only[0].startswith("PIE mild (2) on 11 Jan 2026") and "PIH" not in pie_only[0]


def test_values_over_different_days_get_a_sentence_each():
    days = [
        day(after(S1, -1), pie_severity=3),
        day(after(S1, 4), pih_severity=2),
        day(after(S2, 6), pie_severity=2, pih_severity=1),
    ]
    lines = headline(days, CALENDAR, **_options(["pie_severity", "pih_severity"]))
    assert lines[:2] == [
        "PIE moderate (3) to mild (2), from 9 Jan 2026 (before the first session) "
        "to 13 Feb 2026 (day 6 after session 2).",
        "PIH mild (2) to almost clear (1), from the first value logged, "
        "14 Jan 2026 (day 4 after session 1) to 13 Feb 2026 (day 6 after session 2).",
    ]


def test_no_entries_at_all():
    lines = headline([], CALENDAR, **_options(["pie_severity", "pih_severity"]))
    assert lines == [
        "PIE and PIH not rated in this period.",
        "3 sessions so far; no days logged in this period.",
    ]
    nothing = headline([], SessionCalendar([]), **_options(["pie_severity"], sessions_shown=0))
    assert nothing == [
        "PIE not rated in this period.",
        "No sessions yet; no days logged in this period.",
    ]


def test_measured_marks_are_labelled_indicative_and_shown_rounded_as_in_the_curves():
    marks_before = {"delta_a": 6.24, "red_area": 3.16, "delta_l": -5.04, "dark_area": 2.0}
    marks_after = {"delta_a": 4.06, "red_area": 1.54, "delta_l": -3.25, "dark_area": 1.06}
    days = [
        day(after(S1, -1), pie_severity=3, pih_severity=2, **marks_before),
        day(after(S3, 10), pie_severity=2, pih_severity=1, **marks_after),
    ]
    lines = headline(
        days, CALENDAR, **_options(["pie_severity", "pih_severity"], area="Left cheek")
    )
    assert lines[0] == (
        "PIE moderate (3) to mild (2), PIH mild (2) to almost clear (1), measured red marks "
        "Δa* 6.2 to 4.1 over 3.2% to 1.5% of the skin and dark marks ΔL* -5.0 to -3.2 over "
        "2.0% to 1.1% of the skin (left cheek photos, indicative), from 9 Jan 2026 (before the "
        "first session) to 17 Mar 2026 (day 10 after session 3)."
    )


def test_marks_with_no_contrast_on_a_day_say_only_their_area():
    days = [
        day(after(S1, -1), pie_severity=3, red_area=0.0),
        day(after(S3, 10), pie_severity=2, red_area=0.0),
    ]
    line = headline(days, CALENDAR, **_options(["pie_severity"], area="Chin"))[0]
    assert "measured red marks over 0.0% to 0.0% of the skin (chin photos, indicative)" in line
    assert "Δa*" not in line, "no mark found: no contrast to state"


def test_marks_read_over_other_days_get_their_own_sentence():
    days = [
        day(after(S1, -1), pie_severity=3),
        day(after(S1, 2), delta_a=5.0, red_area=2.0),
        day(after(S3, 10), pie_severity=2, delta_a=3.0, red_area=1.0),
    ]
    lines = headline(days, CALENDAR, **_options(["pie_severity"], area="Chin"))
    assert lines[0].startswith("PIE moderate (3) to mild (2), from 9 Jan 2026")
    assert lines[1] == (
        "Measured red marks Δa* 5.0 to 3.0 over 2.0% to 1.0% of the skin (chin photos, "
        "indicative), from the first value logged, 12 Jan 2026 (day 2 after session 1) to "
        "17 Mar 2026 (day 10 after session 3)."
    )


def test_no_photos_no_measured_marks():
    days = [day(after(S1, 1), pie_severity=2)]
    lines = headline(days, CALENDAR, **_options(["pie_severity"], area=None))
    assert not any("measured" in line for line in lines)
    only_pih_measured = [day(after(S1, 1), pie_severity=2, delta_l=-4.0, dark_area=1.0)]
    line = headline(only_pih_measured, CALENDAR, **_options(["pie_severity"], area="Chin"))[0]
    assert "dark" not in line, "dark marks go with PIH, which is not tracked"


def test_days_logged_count_the_gaps_between_the_first_record_and_today():
    logged = [after(S1, offset) for offset in range(0, 20, 2)]  # every other day: 10 days
    text = logging_sentence(CALENDAR, 1, logged, Period(None, None, after(S1, 19)))
    assert text == "1 session so far; 10 of the 20 days from 10 Jan to 29 Jan 2026 logged."


def test_a_shared_range_counts_its_own_days_and_all_sessions_so_far():
    logged = [after(S2, offset) for offset in range(10)]
    period = Period(after(S2, 0), after(S2, 9), TODAY)
    text = logging_sentence(CALENDAR, 1, logged, period)
    assert text == (
        "2 sessions so far (1 in this period); 10 of the 10 days from 7 Feb to 16 Feb 2026 logged."
    )


@given(
    st.lists(
        st.tuples(st.integers(-30, 80), st.none() | st.integers(0, 4)), min_size=0, max_size=40
    )
)
def test_the_sentence_states_the_baseline_and_the_latest_value_whatever_was_logged(logged):
    by_date = {after(S1, offset): value for offset, value in logged}  # one entry a day
    days = [day(d, pie_severity=value) for d, value in by_date.items()]
    line = headline(days, CALENDAR, **_options(["pie_severity"]))[0]
    rated = sorted((d, v) for d, v in by_date.items() if v is not None)
    if not rated:
        assert line == "PIE not rated in this period."
        return
    before = [item for item in rated if item[0] < S1]
    first, latest = (before or rated)[-1 if before else 0], rated[-1]
    numbers = [int(n) for n in re.findall(r"\((\d)\)", line)]
    assert numbers == ([first[1]] if first[1] == latest[1] else [first[1], latest[1]])
    assert ("unchanged" in line) == (first[0] != latest[0] and first[1] == latest[1])
    assert f"{first[0].day} {first[0]:%b %Y}" in line and f"{latest[0].day} {latest[0]:%b}" in line
    assert ("before the first session" in line) == bool(before)


def _options(severities, *, area=None, sessions_shown=3):
    return {
        "severities": severities,
        "measured_area": area,
        "sessions_shown": sessions_shown,
        "period": Period(None, None, TODAY),
    }


# --- The series compares a day every finished cycle reached ---------------------------------------


def test_the_matched_day_is_28_or_the_shortest_finished_cycle():
    three_weekly = [S1, after(S1, 21), after(S1, 42)]
    assert matched_day(cycles(three_weekly, today=after(S1, 70))) == 20
    assert matched_day(cycles([S1, S2, S3], today=TODAY)) == 27
    assert matched_day(cycles([S1, after(S1, 60)], today=after(S1, 63))) == 28
    assert matched_day(cycles([S1], today=after(S1, 3))) == 28  # nothing finished yet


def test_with_21_day_cycles_the_summary_compares_day_20_and_says_so():
    sessions = [S1, after(S1, 21)]
    records = [
        day(after(S1, 20), pie_severity=3),
        day(after(sessions[1], 20), pie_severity=2),
    ]
    session_cycles = cycles(sessions, today=after(S1, 60))
    compared = matched_day(session_cycles)
    rows = series_rows(session_cycles, records, ["pie_severity"], compared)
    assert summary_lines(rows, ["pie_severity"], compared) == [
        "PIE severity on day 20 fell from 3 after session 1 to 2 after session 2."
    ]


def test_a_cycle_short_of_the_matched_day_is_not_compared_yet():
    sessions = [S1, after(S1, 30)]
    records = [day(after(S1, 28), pie_severity=3), day(after(sessions[1], 3), pie_severity=2)]
    session_cycles = cycles(sessions, today=after(sessions[1], 3))
    compared = matched_day(session_cycles)
    rows = series_rows(session_cycles, records, ["pie_severity"], compared)
    assert summary_lines(rows, ["pie_severity"], compared) == []


# --- Before treatment and now ---------------------------------------------------------------------


def photo(name: str, taken: date, area: str = "left_cheek") -> PhotoItem:
    """A photo of `area` taken on `taken`, aligned to S1-S3."""
    alignment = CALENDAR.align(taken)
    return PhotoItem(
        name, area, taken, alignment.session_number, alignment.days_since_session, 900, 1200, name
    )


def test_before_is_the_last_photo_before_the_first_session_and_now_the_latest():
    photos = [
        photo("early", S1 - timedelta(days=20)),
        photo("baseline", S1 - timedelta(days=1)),
        photo("s1-d13", after(S1, 13)),
        photo("s3-d13", after(S3, 13)),
    ]
    (pair,) = before_and_now({"left_cheek": photos})
    assert (pair.area, pair.before.uuid, pair.now.uuid) == ("left_cheek", "baseline", "s3-d13")
    assert pair.before_label == "Before treatment"
    assert pair.before_when == "9 Jan 2026"
    assert pair.now_when == "20 Mar 2026, day 13 after session 3"


def test_with_no_photo_before_the_first_session_before_is_the_earliest_and_says_so():
    photos = [
        photo("s1-d2", after(S1, 2)),
        photo("s1-d9", after(S1, 9)),
        photo("s2-d5", after(S2, 5)),
    ]
    (pair,) = before_and_now({"left_cheek": photos})
    assert (pair.before.uuid, pair.now.uuid) == ("s1-d2", "s2-d5")
    assert pair.before_label == "First photo"
    assert pair.before_when == "12 Jan 2026, day 2 after session 1"


def test_an_area_with_one_photo_has_no_pair():
    assert before_and_now({"left_cheek": [photo("only", after(S1, 2))]}) == []
    assert before_and_now({"left_cheek": []}) == []


def test_each_area_has_its_own_pair_in_the_areas_order():
    chin = [photo("chin-before", S1 - timedelta(days=3), "chin"), photo("chin-now", TODAY, "chin")]
    cheek = [photo("cheek-s1", after(S1, 1)), photo("cheek-s2", after(S2, 1))]
    forehead = [photo("forehead-once", TODAY, "forehead")]
    pairs = before_and_now({"chin": chin, "left_cheek": cheek, "forehead": forehead})
    assert [(p.area, p.before.uuid, p.now.uuid) for p in pairs] == [
        ("chin", "chin-before", "chin-now"),
        ("left_cheek", "cheek-s1", "cheek-s2"),
    ]
