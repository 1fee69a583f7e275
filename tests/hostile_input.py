"""Hypothesis strategies for input no honest client sends but any client can: the values that once
escaped validation as exceptions, and so as 500s that the phone's outbox retries forever (issue 9).

Shared by the validation fuzz (tests/test_validation.py) and the API fuzz (tests/test_api_fuzz.py).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from webapp import validation


def fuzz_settings(max_examples: int, *health_checks: HealthCheck) -> settings:
    """No deadline and no too_slow check: on a cold cache (a fresh checkout in CI) Hypothesis's
    first draw of text scans the project's source for constants, which takes seconds."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, *health_checks],
    )


def fair_choice(*strategies: st.SearchStrategy) -> st.SearchStrategy:
    """One of `strategies`, each drawn about as often: st.one_of flattens nested choices and
    favours its first branches, so a rare kind of value would hardly ever be drawn."""
    return st.sampled_from(strategies).flatmap(lambda chosen: chosen)


# Every UTC offset Python accepts: up to a minute short of a day either way.
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)

# Instants at the ends of the calendar with an offset that carries them beyond year 1 or 9999
# (OverflowError on conversion to UTC, not ValueError), and any instant with any offset or none.
_EARLIEST = st.datetimes(max_value=datetime(1, 1, 1, 2)).flatmap(
    lambda moment: st.integers(1, 24 * 60 - 1).map(
        lambda minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    )
)
_LATEST = st.datetimes(min_value=datetime(9999, 12, 31, 22)).flatmap(
    lambda moment: st.integers(1, 24 * 60 - 1).map(
        lambda minutes: moment.replace(tzinfo=timezone(-timedelta(minutes=minutes)))
    )
)
timestamps = fair_choice(_EARLIEST, _LATEST, st.datetimes(timezones=st.none() | OFFSETS)).map(
    datetime.isoformat
)

# Integers far beyond any float (math.isfinite() overflows on them).
huge_integers = st.builds(
    lambda digits, sign: sign * 10**digits,
    st.integers(min_value=300, max_value=1000),
    st.sampled_from([1, -1]),
)

# Text holding an unpaired surrogate: valid JSON ("\ud83d"), but it has no UTF-8 form.
lone_surrogates = st.integers(min_value=0xD800, max_value=0xDFFF).map(chr)
surrogate_texts = st.tuples(st.text(max_size=5), lone_surrogates, st.text(max_size=5)).map("".join)
texts = st.text(max_size=12) | surrogate_texts


def nested(depth: int) -> object:
    """A list inside a list `depth` deep."""
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


# The kinds of value that once escaped validation (floats: NaN and 1e400 too).
hostile_scalars = fair_choice(timestamps, huge_integers, surrogate_texts, st.floats())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-20, max_value=20),
    st.text(max_size=12),
    st.dates().map(lambda day: day.isoformat()),
)

# Any JSON value, with nesting deeper than anything here walks but shallow enough to print.
json_values = st.one_of(
    hostile_scalars,
    scalars,
    st.recursive(
        hostile_scalars | scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
        max_leaves=8,
    ),
    st.integers(min_value=1, max_value=200).map(nested),
)

ENTRY_FIELDS = sorted(validation.ENTRY_FIELDS)
SESSION_FIELDS = sorted(validation.SESSION_FIELDS)

# Keys of the answers, which a client may echo back, names from the other kind of row or from
# inside "ratings", and any text.
OTHER_KEYS = st.sampled_from(
    ["id", "created_at", "updated_at", "deleted", "photos", "session_number", "redness", "device"]
)


def bodies(valid: dict[str, object], fields: list[str]) -> st.SearchStrategy[dict[str, object]]:
    """`valid` with any of `fields` swapped for hostile values and perhaps unknown fields added:
    the rest of the body stays good, so each odd value reaches the check of its own field."""
    swaps = st.fixed_dictionaries(
        {}, optional=dict.fromkeys(fields, fair_choice(hostile_scalars, json_values))
    )
    extras = st.dictionaries(OTHER_KEYS | texts, json_values, max_size=2)
    return st.tuples(swaps, extras).map(lambda both: {**valid, **both[0], **both[1]})


def json_text(value: object) -> str:
    # ensure_ascii writes lone surrogates as \ud83d escapes, as a phone's JSON.stringify does.
    return json.dumps(value, ensure_ascii=True)


# Request bodies that are not JSON, or JSON too deep or too long-numbered for Python to read.
raw_bodies = st.one_of(
    st.integers(min_value=1, max_value=100_000).map(lambda depth: "[" * depth),
    st.integers(min_value=900, max_value=5_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(min_value=900, max_value=5_000).map(
        lambda depth: '{"notes": ' + "[" * depth + "]" * depth + "}"
    ),
    st.integers(min_value=4_000, max_value=6_000).map(lambda digits: "1" * digits),
    st.text(max_size=30),
)
