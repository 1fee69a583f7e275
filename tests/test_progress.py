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


# --- Recovery curves and the series, on hand-built data with known answers ------------------------

from datetime import timedelta  # noqa: E402

from hypothesis import example, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from webapp.photo_choice import PhotoItem, default_pair, key_photos  # noqa: E402
from webapp.progress import (  # noqa: E402
    CYCLE_MAX_DAYS,
    DayRecord,
    cycles,
    nearest_day,
    recovery_curves,
    runs,
    series_rows,
    summary_lines,
)

S1, S2 = date(2026, 1, 1), date(2026, 2, 12)  # 42 days apart


def day(d: date, **values) -> DayRecord:
    return DayRecord(d, values)


def test_a_cycle_runs_to_the_day_before_the_next_session_or_day_42():
    first, second, third = cycles([S1, S1 + timedelta(days=20), S1 + timedelta(days=120)])
    assert (first.number, first.last_day) == (1, 19)
    assert second.last_day == CYCLE_MAX_DAYS  # next session is 100 days later
    assert third.last_day == CYCLE_MAX_DAYS
    (ongoing,) = cycles([S1], today=S1 + timedelta(days=5))
    assert ongoing.last_day == 5


def test_entries_before_the_first_session_are_not_on_any_curve():
    records = [day(S1 - timedelta(days=1), redness=2), day(S1, redness=8)]
    (curve,) = recovery_curves(cycles([S1]), records, "redness")
    assert curve.points == ((0, 8.0),)


def test_days_without_entries_or_ratings_are_gaps_not_zeros():
    records = [
        day(S1, redness=8),
        day(S1 + timedelta(days=1), redness=6),
        day(S1 + timedelta(days=2), redness=None),  # logged, but redness not rated
        day(S1 + timedelta(days=5), redness=1),
    ]
    (curve,) = recovery_curves(cycles([S1]), records, "redness")
    assert curve.points == ((0, 8.0), (1, 6.0), (5, 1.0))
    assert runs(curve.points) == [[(0, 8.0), (1, 6.0)], [(5, 1.0)]]
    assert curve.value_on(2) is None and curve.value_on(5) == 1.0


def test_deleting_a_session_realigns_its_days_onto_the_previous_curve():
    middle = S1 + timedelta(days=10)
    records = [
        day(S1, redness=8),
        day(middle, redness=9),
        day(middle + timedelta(days=1), redness=5),
    ]
    with_middle = recovery_curves(cycles([S1, middle]), records, "redness")
    assert [curve.points for curve in with_middle] == [((0, 8.0),), ((0, 9.0), (1, 5.0))]
    (without,) = recovery_curves(cycles([S1]), records, "redness")
    assert without.points == ((0, 8.0), (10, 9.0), (11, 5.0))


def test_days_beyond_a_cycle_are_left_off_its_curve():
    records = [day(S1 + timedelta(days=CYCLE_MAX_DAYS + 3), redness=1)]
    (curve,) = recovery_curves(cycles([S1]), records, "redness")
    assert curve.points == ()


def hand_built_series() -> list[DayRecord]:
    """Two cycles. Before S1 redness is 2; S1 peaks at 8 on day 1 and is back to 2 on day 5; PIE
    at day 28 is 3. Before S2 redness is 1; S2 peaks at 6 on day 0, back to 1 on day 2; PIE at
    day 28 is 1 (day 27 is logged too, with 2)."""
    records = [day(S1 - timedelta(days=3), redness=2, pie_severity=3)]
    for offset, redness in enumerate([7, 8, 5, 4, 3, 2, 2]):
        records.append(day(S1 + timedelta(days=offset), redness=redness))
    records.append(day(S1 + timedelta(days=28), redness=1, pie_severity=3, pih_severity=2))
    records.append(day(S2 - timedelta(days=1), redness=1))
    for offset, redness in enumerate([6, 3, 1]):
        records.append(day(S2 + timedelta(days=offset), redness=redness))
    records.append(day(S2 + timedelta(days=27), redness=1, pie_severity=2))
    records.append(day(S2 + timedelta(days=28), redness=1, pie_severity=1, pih_severity=2))
    return records


def test_series_rows_know_baseline_peak_recovery_and_day_28():
    first, second = series_rows(cycles([S1, S2]), hand_built_series())
    assert (first.baseline_redness, first.baseline_date) == (2, S1 - timedelta(days=3))
    assert (first.peak_redness.day, first.peak_redness.value) == (1, 8)
    assert first.days_to_baseline == 5
    assert (first.matched["pie_severity"].day, first.matched["pie_severity"].value) == (28, 3)
    assert second.baseline_redness == 1  # the last entry before S2, from cycle 1
    assert (second.peak_redness.day, second.peak_redness.value) == (0, 6)
    assert second.days_to_baseline == 2
    assert second.matched["pie_severity"].value == 1
    assert second.matched["delta_a"] is None  # never measured: unknown, not zero


