"""Fuzzing the import (webapp/portability/importer.py): whatever bytes are uploaded, the import
either succeeds or raises ImportRefused with a message; never another exception (a 500), and
never half an import: after a refusal the rows and the stored photo bytes are exactly as before,
and after a success every stored photo byte belongs to a live photo row and every live photo's
bytes are there.

Each @given runs inside its test against one account: every example is a further import into it.
The examples are few (the suite runs twice, on SQLite and on PostgreSQL + S3).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st

from tests import hostile_input
from tests.import_archives import (
    export_bytes,
    fill_account,
    members,
    rezip,
    row_counts,
    stored_keys,
)
from webapp.auth.account import delete_account
from webapp.extensions import db
from webapp.models import Photo, User
from webapp.portability import importer

FUZZ = hostile_input.fuzz_settings(30, HealthCheck.function_scoped_fixture)


@pytest.fixture
def moved(app):
    """An export of a filled account, that account deleted, and a new account to import into."""
    with app.app_context():
        store = app.extensions["photo_store"]
        old = User(email="old@example.com", password_hash="-", display_name="Old")
        db.session.add(old)
        db.session.commit()
        fill_account(old, store, photos=2)
        archive = export_bytes(old, store)
        delete_account(old, store)
        user = User(email="new@example.com", password_hash="-", display_name="New")
        db.session.add(user)
        db.session.commit()
        yield user, archive, store


def assert_all_or_nothing(user: User, upload: bytes, store) -> None:
    before = row_counts(), stored_keys(store)
    try:
        importer.import_archive(user, io.BytesIO(upload), store)
    except importer.ImportRefused as refused:
        assert str(refused)
        str(refused).encode("utf-8")  # any page can show it
        assert (row_counts(), stored_keys(store)) == before
    else:
        live = db.session.execute(
            db.select(Photo.storage_key).where(Photo.deleted_at.is_(None))
        ).scalars()
        assert stored_keys(store) == set(live)


def test_any_bytes_are_refused_cleanly(moved):
    user, _, store = moved

    @FUZZ
    @given(st.binary(max_size=4096) | st.binary(max_size=64).map(lambda tail: b"PK\x05\x06" + tail))
    def check(upload: bytes) -> None:
        with pytest.raises(importer.ImportRefused):
            importer.import_archive(user, io.BytesIO(upload), store)

    check()


def test_an_export_with_bytes_flipped_is_imported_or_refused_whole(moved):
    user, archive, store = moved

    @FUZZ
    @given(
        st.lists(
            st.tuples(st.integers(0, len(archive) - 1), st.integers(0, 255)),
            min_size=1,
            max_size=6,
        )
    )
    def check(flips: list[tuple[int, int]]) -> None:
        mutated = bytearray(archive)
        for position, value in flips:
            mutated[position] = value
        assert_all_or_nothing(user, bytes(mutated), store)

    check()


def test_an_export_cut_short_is_refused(moved):
    user, archive, store = moved

    @FUZZ
    @given(st.integers(0, len(archive) - 1))
    def check(length: int) -> None:
        with pytest.raises(importer.ImportRefused):
            importer.import_archive(user, io.BytesIO(archive[:length]), store)

    check()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (the document itself too)."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[head] = _replaced(document[head], tuple(rest), value)
    return copy


def test_any_value_anywhere_in_data_json_is_imported_or_refused_whole(moved):
    user, archive, store = moved
    contents = members(archive)
    data = json.loads(contents["data.json"])
    paths = _paths(data)

    @FUZZ
    @example(("photos", 0, "region"), [10**309, 0, 1, 1])  # beyond a float: OverflowError
    @given(
        st.sampled_from(paths),
        hostile_input.fair_choice(hostile_input.hostile_scalars, hostile_input.json_values),
    )
    def check(path: tuple[Any, ...], value: Any) -> None:
        changed = _replaced(data, path, value)
        text = json.dumps(changed, ensure_ascii=True).encode()
        assert_all_or_nothing(user, rezip({**contents, "data.json": text}), store)

    check()


def test_any_member_name_is_imported_or_refused_whole(moved):
    user, archive, store = moved
    contents = members(archive)
    names = sorted(contents)

    @FUZZ
    @given(st.sampled_from(names), hostile_input.texts | st.sampled_from(["../x", "/x", "a\\b"]))
    def check(name: str, new_name: str) -> None:
        renamed = {key: value for key, value in contents.items() if key != name}
        try:
            new_name.encode("utf-8")
        except UnicodeEncodeError:
            new_name = "?"  # zipfile cannot write it; the byte flips above reach odd name bytes
        # zipfile cuts a name at NUL (writing and reading alike): an empty rest cannot be written.
        renamed[new_name.split("\x00")[0] or "?"] = contents[name]
        assert_all_or_nothing(user, rezip(renamed), store)

    check()
