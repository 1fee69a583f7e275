"""The input rules shared by forms and the API."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests import hostile_input
from webapp.validation import (
    Invalid,
    parse_area,
    parse_client_stamp,
    parse_entry,
    parse_session,
    parse_timestamp,
    parse_uuid,
)

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the server's clock, on TODAY


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
        parse(payload, latest_date=TODAY, now=NOW)
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
FUZZ = hostile_input.fuzz_settings(100)  # cheap: no database
KNOWN_FIELDS = st.sampled_from(sorted({*hostile_input.ENTRY_FIELDS, *hostile_input.SESSION_FIELDS}))


def parses_or_raises_invalid(parse, payload) -> None:
    """The parser's whole contract: Invalid naming fields, or values the database can store."""
    try:
        data = parse(payload, latest_date=TODAY, now=NOW)
    except Invalid as invalid:
        assert invalid.fields
        return
    for value in vars(data).values():
        for item in value.values() if isinstance(value, dict) else [value]:
            if isinstance(item, str):
                assert "\x00" not in item
                item.encode("utf-8")  # no lone surrogates
            if isinstance(item, float):
                assert math.isfinite(item)
            if isinstance(item, datetime):
                assert item.utcoffset() == timedelta(0)
                assert datetime(2000, 1, 1, tzinfo=UTC) <= item <= NOW + timedelta(minutes=5)


@FUZZ
@given(
    st.dictionaries(KNOWN_FIELDS | hostile_input.texts, hostile_input.json_values, max_size=8)
    | hostile_input.json_values
)
def test_arbitrary_json_objects_either_parse_or_raise_invalid(payload):
    for parse in (parse_entry, parse_session):
        parses_or_raises_invalid(parse, payload)


# The inputs of issue 9 are pinned as examples; the strategies look for their relatives.
@example(entry(client_updated_at="9999-12-31T23:59:59-01:00"))
@example(entry(client_updated_at="0001-01-01T00:00:00+01:00"))
@example(entry(notes="\ud83d"))
@FUZZ
@given(hostile_input.bodies(entry(), hostile_input.ENTRY_FIELDS))
def test_entries_with_hostile_fields_either_parse_or_raise_invalid(payload):
    parses_or_raises_invalid(parse_entry, payload)


@example(session(needle_depth_mm=10**400))
@example(session(client_updated_at="9999-12-31T23:59:59-01:00"))
@example(session(provider="\ud83d"))
@FUZZ
@given(hostile_input.bodies(session(), hostile_input.SESSION_FIELDS))
def test_sessions_with_hostile_fields_either_parse_or_raise_invalid(payload):
    parses_or_raises_invalid(parse_session, payload)


@example("9999-12-31T23:59:59-01:00")
@FUZZ
@given(hostile_input.timestamps | hostile_input.json_values)
def test_any_timestamp_either_parses_to_utc_or_raises_invalid(raw):
    try:
        value = parse_timestamp(raw, name="since")
    except Invalid as invalid:
        assert set(invalid.fields) == {"since"}
    else:
        assert value.utcoffset() == timedelta(0)


# --- Never an exception other than Invalid (issue 9) ---------------------------------------------

# Instants whose conversion to UTC leaves the calendar (years 1 to 9999): OverflowError, not
# ValueError, so they used to escape as a 500.
BEYOND_THE_CALENDAR = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]


@pytest.mark.parametrize("stamp", BEYOND_THE_CALENDAR)
@pytest.mark.parametrize("parse", [parse_entry, parse_session])
def test_a_stamp_beyond_the_calendar_is_invalid_not_an_error(parse, stamp):
    payload = entry(client_updated_at=stamp) if parse is parse_entry else session()
    payload["client_updated_at"] = stamp
    assert "client_updated_at" in problems(parse, payload)


def test_a_needle_depth_too_big_for_a_float_is_invalid_not_an_error():
    assert "needle_depth_mm" in problems(parse_session, session(needle_depth_mm=10**400))


# A lone surrogate is valid JSON ("\ud83d") but cannot be encoded as UTF-8 for the database.
@pytest.mark.parametrize(
    ("parse", "field"),
    [(parse_entry, "notes"), (parse_session, "notes"), (parse_session, "provider")],
)
def test_text_with_a_lone_surrogate_is_invalid(parse, field):
    payload = entry() if parse is parse_entry else session()
    payload[field] = "half an emoji \ud83d"
    assert field in problems(parse, payload)


def test_parse_timestamp_gives_the_instant_in_utc():
    expected = datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert parse_timestamp("2026-11-20T08:00:00Z", name="since") == expected
    assert parse_timestamp("2026-11-20T09:30:00+01:30", name="since") == expected