def test_day_28_falls_back_to_the_nearest_logged_day():
    records = [
        day(S1 + timedelta(days=20), pie_severity=3),
        day(S1 + timedelta(days=33), pie_severity=2),
    ]
    (row,) = series_rows(cycles([S1]), records)
    assert (row.matched["pie_severity"].day, row.matched["pie_severity"].value) == (33, 2)


@given(
    st.dictionaries(
        st.integers(0, CYCLE_MAX_DAYS) | st.integers(24, 32),  # often near day 28, ties too
        st.fixed_dictionaries({"pie_severity": st.none() | st.integers(0, 4)}),
        max_size=CYCLE_MAX_DAYS,
    )
)
@example({27: {"pie_severity": 3}, 29: {"pie_severity": 1}})  # a tie: the later day
def test_day_28_of_the_series_is_the_nearest_logged_day_on_any_record(logged):
    # series_rows searches from day 28 outwards; it must pick what nearest_day() picks.
    records = [day(S1 + timedelta(days=offset), **values) for offset, values in logged.items()]
    (row,) = series_rows(cycles([S1], today=S1 + timedelta(days=CYCLE_MAX_DAYS)), records)
    points = [
        (offset, float(values["pie_severity"]))
        for offset, values in logged.items()
        if values["pie_severity"] is not None
    ]
    assert row.matched["pie_severity"] == nearest_day(points, 28)


def test_recovery_is_unknown_without_a_baseline_and_not_yet_when_never_reached():
    records = [day(S1, redness=8), day(S1 + timedelta(days=1), redness=5)]
    (row,) = series_rows(cycles([S1]), records)
    assert row.baseline_redness is None and row.days_to_baseline is None
    records.insert(0, day(S1 - timedelta(days=1), redness=1))
    (row,) = series_rows(cycles([S1]), records)
    assert row.baseline_redness == 1 and row.days_to_baseline is None


def test_summary_sentence_is_computed_from_the_series():
    rows = series_rows(cycles([S1, S2]), hand_built_series())
    lines = summary_lines(rows, ["pie_severity", "pih_severity"])
    assert lines[0] == "PIE severity at 4 weeks fell from 3 after session 1 to 1 after session 2."
    assert lines[1] == ("PIH severity at 4 weeks stayed at 2 from session 1 to session 2.")
    assert lines[2] == (
        "Redness was back to its pre-session level by day 5 after session 1 "
        "and by day 2 after session 2."
    )


def test_summary_names_the_days_when_day_28_was_not_logged():
    records = [
        day(S1 + timedelta(days=20), pie_severity=3),
        day(S2 + timedelta(days=13), pie_severity=4),
    ]
    lines = summary_lines(series_rows(cycles([S1, S2]), records), ["pie_severity"])
    assert lines == [
        "PIE severity rose from 3 on day 20 after session 1 to 4 on day 13 after session 2 "
        "(the logged days nearest day 28)."
    ]


def test_no_summary_with_a_single_session():
    assert summary_lines(series_rows(cycles([S1]), hand_built_series()[:9])) == []


def photo(uuid: str, d: date, session: int | None, days: int | None) -> PhotoItem:
    return PhotoItem(uuid, "left_cheek", d, session, days, 100, 100, "key-" + uuid)


def test_compare_defaults_to_the_same_day_after_the_first_and_the_latest_session():
    items = [photo("b", S1 - timedelta(days=1), None, None)]
    items += [photo(f"1-{n}", S1 + timedelta(days=n), 1, n) for n in (0, 3, 27, 30)]
    items += [photo(f"2-{n}", S2 + timedelta(days=n), 2, n) for n in (0, 3, 27)]
    first, latest = default_pair(items)
    assert (first.uuid, latest.uuid) == ("1-27", "2-27")


def test_compare_without_a_shared_day_takes_the_closest_days():
    items = [
        photo("1-20", S1 + timedelta(days=20), 1, 20),
        photo("2-5", S2 + timedelta(days=5), 2, 5),
    ]
    assert [item.uuid for item in default_pair(items)] == ["1-20", "2-5"]
    assert default_pair(items[:1]) is None


