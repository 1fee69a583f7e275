"""Fuzzing the sync API over HTTP (issue 9): whatever a client sends, the answer is never a 5xx,
which the phone's outbox would retry forever, and every refusal is the API's JSON error with a
code, which the outbox shows as rejected with the server's reason.

The examples are few (the suite runs twice, on SQLite and on PostgreSQL); the strategies in
tests/hostile_input.py aim them at the values that once escaped as 500s, and those are pinned as
explicit examples besides.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote, quote_from_bytes

from hypothesis import example, given
from hypothesis import strategies as st

from tests import hostile_input
from tests.test_api import entry_body, session_body

# Each @given runs inside its test, against the test's one logged-in client: every example is a
# further request from the same patient, as a phone's outbox makes them.
FUZZ = hostile_input.fuzz_settings(40)

BEYOND_THE_CALENDAR = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]


def new_id() -> str:
    return str(uuid.uuid4())


def assert_answered(response, request: str) -> None:
    """No 5xx, always JSON, and a refusal carries error.code (what the outbox keys on)."""
    text = response.get_data(as_text=True)[:300]
    assert response.status_code < 500, f"{request} -> {response.status_code} {text}"
    assert response.is_json, f"{request} -> {response.status_code} {text}"
    if response.status_code >= 400:
        error = response.get_json()["error"]
        assert isinstance(error["code"], str) and error["code"], f"{request} -> {text}"
        assert isinstance(error["fields"], dict), f"{request} -> {text}"


def csrf_headers(client) -> dict[str, str]:
    # One token for every example (the CSRF client would fetch a fresh one for each request).
    return {"X-CSRFToken": client.get("/api/v1/csrf").get_json()["csrf_token"]}


def put_json(client, headers: dict[str, str], path: str, text: str):
    return client.put(path, data=text, content_type="application/json", headers=headers, csrf=False)


def test_any_entry_body_is_answered_without_a_5xx(logged_in):
    headers = csrf_headers(logged_in)

    @FUZZ
    @example(entry_body(client_updated_at="9999-12-31T23:59:59-01:00"))
    @example(entry_body(client_updated_at="0001-01-01T00:00:00+01:00"))
    @example(entry_body(notes="\ud83d"))
    @given(
        hostile_input.fair_choice(
            hostile_input.bodies(entry_body(), hostile_input.ENTRY_FIELDS),
            hostile_input.json_values,
        )
    )
    def put_entry(body: object) -> None:
        text = hostile_input.json_text(body)
        response = put_json(logged_in, headers, f"/api/v1/entries/{new_id()}", text)
        assert_answered(response, f"PUT entry {text[:200]}")

    put_entry()


def test_any_session_body_is_answered_without_a_5xx(logged_in):
    headers = csrf_headers(logged_in)

    @FUZZ
    @example(session_body(needle_depth_mm=10**400))
    @example(session_body(client_updated_at="9999-12-31T23:59:59-01:00"))
    @example(session_body(provider="\ud83d"))
    @given(
        hostile_input.fair_choice(
            hostile_input.bodies(session_body(), hostile_input.SESSION_FIELDS),
            hostile_input.json_values,
        )
    )
    def put_session(body: object) -> None:
        text = hostile_input.json_text(body)
        response = put_json(logged_in, headers, f"/api/v1/sessions/{new_id()}", text)
        assert_answered(response, f"PUT session {text[:200]}")

    put_session()


def test_any_request_body_is_answered_without_a_5xx(logged_in):
    headers = csrf_headers(logged_in)

    @FUZZ
    @example("[" * 100_000)
    @given(hostile_input.raw_bodies)
    def put_raw(text: str) -> None:
        for kind in ("entries", "sessions"):
            response = put_json(logged_in, headers, f"/api/v1/{kind}/{new_id()}", text)
            assert_answered(response, f"PUT {kind} {text[:100]!r}")

    put_raw()


# Query values: timestamps and text (lone surrogates go out as bytes that are not UTF-8), and any
# bytes at all.
query_values = hostile_input.fair_choice(
    hostile_input.fair_choice(hostile_input.timestamps, hostile_input.texts).map(
        lambda text: quote(text, safe="", errors="surrogatepass")
    ),
    st.binary(max_size=30).map(lambda raw: quote_from_bytes(raw, safe="")),
)


def test_any_delete_stamp_is_answered_without_a_5xx(logged_in):
    headers = csrf_headers(logged_in)
    entry, session = new_id(), new_id()
    assert logged_in.put(f"/api/v1/entries/{entry}", json=entry_body()).status_code == 201
    assert logged_in.put(f"/api/v1/sessions/{session}", json=session_body()).status_code == 201

    @FUZZ
    @example(quote(BEYOND_THE_CALENDAR[0], safe=""))
    @example(quote(BEYOND_THE_CALENDAR[1], safe=""))
    @given(query_values)
    def delete(value: str) -> None:
        # The rows exist (tombstoned or not), so every request reaches the stamp's check.
        for path in (f"/api/v1/entries/{entry}", f"/api/v1/sessions/{session}"):
            url = f"{path}?client_updated_at={value}"
            assert_answered(logged_in.delete(url, headers=headers, csrf=False), f"DELETE {url}")

    delete()


def test_any_changes_cursor_is_answered_without_a_5xx(logged_in):
    assert logged_in.put(f"/api/v1/entries/{new_id()}", json=entry_body()).status_code == 201

    @FUZZ
    @example(quote(BEYOND_THE_CALENDAR[0], safe=""))
    @example(quote(BEYOND_THE_CALENDAR[1], safe=""))
    @given(query_values)
    def changes(value: str) -> None:
        url = f"/api/v1/changes?since={value}"
        assert_answered(logged_in.get(url), f"GET {url}")

    changes()