@pytest.mark.parametrize(
    "raw",
    ["yesterday", "", None, 20261120, "2026-11-20T08:00:00", "\ud83d", *BEYOND_THE_CALENDAR],
)
def test_parse_timestamp_refuses_with_the_name_it_was_given(raw):
    with pytest.raises(Invalid) as invalid:
        parse_timestamp(raw, name="since")
    assert set(invalid.value.fields) == {"since"}


# --- Unknown fields (issue 9) --------------------------------------------------------------------


def test_a_rating_outside_ratings_is_refused_not_dropped():
    found = problems(parse_entry, entry(redness=9))
    assert set(found) == {"redness"}
    assert "ratings" in found["redness"]


def test_every_unknown_field_is_named_beside_the_other_problems():
    found = problems(parse_session, session(colour="red", ratings={}, needle_depth_mm=9))
    assert set(found) == {"colour", "ratings", "needle_depth_mm"}


# What the API's answers add: a client sending a stored version back is not refused for them.
ENTRY_ANSWER_KEYS = {
    "id": "6f1c0c1e-4b5e-4a0e-9d35-0b7a0d7b1a11",
    "created_at": "2026-11-20T08:00:01Z",
    "updated_at": "2026-11-20T08:00:01Z",
    "deleted": False,
    "session_number": 1,
    "days_since_session": 19,
    "photos": [],
}
SESSION_ANSWER_KEYS = {
    key: ENTRY_ANSWER_KEYS[key] for key in ("id", "created_at", "updated_at", "deleted")
}


def test_the_keys_the_server_adds_to_its_answers_are_ignored():
    assert parse_entry(entry(**ENTRY_ANSWER_KEYS), latest_date=TODAY).notes == "sore"
    assert parse_session(session(**SESSION_ANSWER_KEYS), latest_date=TODAY).device == "pen"


def test_keys_only_entry_answers_carry_are_unknown_in_a_session():
    found = problems(parse_session, session(photos=[], session_number=1))
    assert set(found) == {"photos", "session_number"}


# --- A broken clock cannot freeze data (issue 9) -------------------------------------------------


def stamp_problems(parse, stamp: str) -> dict[str, str]:
    payload = entry() if parse is parse_entry else session()
    payload["client_updated_at"] = stamp
    with pytest.raises(Invalid) as raised:
        parse(payload, latest_date=TODAY, now=NOW)
    return raised.value.fields


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-20T12:05:01Z",  # a second past the allowed skew
        "2026-11-20T13:00:00+00:30",  # 12:30 UTC
        "2099-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ],
)
@pytest.mark.parametrize("parse", [parse_entry, parse_session])
def test_a_stamp_ahead_of_the_server_by_more_than_the_skew_is_refused(parse, stamp):
    # Last writer wins on this stamp: one from a clock set to 2099 would beat every later edit.
    assert set(stamp_problems(parse, stamp)) == {"client_updated_at"}


@pytest.mark.parametrize("stamp", ["1999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "0001-01-01Z"])
@pytest.mark.parametrize("parse", [parse_entry, parse_session])
def test_a_stamp_before_2000_is_refused(parse, stamp):
    assert set(stamp_problems(parse, stamp)) == {"client_updated_at"}


@pytest.mark.parametrize("parse", [parse_entry, parse_session])
def test_a_clock_a_few_minutes_fast_is_allowed(parse):
    payload = entry() if parse is parse_entry else session()
    payload["client_updated_at"] = "2026-11-20T12:05:00Z"
    data = parse(payload, latest_date=TODAY, now=NOW)
    assert data.client_updated_at == NOW + timedelta(minutes=5)


def test_parse_client_stamp_is_the_rule_for_a_stamp_on_its_own():
    # DELETE ?client_updated_at= has no body: the same rule, by name.
    assert parse_client_stamp("2026-11-20T11:00:00Z", now=NOW) == NOW - timedelta(hours=1)
    for stamp in ("2099-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "9999-12-31T23:59:59-01:00"):
        with pytest.raises(Invalid) as invalid:
            parse_client_stamp(stamp, now=NOW)
        assert set(invalid.value.fields) == {"client_updated_at"}


def test_without_now_the_parsers_read_the_clock():
    # The HTML forms send no stamp and pass no `now`; a stamp still meets the real clock.
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with pytest.raises(Invalid) as invalid:
        parse_session(session(client_updated_at=in_an_hour), latest_date=TODAY)
    assert set(invalid.value.fields) == {"client_updated_at"}