def test_key_photos_keep_the_baseline_and_the_key_days_of_each_cycle():
    items = [
        photo("b0", S1 - timedelta(days=2), None, None),
        photo("b1", S1 - timedelta(days=1), None, None),
    ]
    items += [photo(f"1-{n}", S1 + timedelta(days=n), 1, n) for n in range(42)]
    chosen = [item.uuid for item in key_photos(items)]
    assert chosen == ["b1", "1-0", "1-3", "1-7", "1-14", "1-28"]


# --- Which photos are measured, and each day's marks ---------------------------------------------

import pytest  # noqa: E402

from webapp.photo_choice import counts_for_measure, daily_marks  # noqa: E402
from webapp.progress import MARK_METRICS, METRICS  # noqa: E402

MARKS = {"delta_a": 5.0, "red_area": 0.02, "delta_l": -3.0, "dark_area": 0.01}
ALIGNED = {"reference": "r", "matrix": [1, 0, 0, 0, 1, 0], "score": 0.8, "aligned": True}
UNALIGNED = {**ALIGNED, "score": 0.1, "aligned": False}


def quality(verdict: str) -> dict:
    return {"verdict": verdict, "reasons": ["Too dark"] if verdict != "good" else []}


def test_good_and_fair_photos_count_and_poor_ones_only_when_asked():
    assert counts_for_measure(quality("good"), ALIGNED, MARKS)
    assert counts_for_measure(quality("fair"), ALIGNED, MARKS)
    assert not counts_for_measure(quality("poor"), ALIGNED, MARKS)
    assert counts_for_measure(quality("poor"), ALIGNED, MARKS, include_poor=True)


def test_an_unaligned_photo_never_counts():
    assert not counts_for_measure(quality("good"), UNALIGNED, MARKS)
    assert not counts_for_measure(quality("good"), UNALIGNED, MARKS, include_poor=True)


def test_a_photo_without_marks_never_counts_and_unmeasured_quality_or_alignment_do():
    assert not counts_for_measure(quality("good"), ALIGNED, None)
    assert counts_for_measure(None, None, MARKS)
    assert counts_for_measure(None, {**ALIGNED, "reference": None}, MARKS)  # the reference


def test_a_photo_where_no_skin_was_found_does_not_count():
    no_skin = {"delta_a": None, "red_area": 0.0, "delta_l": None, "dark_area": 0.0}
    assert not counts_for_measure(None, None, {**no_skin, "skin_fraction": 0.0})
    assert counts_for_measure(None, None, {**no_skin, "skin_fraction": 0.4})


def test_a_days_marks_are_the_mean_of_its_photos_areas_in_percent():
    day = date(2026, 3, 1)
    other = {"delta_a": 7.0, "red_area": 0.04, "delta_l": -5.0, "dark_area": 0.03}
    means = daily_marks([(day, MARKS), (day, other), (day + timedelta(days=1), MARKS)])
    assert means[day] == pytest.approx(
        {"delta_a": 6.0, "red_area": 3.0, "delta_l": -4.0, "dark_area": 2.0}
    )
    assert means[day + timedelta(days=1)]["red_area"] == pytest.approx(2.0)


def test_a_photo_without_red_marks_adds_no_contrast_but_a_zero_area():
    day = date(2026, 3, 1)
    none_found = {**MARKS, "delta_a": None, "red_area": 0.0}
    means = daily_marks([(day, MARKS), (day, none_found)])[day]
    assert means["delta_a"] == 5.0, "the mean over the photos that found red marks"
    assert means["red_area"] == pytest.approx(1.0), "(2% + 0%) / 2"
    assert "delta_a" not in daily_marks([(day, none_found)])[day], "a gap, never zero"


def test_the_measured_metrics_are_the_marks_and_say_they_are_indicative():
    assert MARK_METRICS == ("delta_a", "red_area", "delta_l", "dark_area")
    for key in MARK_METRICS:
        metric = METRICS[key]
        assert metric.measured and "(indicative)" in metric.label
        assert metric.low is None and metric.high is None, "fitted axes"
    assert "lab_a" not in METRICS and "ita" not in METRICS


def test_the_badge_says_the_verdict_in_words_and_the_reasons():
    poor = photo("p", S1, 1, 0)._replace(quality={"verdict": "poor", "reasons": ["Blurred"]})
    assert (poor.quality_label, poor.quality_note) == ("Poor", "Poor quality: Blurred")
    good = photo("g", S1, 1, 0)._replace(quality={"verdict": "good", "reasons": []})
    assert (good.quality_label, good.quality_note) == ("Good", "Good quality")
    assert photo("old", S1, 1, 0).quality_label is None
