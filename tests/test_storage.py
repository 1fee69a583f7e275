"""webapp.storage against both backends: a local folder and S3 over real HTTP (moto on loopback).

Every behaviour the app relies on runs against both stores through the `store` fixture; the tests
after it cover what only one backend has (file modes and symlinks, S3 prefixes and error mapping)
and the parsing of the PHOTO_STORAGE setting.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError

from tests.s3_server import credentials_env, make_bucket, moto_s3_server, remove_bucket, s3_client
from webapp import storage
from webapp.storage import (
    CHUNK_SIZE,
    KEY_PATTERN,
    InvalidKey,
    LocalPhotoStore,
    PhotoStore,
    S3PhotoStore,
    StorageError,
    StoredPrefix,
    new_key,
    store_from_url,
)
from webapp.storage import local as local_backend

JPEG = "image/jpeg"


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One S3 server for the whole run (started only if an S3 test runs); a bucket per test."""
    with moto_s3_server() as endpoint_url:
        yield endpoint_url


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Dummy credentials only: never the developer's real AWS profile, config or instance role."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    env = credentials_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return env


@pytest.fixture
def bucket(request: pytest.FixtureRequest, aws_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(endpoint_url, name) of a new, empty bucket, removed afterwards."""
    endpoint_url = request.getfixturevalue("s3_endpoint")
    name = f"skinlog-test-{uuid.uuid4().hex[:16]}"
    make_bucket(endpoint_url, name)
    yield endpoint_url, name
    remove_bucket(endpoint_url, name)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> PhotoStore:
    """A fresh, empty store of each kind; the S3 one works under a prefix, as deployments may."""
    if request.param == "local":
        return LocalPhotoStore(tmp_path / "photos")
    endpoint_url, name = request.getfixturevalue("bucket")
    # A shared client keeps the run fast; the S3-only tests below build the store's own client.
    return S3PhotoStore(name, "photos", client=s3_client(endpoint_url))


@pytest.fixture
def key() -> str:
    return f"{new_key()}/full.jpg"


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


class Untouchable:
    """Stands in for a boto3 client: any use of it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the bucket was touched: client.{name}")


def make_untouchable(store: PhotoStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any access to the disk or bucket fail, to prove validation comes first."""
    if isinstance(store, S3PhotoStore):
        monkeypatch.setattr(store, "client", Untouchable())
    else:

        def touched(path: str) -> str:
            raise AssertionError(f"the disk was touched: {path}")

        # Every local operation resolves its path through _contained before any file system call.
        monkeypatch.setattr(store, "_contained", touched)


# --- keys ------------------------------------------------------------------------------------


def test_new_key_is_random_urlsafe_and_valid() -> None:
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000
    for k in keys:
        assert len(k) == 32  # 24 random bytes = 192 bits
        assert KEY_PATTERN.match(k)
        assert KEY_PATTERN.match(f"{k}/thumb.jpg")


INVALID_KEYS = [
    "../../etc/passwd",
    "a/../../b.jpg",
    "/etc/passwd",
    "/" + "a" * 20,
    "/" + "a" * 20 + "/thumb.jpg",
    "",
    "a" * 15,
    "short/thumb.jpg",
    "a" * 65,
    "a" * 16 + "\0",
    "a" * 16 + "/thumb.jpg\0",
    "a" * 16 + "\n",
    "a" * 16 + "/thumb.jpg\n",
    "IMG_0001.JPG",
    "IMG_0001_holiday.jpg",
    "a" * 16 + "/IMG_0001.JPG",
    "a" * 16 + "/../thumb.jpg",
    "a" * 16 + "/./thumb.jpg",
    "a" * 16 + "/",
    "a" * 16 + "//thumb.jpg",
    "a" * 16 + "/sub/thumb.jpg",
    "a" * 16 + "/thumb",
    "a" * 16 + "/thumb.jpg.exe",
    "a" * 16 + "\\thumb.jpg",
    "C:\\Windows\\" + "a" * 16,
    "a" * 16 + " ",
    "ａ" * 16,  # fullwidth letters: not ASCII
    "a" * 16 + "/" + "b" * 33 + ".jpg",
]


@pytest.mark.parametrize("bad", INVALID_KEYS, ids=repr)
def test_invalid_keys_are_refused_before_any_io(
    store: PhotoStore, bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_untouchable(store, monkeypatch)
    for call in (
        lambda: store.put(bad, b"x", JPEG),
        lambda: store.open(bad),
        lambda: store.read(bad),
        lambda: store.size(bad),
        lambda: store.delete(bad),
        lambda: store.exists(bad),
        lambda: store.delete_prefix(bad),
    ):
        with pytest.raises(InvalidKey):
            call()


@pytest.mark.parametrize("bad", [None, b"a" * 20, 12345678901234567890])
def test_non_string_keys_are_invalid(store: PhotoStore, bad: Any) -> None:
    with pytest.raises(InvalidKey):
        store.put(bad, b"x", JPEG)
    with pytest.raises(InvalidKey):
        store.delete_prefix(bad)


def test_delete_prefix_takes_only_a_base_key(store: PhotoStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.delete_prefix(key)  # "<base>/full.jpg" is an object key, not a base


def test_invalid_key_is_a_value_error() -> None:
    # Callers that already catch ValueError for bad input keep working.
    assert issubclass(InvalidKey, ValueError)
    assert issubclass(StorageError, RuntimeError)


# --- behaviour shared by both stores ----------------------------------------------------------


def test_put_read_round_trip(store: PhotoStore, key: str) -> None:
    data = os.urandom(5000)
    store.put(key, data, JPEG)
    assert store.read(key) == data
    assert store.exists(key)
    assert store.size(key) == len(data)


def test_empty_object(store: PhotoStore, key: str) -> None:
    store.put(key, b"", JPEG)
    assert store.exists(key)
    assert store.size(key) == 0
    assert store.read(key) == b""
    assert list(store.open(key)) == []


def test_open_streams_a_large_object_in_chunks(store: PhotoStore, key: str) -> None:
    data = os.urandom(1_000_000)
    store.put(key, data, JPEG)
    chunks = list(store.open(key))
    assert len(chunks) > 1
    assert all(0 < len(chunk) <= CHUNK_SIZE for chunk in chunks)
    assert len(chunks) == -(-len(data) // CHUNK_SIZE)
    assert b"".join(chunks) == data


def test_open_can_be_closed_before_the_end(store: PhotoStore, key: str) -> None:
    data = os.urandom(3 * CHUNK_SIZE)
    store.put(key, data, JPEG)
    chunks = store.open(key)
    assert next(chunks) == data[:CHUNK_SIZE]
    chunks.close()  # type: ignore[attr-defined]
    assert list(chunks) == []
    # Abandoned without close(): released by the garbage collector without a ResourceWarning.
    abandoned = store.open(key)
    next(abandoned)
    del abandoned
    assert store.read(key) == data


def test_missing_key_raises_key_error(store: PhotoStore, key: str) -> None:
    # open() raises at the call, not at the first next(): a view can still answer 404.
    with pytest.raises(KeyError):
        store.open(key)
    with pytest.raises(KeyError):
        store.read(key)
    with pytest.raises(KeyError):
        store.size(key)
    assert not store.exists(key)


def test_size(store: PhotoStore) -> None:
    base = new_key()
    for n, name in enumerate(["full", "display", "thumb"]):
        store.put(f"{base}/{name}.jpg", b"x" * (n * 1000 + 7), JPEG)
    assert [store.size(f"{base}/{name}.jpg") for name in ["full", "display", "thumb"]] == [
        7,
        1007,
        2007,
    ]


def test_overwrite_replaces(store: PhotoStore, key: str) -> None:
    store.put(key, b"first version, longer", JPEG)
    store.put(key, b"second", JPEG)
    assert store.read(key) == b"second"
    assert store.size(key) == len(b"second")


def test_delete_is_idempotent(store: PhotoStore, key: str) -> None:
    store.put(key, b"data", JPEG)
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(KeyError):
        store.read(key)
    store.delete(key)  # already gone: not an error
    store.delete(f"{new_key()}/never.jpg")  # never existed, not even its folder
    store.delete(new_key())


def test_delete_leaves_other_renditions(store: PhotoStore) -> None:
    base = new_key()
    store.put(f"{base}/full.jpg", b"full", JPEG)
    store.put(f"{base}/thumb.jpg", b"thumb", JPEG)
    store.delete(f"{base}/full.jpg")
    assert not store.exists(f"{base}/full.jpg")
    assert store.read(f"{base}/thumb.jpg") == b"thumb"


def test_delete_prefix_removes_all_renditions_and_nothing_else(store: PhotoStore) -> None:
    base = new_key()
    renditions = [f"{base}/{name}.jpg" for name in ("full", "display", "thumb")]
    for k in renditions:
        store.put(k, k.encode(), JPEG)
    # Neighbours: another photo, one whose base starts with this base, and the bare base key.
    other = new_key()
    longer = base + "Xy"
    survivors = [f"{other}/full.jpg", f"{longer}/full.jpg", base]
    for k in survivors:
        store.put(k, k.encode(), JPEG)

    store.delete_prefix(base)

    for k in renditions:
        assert not store.exists(k)
        with pytest.raises(KeyError):
            store.read(k)
    for k in survivors:
        assert store.read(k) == k.encode()
    store.delete_prefix(base)  # again: nothing left, not an error
    store.delete_prefix(new_key())  # never existed
    # The photo's key can be used again afterwards.
    store.put(renditions[0], b"again", JPEG)
    assert store.read(renditions[0]) == b"again"


def test_bare_base_key_and_its_renditions_coexist(store: PhotoStore) -> None:
    base = new_key()
    store.put(base, b"bare", JPEG)
    store.put(f"{base}/thumb.jpg", b"thumb", JPEG)
    assert store.read(base) == b"bare"
    assert store.read(f"{base}/thumb.jpg") == b"thumb"
    store.delete(base)
    assert not store.exists(base)
    assert store.exists(f"{base}/thumb.jpg")


def test_readers_never_see_partial_bytes(store: PhotoStore, key: str) -> None:
    versions = [bytes([n]) * 300_000 for n in (1, 2)]
    store.put(key, versions[0], JPEG)
    seen: list[bytes] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                seen.append(store.read(key))
        except BaseException as exc:  # reported in the main thread
            failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(20):
            store.put(key, versions[n % 2], JPEG)
    finally:
        done.set()
        thread.join()
    assert not failures
    assert seen
    assert all(data in versions for data in seen)


def put_photo(store: PhotoStore) -> str:
    """Three renditions under a new base key, as records.add_photo writes them; the base key."""
    base = new_key()
    for name in ("full", "display", "thumb"):
        store.put(f"{base}/{name}.jpg", name.encode(), JPEG)
    return base


def listed_bases(store: PhotoStore) -> list[str]:
    return sorted(prefix.base_key for prefix in store.list_prefixes())


def test_list_prefixes_names_each_photo_once(store: PhotoStore) -> None:
    bases = [put_photo(store) for _ in range(3)]
    assert listed_bases(store) == sorted(bases)


def test_list_prefixes_of_an_empty_store_is_empty(store: PhotoStore) -> None:
    assert list(store.list_prefixes()) == []


def test_list_prefixes_tells_when_a_photo_was_written(store: PhotoStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)  # S3 keeps whole seconds
    put_photo(store)
    after = datetime.now(UTC) + timedelta(seconds=1)
    [listed] = store.list_prefixes()
    assert before <= listed.modified_at <= after


def test_list_prefixes_leaves_out_bare_keys(store: PhotoStore) -> None:
    # delete_prefix would not remove a bare key, so listing it would promise a removal.
    store.put(new_key(), b"bare", JPEG)
    assert list(store.list_prefixes()) == []


def test_prefixes_can_be_deleted_while_listing(store: PhotoStore) -> None:
    bases = [put_photo(store) for _ in range(3)]
    seen = []
    for listed in store.list_prefixes():
        seen.append(listed.base_key)
        store.delete_prefix(listed.base_key)
    assert sorted(seen) == sorted(bases)
    assert list(store.list_prefixes()) == []


# --- local folder only ------------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> LocalPhotoStore:
    return LocalPhotoStore(tmp_path / "photos")


def test_local_layout_is_sharded_and_inside_root(local: LocalPhotoStore, tmp_path: Path) -> None:
    base = new_key()
    local.put(f"{base}/thumb.jpg", b"x", JPEG)
    local.put(base, b"y", JPEG)
    root = Path(local.root)
    assert root == (tmp_path / "photos").resolve()
    assert all_files(root) == sorted(
        [root / base[:2] / base / "thumb.jpg", root / base[:2] / f"{base}.obj"]
    )
    assert all_files(tmp_path) == all_files(root)  # nothing written outside the root


def test_local_modes_are_private_whatever_the_umask(local: LocalPhotoStore, key: str) -> None:
    old = os.umask(0)
    try:
        local.put(key, b"secret pixels", JPEG)
        local.put(key, b"secret pixels v2", JPEG)
    finally:
        os.umask(old)
    path = Path(local.root) / key[:2] / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700


def test_local_root_is_created_private(tmp_path: Path) -> None:
    root = tmp_path / "new" / "photos"
    LocalPhotoStore(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_local_put_leaves_no_temp_files(local: LocalPhotoStore) -> None:
    base = new_key()
    for name in ("full", "display", "thumb", "full"):
        local.put(f"{base}/{name}.jpg", os.urandom(100_000), JPEG)
    names = [p.name for p in all_files(Path(local.root))]
    assert sorted(names) == ["display.jpg", "full.jpg", "thumb.jpg"]


class FailingWrite:
    """A file that writes half of what it is given, then fails like a full disk."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def __enter__(self) -> FailingWrite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def fileno(self) -> int:
        return self.handle.fileno()

    def flush(self) -> None:
        self.handle.flush()

    def write(self, data: bytes) -> int:
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")


def test_local_put_is_atomic_when_a_write_fails(
    local: LocalPhotoStore, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = os.urandom(200_000)
    local.put(key, old, JPEG)
    real_fdopen = os.fdopen
    monkeypatch.setattr(
        local_backend.os, "fdopen", lambda fd, *a, **k: FailingWrite(real_fdopen(fd, *a, **k))
    )

    with pytest.raises(StorageError, match="No space left"):
        local.put(key, os.urandom(300_000), JPEG)
    with pytest.raises(StorageError):
        local.put(f"{new_key()}/full.jpg", b"new photo", JPEG)

    monkeypatch.undo()
    assert local.read(key) == old
    assert local.size(key) == len(old)
    assert [p.name for p in all_files(Path(local.root))] == ["full.jpg"]  # no temp files left


def test_local_put_is_atomic_when_the_rename_fails(
    local: LocalPhotoStore, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    local.put(key, b"old", JPEG)

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(local_backend.os, "replace", failing_replace)
    with pytest.raises(StorageError):
        local.put(key, b"new", JPEG)
    monkeypatch.undo()
    assert local.read(key) == b"old"
    assert [p.name for p in all_files(Path(local.root))] == ["full.jpg"]


def test_local_put_cleans_up_on_interrupt(
    local: LocalPhotoStore, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(local_backend.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        local.put(key, b"new", JPEG)
    monkeypatch.undo()
    assert not local.exists(key)
    assert not [p for p in all_files(Path(local.root)) if p.name.startswith(".tmp-")]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"not a photo")
    return folder


def test_local_refuses_a_symlinked_shard_folder_escaping_root(
    local: LocalPhotoStore, outside: Path
) -> None:
    base = new_key()
    (Path(local.root) / base[:2]).symlink_to(outside, target_is_directory=True)
    k = f"{base}/full.jpg"
    for call in (
        lambda: local.put(k, b"x", JPEG),
        lambda: local.open(k),
        lambda: local.size(k),
        lambda: local.exists(k),
        lambda: local.delete(k),
        lambda: local.delete_prefix(base),
    ):
        with pytest.raises(StorageError, match="escapes"):
            call()
    assert [p.name for p in outside.iterdir()] == ["secret.txt"]


def test_local_refuses_a_symlinked_file_escaping_root(
    local: LocalPhotoStore, outside: Path
) -> None:
    base = new_key()
    folder = Path(local.root) / base[:2] / base
    folder.mkdir(parents=True)
    (folder / "full.jpg").symlink_to(outside / "secret.txt")
    with pytest.raises(StorageError):
        local.read(f"{base}/full.jpg")
    with pytest.raises(StorageError):
        local.put(f"{base}/full.jpg", b"overwrite", JPEG)
    with pytest.raises(StorageError):
        local.delete(f"{base}/full.jpg")
    assert (outside / "secret.txt").read_bytes() == b"not a photo"


def test_local_delete_prefix_refuses_a_symlinked_photo_folder(
    local: LocalPhotoStore, outside: Path
) -> None:
    base = new_key()
    shard = Path(local.root) / base[:2]
    shard.mkdir()
    (shard / base).symlink_to(outside, target_is_directory=True)
    with pytest.raises(StorageError):
        local.delete_prefix(base)
    assert (outside / "secret.txt").read_bytes() == b"not a photo"


def test_local_root_may_itself_be_a_symlink(tmp_path: Path, key: str) -> None:
    real = tmp_path / "volume"
    real.mkdir()
    (tmp_path / "photos").symlink_to(real, target_is_directory=True)
    store = LocalPhotoStore(tmp_path / "photos")
    store.put(key, b"on the volume", JPEG)
    assert store.read(key) == b"on the volume"
    assert (real / key[:2] / key).read_bytes() == b"on the volume"


def test_local_symlink_inside_root_is_followed(local: LocalPhotoStore) -> None:
    # Containment is about where a path resolves, not about symlinks as such.
    base = new_key()
    target = Path(local.root) / "elsewhere"
    target.mkdir()
    (Path(local.root) / base[:2]).symlink_to(target, target_is_directory=True)
    local.put(f"{base}/full.jpg", b"inside", JPEG)
    assert (target / base / "full.jpg").read_bytes() == b"inside"


def test_local_os_errors_are_storage_errors(local: LocalPhotoStore, key: str) -> None:
    # A folder where the file should be: an OSError that is not "missing" (works even as root,
    # unlike a chmod 0 file).
    (Path(local.root) / key[:2] / key).mkdir(parents=True)
    with pytest.raises(StorageError):
        local.open(key)
    with pytest.raises(StorageError):
        local.put(key, b"x", JPEG)
    with pytest.raises(StorageError):
        local.delete(key)
    assert not local.exists(key)


def test_local_list_prefixes_reports_the_photo_folders_mtime(local: LocalPhotoStore) -> None:
    base = put_photo(local)
    written = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    os.utime(Path(local.root) / base[:2] / base, (written, written))
    assert list(local.list_prefixes()) == [StoredPrefix(base, datetime.fromtimestamp(written, UTC))]


def test_local_list_prefixes_ignores_what_the_store_did_not_make(local: LocalPhotoStore) -> None:
    base = put_photo(local)
    root = Path(local.root)
    (root / "README").write_text("not a photo")
    (root / ".tmp-abc").write_bytes(b"")
    (root / "IMG_0001.JPG").mkdir()  # not a shard name
    (root / "abc" / new_key()).mkdir(parents=True)  # a three-character "shard"
    misplaced = new_key()
    wrong_shard = "zz" if not misplaced.startswith("zz") else "yy"
    (root / wrong_shard / misplaced).mkdir(parents=True)  # a base key in the wrong shard
    (root / base[:2] / "IMG_0001_holiday").mkdir()  # not a key
    as_file = base[:2] + new_key()[2:]
    (root / base[:2] / as_file).write_bytes(b"a file where a folder would be")
    local.put(new_key(), b"bare", JPEG)  # a bare key's .obj file
    assert listed_bases(local) == [base]


def test_local_list_prefixes_never_reads_a_shard_linked_out_of_the_root(
    local: LocalPhotoStore, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = new_key()
    (outside / base).mkdir()
    (Path(local.root) / base[:2]).symlink_to(outside, target_is_directory=True)
    read: list[str] = []
    real_listdir = os.listdir

    def recording_listdir(path: str) -> list[str]:
        read.append(os.path.realpath(path))
        return real_listdir(path)

    monkeypatch.setattr(local_backend.os, "listdir", recording_listdir)
    assert list(local.list_prefixes()) == []
    assert str(outside.resolve()) not in read


def test_local_list_prefixes_skips_a_photo_folder_linked_out_of_the_root(
    local: LocalPhotoStore, outside: Path
) -> None:
    kept = put_photo(local)
    base = new_key()
    shard = Path(local.root) / base[:2]
    shard.mkdir(exist_ok=True)
    (shard / base).symlink_to(outside, target_is_directory=True)
    assert listed_bases(local) == [kept]


def test_local_list_prefixes_without_the_root_is_a_storage_error(
    local: LocalPhotoStore,
) -> None:
    # An unmounted volume must not look like an empty store.
    os.rmdir(local.root)
    with pytest.raises(StorageError):
        list(local.list_prefixes())


# --- S3 only ----------------------------------------------------------------------------------


def test_s3_objects_live_under_the_prefix_with_content_type(bucket: tuple[str, str]) -> None:
    endpoint_url, name = bucket
    store = S3PhotoStore(name, "/deploy/photos/", endpoint_url=endpoint_url)
    k = f"{new_key()}/thumb.jpg"
    store.put(k, b"pixels", JPEG)
    client = s3_client(endpoint_url)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"]]
    assert keys == [f"deploy/photos/{k}"]
    head = client.head_object(Bucket=name, Key=f"deploy/photos/{k}")
    assert head["ContentType"] == JPEG


def test_s3_prefixes_are_isolated(bucket: tuple[str, str]) -> None:
    endpoint_url, name = bucket
    first = S3PhotoStore(name, "a", endpoint_url=endpoint_url)
    second = S3PhotoStore(name, "b", endpoint_url=endpoint_url)
    unprefixed = S3PhotoStore(name, endpoint_url=endpoint_url)
    base = new_key()
    for s in (first, second, unprefixed):
        s.put(f"{base}/full.jpg", repr(s).encode(), JPEG)
    first.delete_prefix(base)
    assert not first.exists(f"{base}/full.jpg")
    assert second.read(f"{base}/full.jpg") == repr(second).encode()
    assert unprefixed.read(f"{base}/full.jpg") == repr(unprefixed).encode()


def list_in_small_pages(store: S3PhotoStore) -> list[dict[str, Any]]:
    """Make every listing come back 2 keys a page, as if there were thousands; the requests."""
    requests: list[dict[str, Any]] = []

    def small_pages(params: dict[str, Any], **_: Any) -> None:
        params["MaxKeys"] = 2
        requests.append(params)

    store.client.meta.events.register("provide-client-params.s3.ListObjectsV2", small_pages)
    return requests


def test_s3_delete_prefix_follows_pagination(bucket: tuple[str, str]) -> None:
    endpoint_url, name = bucket
    store = S3PhotoStore(name, endpoint_url=endpoint_url)
    requests = list_in_small_pages(store)
    base = new_key()
    keys = [f"{base}/r{n}.jpg" for n in range(5)]
    for k in keys:
        store.put(k, b"x", JPEG)
    store.delete_prefix(base)
    assert len(requests) == 3
    assert not any(store.exists(k) for k in keys)


def test_s3_list_prefixes_follows_pagination(bucket: tuple[str, str]) -> None:
    endpoint_url, name = bucket
    store = S3PhotoStore(name, endpoint_url=endpoint_url)
    requests = list_in_small_pages(store)
    bases = [put_photo(store) for _ in range(2)]  # 6 objects: 3 pages, a photo across two
    assert listed_bases(store) == sorted(bases)
    assert len(requests) == 3


def test_s3_list_prefixes_stays_under_the_store_prefix(bucket: tuple[str, str]) -> None:
    endpoint_url, name = bucket
    client = s3_client(endpoint_url)
    stores = [
        S3PhotoStore(name, "photos", client=client),
        S3PhotoStore(name, "photos2", client=client),
        S3PhotoStore(name, client=client),
    ]
    bases = [put_photo(s) for s in stores]
    for s, base in zip(stores, bases, strict=True):
        assert listed_bases(s) == [base]


class PagedClient:
    """Stands in for a boto3 client whose list_objects_v2 answers the given pages."""

    def __init__(self, pages: list[list[tuple[str, datetime]]]) -> None:
        self.pages = pages
        self.requests: list[dict[str, Any]] = []

    def get_paginator(self, operation: str) -> PagedClient:
        assert operation == "list_objects_v2"
        return self

    def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
        self.requests.append(params)
        for page in self.pages:
            yield {"Contents": [{"Key": k, "LastModified": t} for k, t in page]}


def test_s3_list_prefixes_gives_a_photo_its_newest_write_across_pages() -> None:
    a, b = sorted([new_key(), new_key()])
    at = [datetime(2026, 5, 1, 12, minute, tzinfo=UTC) for minute in range(4)]
    client = PagedClient(
        [
            [(f"photos/{a}/display.jpg", at[1]), (f"photos/{a}/full.jpg", at[3])],
            [(f"photos/{a}/thumb.jpg", at[2]), (f"photos/{b}/full.jpg", at[0])],
        ]
    )
    store = S3PhotoStore("bucket", "photos", client=client)
    assert list(store.list_prefixes()) == [StoredPrefix(a, at[3]), StoredPrefix(b, at[0])]
    assert client.requests == [{"Bucket": "bucket", "Prefix": "photos/"}]


def test_s3_list_prefixes_ignores_keys_the_store_did_not_make() -> None:
    base = new_key()
    at = datetime(2026, 5, 1, tzinfo=UTC)
    client = PagedClient(
        [
            [
                (f"photos/{new_key()}", at),  # a bare key
                ("photos/IMG_0001.JPG", at),
                (f"photos/{new_key()}/sub/full.jpg", at),
                (f"photos/{new_key()}/../full.jpg", at),
                (f"photos/{base}/full.jpg", at),
            ]
        ]
    )
    store = S3PhotoStore("bucket", "photos", client=client)
    assert list(store.list_prefixes()) == [StoredPrefix(base, at)]


def test_batches_respect_the_delete_objects_limit() -> None:
    batches = list(storage.batched([str(n) for n in range(2500)], 1000))
    assert [len(b) for b in batches] == [1000, 1000, 500]


def captured_puts(store: S3PhotoStore) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    store.client.meta.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: calls.append(dict(params))
    )
    return calls


def test_s3_server_side_encryption_only_when_configured(bucket: tuple[str, str]) -> None:
    endpoint_url, name = bucket
    plain = S3PhotoStore(name, endpoint_url=endpoint_url)
    encrypted = S3PhotoStore(name, endpoint_url=endpoint_url, server_side_encryption="AES256")
    plain_calls, encrypted_calls = captured_puts(plain), captured_puts(encrypted)
    plain.put(f"{new_key()}/full.jpg", b"x", JPEG)
    k = f"{new_key()}/full.jpg"
    encrypted.put(k, b"x", JPEG)
    assert "ServerSideEncryption" not in plain_calls[0]
    assert encrypted_calls[0]["ServerSideEncryption"] == "AES256"
    head = s3_client(endpoint_url).head_object(Bucket=name, Key=k)
    assert head["ServerSideEncryption"] == "AES256"


def test_s3_missing_bucket_is_a_storage_error(
    s3_endpoint: str, aws_env: dict[str, str], key: str
) -> None:
    store = S3PhotoStore(f"no-such-bucket-{uuid.uuid4().hex[:12]}", endpoint_url=s3_endpoint)
    with pytest.raises(StorageError):
        store.put(key, b"x", JPEG)
    with pytest.raises(StorageError):
        store.open(key)
    with pytest.raises(StorageError):
        store.delete_prefix(key.split("/")[0])
    with pytest.raises(StorageError):
        list(store.list_prefixes())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_s3_unreachable_endpoint_is_a_storage_error(aws_env: dict[str, str], key: str) -> None:
    endpoint_url = f"http://127.0.0.1:{closed_port()}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        config=Config(connect_timeout=1, retries={"max_attempts": 1, "mode": "standard"}),
    )
    store = S3PhotoStore("photos", endpoint_url=endpoint_url, client=client)
    for call in (
        lambda: store.put(key, b"x", JPEG),
        lambda: store.open(key),
        lambda: store.size(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.delete_prefix(key.split("/")[0]),
        lambda: list(store.list_prefixes()),
    ):
        with pytest.raises(StorageError, match="unavailable"):
            call()


class BrokenBody:
    """A response body whose connection drops after the first chunk."""

    closed = False

    def iter_chunks(self, size: int) -> Iterator[bytes]:
        yield b"a" * size
        raise ReadTimeoutError(endpoint_url="http://s3.example")

    def close(self) -> None:
        self.closed = True


class StubClient:
    def __init__(self, body: BrokenBody) -> None:
        self.body = body

    def get_object(self, **_: Any) -> dict[str, Any]:
        return {"Body": self.body}


def test_s3_error_while_streaming_is_a_storage_error(key: str) -> None:
    body = BrokenBody()
    store = S3PhotoStore("photos", client=StubClient(body))
    chunks = store.open(key)
    assert len(next(chunks)) == CHUNK_SIZE
    with pytest.raises(StorageError):
        next(chunks)
    assert body.closed


def test_s3_store_requires_a_bucket() -> None:
    with pytest.raises(ValueError, match="bucket"):
        S3PhotoStore("", client=object())


# --- store_from_url ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["", None, "   "])
def test_store_from_url_default_is_the_local_folder(tmp_path: Path, url: str | None) -> None:
    store = store_from_url(url, default_root=tmp_path / "photos")  # type: ignore[arg-type]
    assert isinstance(store, LocalPhotoStore)
    assert store.root == str((tmp_path / "photos").resolve())


def test_store_from_url_plain_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = store_from_url(str(tmp_path / "abs"), default_root=tmp_path / "default")
    assert isinstance(absolute, LocalPhotoStore)
    assert absolute.root == str((tmp_path / "abs").resolve())
    monkeypatch.chdir(tmp_path)
    relative = store_from_url("var/photos", default_root=tmp_path / "default")
    assert isinstance(relative, LocalPhotoStore)
    assert relative.root == str((tmp_path / "var" / "photos").resolve())


def test_store_from_url_file_urls(tmp_path: Path) -> None:
    store = store_from_url(f"file://{tmp_path}/photos", default_root=tmp_path / "default")
    assert isinstance(store, LocalPhotoStore)
    assert store.root == str((tmp_path / "photos").resolve())
    spaced = store_from_url(f"file://localhost{tmp_path}/my%20photos", default_root=tmp_path)
    assert isinstance(spaced, LocalPhotoStore)
    assert spaced.root == str((tmp_path / "my photos").resolve())


@pytest.mark.parametrize(
    ("url", "bucket_name", "prefix", "sse"),
    [
        ("s3://photos", "photos", "", None),
        ("s3://photos/", "photos", "", None),
        ("s3://my-bucket/skinlog/prod/", "my-bucket", "skinlog/prod", None),
        ("S3://photos/x", "photos", "x", None),
        ("s3://photos/x?sse=AES256", "photos", "x", "AES256"),
        ("s3://photos?sse=aws:kms", "photos", "", "aws:kms"),
    ],
)
def test_store_from_url_s3(
    aws_env: dict[str, str],
    tmp_path: Path,
    url: str,
    bucket_name: str,
    prefix: str,
    sse: str | None,
) -> None:
    store = store_from_url(
        url, default_root=tmp_path / "photos", endpoint_url="http://127.0.0.1:9000"
    )
    assert isinstance(store, S3PhotoStore)
    assert (store.bucket, store.prefix, store.server_side_encryption) == (bucket_name, prefix, sse)
    assert store.client.meta.endpoint_url == "http://127.0.0.1:9000"
    assert not (tmp_path / "photos").exists()  # no local folder for an S3 deployment


def test_store_from_url_s3_without_endpoint_uses_aws(
    aws_env: dict[str, str], tmp_path: Path
) -> None:
    store = store_from_url("s3://photos", default_root=tmp_path)
    assert isinstance(store, S3PhotoStore)
    assert "amazonaws.com" in store.client.meta.endpoint_url


@pytest.mark.parametrize(
    "url",
    [
        "s3://",
        "s3:///prefix",
        "s3:photos",
        "s3://AKIA:secret@photos/prefix",
        "s3://photos:9000/prefix",
        "s3://photos?acl=public-read",
        "s3://photos?sse=rot13",
        "s3://photos#frag",
        "s3://photos/a/../b",
        "s3://photos/a//b",
        "http://example.com/photos",
        "https://photos.s3.amazonaws.com/",
        "gs://photos",
        "ftp://host/photos",
        "file://otherhost/photos",
        "file://relative/path",
        "file:relative",
        "file:///photos?x=1",
        "redis://localhost:6379/0",
        "https://user:secret@example.com/photos",
    ],
)
def test_store_from_url_rejects_other_urls(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="PHOTO_STORAGE") as info:
        store_from_url(url, default_root=tmp_path / "photos")
    message = str(info.value)
    assert url[:5] in message  # names the offending setting
    assert "secret" not in message  # but never echoes a password put in the URL
    assert not (tmp_path / "photos").exists()


def test_store_from_url_rejects_nul(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NUL"):
        store_from_url("photos\0evil", default_root=tmp_path)
