"""The input rules shared by forms and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.validation import Invalid, parse_area, parse_entry, parse_session, parse_uuid

TODAY = date(2026, 11, 20)


def entry(**overrides):
    payload = {
        "date": "2026-11-20",
        "ratings": {
            "redness": 6,
            "swelling": 3,
            "pain": 2,
            "itching": 1,
            "dryness": 4,
            "bruising": 0,
        },
        "pie_severity": 3,
        "pih_severity": None,
        "red_flags": ["pus"],
        "aftercare": ["sunscreen"],
        "notes": " sore ",
        "client_updated_at": "2026-11-20T08:00:00Z",
    }
    payload.update(overrides)
    return payload


def session(**overrides):
    payload = {
        "date": "2026-11-01",
        "device": "pen",
        "needle_depth_mm": 1.0,
        "areas": ["left_cheek", "right_cheek"],
        "topicals": ["hyaluronic_acid"],
        "setting": "clinic",
        "notes": "",
    }
    payload.update(overrides)
    return payload


def problems(parse, payload) -> dict[str, str]:
    with pytest.raises(Invalid) as raised:
        parse(payload, latest_date=TODAY)
    return raised.value.fields


def test_a_valid_entry_is_cleaned():
    data = parse_entry(entry(), latest_date=TODAY)
    assert data.date == TODAY
    assert data.ratings["redness"] == 6
    assert data.notes == "sore"
    assert data.client_updated_at == datetime(2026, 11, 20, 8, tzinfo=UTC)


def test_missing_ratings_are_none():
    data = parse_entry(entry(ratings={"redness": 2}), latest_date=TODAY)
    assert data.ratings["swelling"] is None


@pytest.mark.parametrize("value", [11, -1, 2.5, "5", True])
def test_ratings_must_be_integers_from_0_to_10(value):
    assert "ratings.redness" in problems(parse_entry, entry(ratings={"redness": value}))


@pytest.mark.parametrize("value", [5, -1, "3", 1.0])
def test_severity_must_be_0_to_4(value):
    assert "pie_severity" in problems(parse_entry, entry(pie_severity=value))


def test_unknown_rating_names_are_refused():
    assert "ratings" in problems(parse_entry, entry(ratings={"happiness": 3}))


@pytest.mark.parametrize("value", ["2026-11-21", "20/11/2026", "", None, 20261120, "1999-12-31"])
def test_dates_must_be_iso_and_not_in_the_future(value):
    assert "date" in problems(parse_entry, entry(date=value))


def test_red_flags_and_aftercare_only_hold_known_names():
    found = problems(parse_entry, entry(red_flags=["headache"], aftercare="sunscreen"))
    assert set(found) == {"red_flags", "aftercare"}


def test_choices_keep_vocabulary_order_without_repeats():
    data = parse_entry(entry(aftercare=["no_makeup", "sunscreen", "sunscreen"]), latest_date=TODAY)
    assert data.aftercare == ["sunscreen", "no_makeup"]


def test_notes_have_a_length_limit_and_no_nul():
    assert "notes" in problems(parse_entry, entry(notes="x" * 2001))
    assert "notes" in problems(parse_entry, entry(notes="a\x00b"))


def test_timestamp_needs_a_timezone():
    assert "client_updated_at" in problems(
        parse_entry, entry(client_updated_at="2026-11-20T08:00:00")
    )


def test_payload_must_be_an_object():
    assert problems(parse_entry, ["not", "an", "object"]) == {"_": "expected a JSON object"}


def test_a_valid_session_is_cleaned():
    data = parse_session(session(needle_depth_mm=1), latest_date=TODAY)
    assert data.needle_depth_mm == 1.0 and data.setting == "clinic"


@pytest.mark.parametrize("depth", [0.05, 3.5, "1", None, True, float("nan"), float("inf")])
def test_needle_depth_is_0_1_to_3_mm(depth):
    assert "needle_depth_mm" in problems(parse_session, session(needle_depth_mm=depth))


def test_session_needs_a_known_device_and_an_area():
    found = problems(parse_session, session(device="laser", areas=[]))
    assert set(found) == {"device", "areas"}


def test_unknown_area_and_setting_are_refused():
    found = problems(parse_session, session(areas=["elbow"], setting="spa"))
    assert set(found) == {"areas", "setting"}


def test_parse_uuid_canonicalises_and_refuses_junk():
    assert (
        parse_uuid("A3C1F0E2-1111-4222-8333-944445555666") == "a3c1f0e2-1111-4222-8333-944445555666"
    )
    with pytest.raises(Invalid):
        parse_uuid("../../etc/passwd")


def test_parse_area():
    assert parse_area("chin") == "chin"
    with pytest.raises(Invalid):
        parse_area("elbow")


@pytest.mark.parametrize("field", ["device", "setting"])
@pytest.mark.parametrize("value", [[], ["pen"], {"name": "pen"}])
def test_a_choice_given_a_list_or_an_object_is_invalid_not_an_error(field, value):
    payload = {
        "date": TODAY.isoformat(),
        "device": "pen",
        "needle_depth_mm": 1.0,
        "areas": ["chin"],
        field: value,
    }
    with pytest.raises(Invalid) as invalid:
        parse_session(payload, latest_date=TODAY)
    assert field in invalid.value.fields


def test_an_area_given_a_list_is_invalid_not_an_error():
    with pytest.raises(Invalid):
        parse_area(["chin"])


# Keys the parsers know, as well as any text, so the odd values reach the real fields.
KNOWN_FIELDS = st.sampled_from(
    [
        "date",
        "ratings",
        "pie_severity",
        "pih_severity",
        "red_flags",
        "aftercare",
        "notes",
        "device",
        "needle_depth_mm",
        "areas",
        "topicals",
        "setting",
        "provider",
        "client_updated_at",
    ]
)


@given(
    st.dictionaries(
        KNOWN_FIELDS | st.text(max_size=12),
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=20)
        | st.lists(st.text(max_size=5), max_size=3),
        max_size=8,
    )
)
def test_arbitrary_json_objects_either_parse_or_raise_invalid(payload):
    for parse in (parse_entry, parse_session):
        try:
            parse(payload, latest_date=TODAY)
        except Invalid as invalid:
            assert invalid.fields
