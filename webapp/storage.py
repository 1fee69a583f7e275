"""Where photo bytes live: a local folder (the default) or an S3-compatible bucket.

Photos are health data, so the store is deliberately narrow:

* Keys are made by the server (`new_key()`), never taken from an uploaded file name, and every key
  is checked against `KEY_PATTERN` before the disk or the bucket is touched. A key is a random base
  (one photo) optionally followed by one rendition name: ``"<token>/thumb.jpg"``.
* Writes are atomic: a reader sees the old bytes or the new bytes, never half a photo, even when
  several gunicorn workers serve the same photo while it is written.
* Reads stream in `CHUNK_SIZE` pieces, so a large original never has to sit in a worker's memory.
* `list_prefixes()` names every photo in the store with when it was last written, for the
  housekeeping sweep (webapp/housekeeping.py); it reports only names the store could have made.

This module imports nothing from Flask: the CLI, benchmarks and tests use it directly.
"""

from __future__ import annotations

import abc
import contextlib
import itertools
import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "CHUNK_SIZE",
    "KEY_PATTERN",
    "InvalidKey",
    "LocalPhotoStore",
    "PhotoStore",
    "S3PhotoStore",
    "StorageError",
    "StoredPrefix",
    "batched",
    "new_key",
    "store_from_url",
]

CHUNK_SIZE = 64 * 1024

# A base key (one photo) of 16-64 URL-safe characters, optionally "/<rendition>.<ext>".
# No dots in the base and exactly one in the rendition: "..", "/" runs, absolute paths, NUL and
# uploaded names ("IMG_0001.JPG") can never match. `\Z` rather than `$`: `$` also matches before a
# trailing newline.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}(/[A-Za-z0-9_-]{1,32}\.[a-z]{2,5})?\Z")
_BASE_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}\Z")
# The local store's shard folders: the first two characters of a base key.
_SHARD_PATTERN = re.compile(r"^[A-Za-z0-9_-]{2}\Z")

# The local store keeps a bare base key (no rendition) in a file with this suffix beside the folder
# of its renditions. Base keys contain no dot, so the name can never collide with another key.
_BARE_KEY_SUFFIX = ".obj"
_TEMP_PREFIX = ".tmp-"


class StorageError(RuntimeError):
    """The store could not be reached or refused the operation (disk, network, permissions)."""


class InvalidKey(ValueError):
    """A key that does not match KEY_PATTERN: refused before anything is read or written."""


class StoredPrefix(NamedTuple):
    """One photo in the store: its base key and when its newest object was written (aware UTC)."""

    base_key: str
    modified_at: datetime


def new_key() -> str:
    """A fresh base key: 192 random bits, so a photo's location cannot be guessed or enumerated."""
    return secrets.token_urlsafe(24)


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise InvalidKey(f"invalid storage key: {key!r}")
    return key


def _check_base_key(base_key: object) -> str:
    if not isinstance(base_key, str) or not _BASE_KEY_PATTERN.fullmatch(base_key):
        raise InvalidKey(f"invalid base storage key: {base_key!r}")
    return base_key


class _Chunks(Iterator[bytes]):
    """An iterator over a stream's chunks that closes the stream when exhausted or closed.

    `open()` returns this rather than being a generator itself, so that a missing key raises
    KeyError at the call (where a view can answer 404) instead of at the first `next()` after the
    response has started; and so that `close()` releases the file or connection even if iteration
    never began (a generator's `finally` would not run then).
    """

    def __init__(
        self,
        chunks: Iterator[bytes],
        close: Callable[[], None],
        translate: Callable[[Exception], Exception | None] | None = None,
    ) -> None:
        self._chunks = chunks
        self._close: Callable[[], None] | None = close
        self._translate = translate

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> bytes:
        if self._close is None:
            raise StopIteration
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except Exception as exc:
            self.close()
            translated = self._translate(exc) if self._translate else None
            if translated is None:
                raise
            raise translated from exc

    def close(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            close()

    def __del__(self) -> None:
        # An abandoned iterator (client hung up before streaming) must not leak a file descriptor.
        with contextlib.suppress(Exception):
            self.close()


class PhotoStore(abc.ABC):
    """The interface the app codes against; keys must match KEY_PATTERN."""

    @abc.abstractmethod
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, replacing any previous bytes atomically."""

    @abc.abstractmethod
    def open(self, key: str) -> Iterator[bytes]:
        """Stream the bytes in chunks of CHUNK_SIZE. Raises KeyError at the call if missing.

        Close the iterator (or exhaust it) to release the file or connection.
        """

    def read(self, key: str) -> bytes:
        """All bytes at once: for small renditions and tests; views should stream with open()."""
        chunks = self.open(key)
        try:
            return b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    @abc.abstractmethod
    def size(self, key: str) -> int:
        """Byte length, for Content-Length before streaming. Raises KeyError if missing."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove one object; a missing key is not an error, so a retried cleanup succeeds."""

    @abc.abstractmethod
    def delete_prefix(self, base_key: str) -> None:
        """Remove every `base_key/*` object (all renditions of one photo) and nothing else."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""

    @abc.abstractmethod
    def list_prefixes(self) -> Iterator[StoredPrefix]:
        """Every photo prefix (the `base_key` of `base_key/*` objects), each once, in no set order.

        For housekeeping, which deletes what it is told about: only base keys that match the key
        pattern and hold at least one rendition are listed, so nothing the store did not make, no
        bare key (delete_prefix would not remove it) and nothing outside the store is reported.
        Raises StorageError if the store cannot be listed; deleting a listed prefix while
        iterating is allowed.
        """


class LocalPhotoStore(PhotoStore):
    """Photos in a folder on this machine (default: instance/photos).

    Layout: ``root/<first 2 chars of base>/<base>/<rendition>``, so no folder grows past a few
    thousand entries; a bare base key is the file ``<base>.obj`` beside its renditions' folder.
    Folders are 0o700 and files 0o600: only the app's user can read patients' photos.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        os.makedirs(root, mode=0o700, exist_ok=True)
        # Resolved once: a root that is itself a symlink (a mounted volume) is fine; only what is
        # below it must stay below it.
        self.root = os.path.realpath(root)

    def __repr__(self) -> str:
        return f"LocalPhotoStore({self.root!r})"

    def _path(self, key: str) -> str:
        """The real file path of a valid key, refusing anything that resolves outside the root.

        The key pattern already excludes "..", "/" and absolute paths; resolving symlinks and
        checking containment (as SecureDrop's store.py does) also catches a symlink planted inside
        the root.
        """
        base, _, rendition = _check_key(key).partition("/")
        parts = [self.root, base[:2]]
        parts += [base, rendition] if rendition else [base + _BARE_KEY_SUFFIX]
        return self._contained(os.path.join(*parts))

    def _base_dir(self, base_key: str) -> str:
        base = _check_base_key(base_key)
        return self._contained(os.path.join(self.root, base[:2], base))

    def _contained(self, path: str) -> str:
        resolved = os.path.realpath(path)
        if os.path.commonpath([self.root, resolved]) != self.root or resolved == self.root:
            raise StorageError(f"storage path escapes the store root: {path!r}")
        return resolved

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        folder = os.path.dirname(path)
        try:
            # One level at a time: makedirs applies `mode` to the leaf only, so the shard folder
            # would otherwise get the umask's default (often 0o755).
            os.makedirs(os.path.dirname(folder), mode=0o700, exist_ok=True)
            os.makedirs(folder, mode=0o700, exist_ok=True)
            # Same folder as the target, so os.replace is an atomic rename on one filesystem.
            # mkstemp creates the file 0o600 whatever the umask.
            fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=folder)
        except OSError as exc:
            raise StorageError(f"cannot write {key!r}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            if isinstance(exc, OSError):
                raise StorageError(f"cannot write {key!r}: {exc}") from exc
            raise
        # Make the rename itself durable: a crash now must not lose a photo the client saw accepted.
        _fsync_dir(folder)

    def open(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed by _Chunks
        except (FileNotFoundError, NotADirectoryError):
            raise KeyError(key) from None
        except OSError as exc:
            raise StorageError(f"cannot read {key!r}: {exc}") from exc

        def translate(exc: Exception) -> Exception | None:
            return StorageError(f"cannot read {key!r}: {exc}") if isinstance(exc, OSError) else None

        return _Chunks(iter(lambda: handle.read(CHUNK_SIZE), b""), handle.close, translate)

    def size(self, key: str) -> int:
        path = self._path(key)
        try:
            return os.stat(path).st_size
        except (FileNotFoundError, NotADirectoryError):
            raise KeyError(key) from None
        except OSError as exc:
            raise StorageError(f"cannot stat {key!r}: {exc}") from exc

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise StorageError(f"cannot delete {key!r}: {exc}") from exc

    def delete_prefix(self, base_key: str) -> None:
        folder = self._base_dir(base_key)
        try:
            shutil.rmtree(folder)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise StorageError(f"cannot delete {base_key!r}/*: {exc}") from exc

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def list_prefixes(self) -> Iterator[StoredPrefix]:
        # A photo folder's mtime changes whenever a rendition is renamed into it, so it is the time
        # the photo was last written.
        try:
            shards = sorted(os.listdir(self.root))
        except OSError as exc:  # a missing root is an unmounted volume, not an empty store
            raise StorageError(f"cannot list the store: {exc}") from exc
        for shard in shards:
            if not _SHARD_PATTERN.fullmatch(shard):
                continue  # the store's temp files, or something it did not make
            try:
                # Checked before listing it: a shard linked out of the root is never read.
                names = sorted(os.listdir(self._contained(os.path.join(self.root, shard))))
            except (StorageError, FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                raise StorageError(f"cannot list the store: {exc}") from exc
            for name in names:
                if not _BASE_KEY_PATTERN.fullmatch(name) or name[:2] != shard:
                    continue  # a bare key's .obj file, or a name the store would not have made
                try:
                    info = os.stat(self._base_dir(name))
                except (StorageError, FileNotFoundError, NotADirectoryError):
                    continue  # resolves outside the root, or was removed since it was listed
                except OSError as exc:
                    raise StorageError(f"cannot list the store: {exc}") from exc
                if stat.S_ISDIR(info.st_mode):
                    yield StoredPrefix(name, datetime.fromtimestamp(info.st_mtime, UTC))


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # e.g. Windows cannot open folders; the rename still happened
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a folder; nothing more can be done
    finally:
        os.close(fd)


_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class S3PhotoStore(PhotoStore):
    """Photos in an S3 or S3-compatible bucket (MinIO, Ceph, R2...), optionally under a prefix.

    Credentials come from boto3's usual chain (AWS_* variables, config files, instance roles): the
    app never holds them in its own settings. Several processes can share the bucket.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        client: Any = None,
        server_side_encryption: str | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3PhotoStore needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        # Not every S3-compatible store supports SSE headers, so they are sent only when asked for.
        self.server_side_encryption = server_side_encryption
        if client is None:
            import boto3  # deferred: a local-folder deployment never pays for importing boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url or None,
                config=Config(
                    connect_timeout=5,
                    read_timeout=30,
                    retries={"max_attempts": 3, "mode": "standard"},
                ),
            )
        self.client = client

    def __repr__(self) -> str:
        return f"S3PhotoStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _object_key(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        # A single PUT is atomic in S3: readers see the old object or the new one.
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self._object_key(key),
            "Body": data,
            "ContentType": content_type,
        }
        if self.server_side_encryption:
            params["ServerSideEncryption"] = self.server_side_encryption
        with _s3_errors(key):
            self.client.put_object(**params)

    def open(self, key: str) -> Iterator[bytes]:
        object_key = self._object_key(key)
        with _s3_errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=object_key)["Body"]

        def translate(exc: Exception) -> Exception | None:
            return StorageError(f"cannot read {key!r}: {exc}") if _is_boto_error(exc) else None

        return _Chunks(iter(body.iter_chunks(CHUNK_SIZE)), body.close, translate)

    def size(self, key: str) -> int:
        object_key = self._object_key(key)
        with _s3_errors(key):
            return int(self.client.head_object(Bucket=self.bucket, Key=object_key)["ContentLength"])

    def delete(self, key: str) -> None:
        object_key = self._object_key(key)
        with _s3_errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=object_key)  # no error if missing

    def delete_prefix(self, base_key: str) -> None:
        # The trailing slash matters: "abc/" must not also remove photo "abcdef/...".
        prefix = self._object_key(_check_base_key(base_key)) + "/"
        with _s3_errors(base_key):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                keys = [item["Key"] for item in page.get("Contents", ())]
                for batch in batched(keys, 1000):  # delete_objects takes at most 1000 keys
                    result = self.client.delete_objects(
                        Bucket=self.bucket,
                        Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                    )
                    errors = result.get("Errors") or []
                    if errors:
                        first = errors[0]
                        raise StorageError(
                            f"could not delete {len(errors)} object(s) under {base_key!r}: "
                            f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                        )

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except KeyError:
            return False
        return True

    def list_prefixes(self) -> Iterator[StoredPrefix]:
        # S3 has no folders and no folder times: list every object under the store's prefix and
        # take a photo's newest LastModified. Keys come back in lexicographic order, so all the
        # "<base>/" objects of one photo are adjacent and one photo is yielded as soon as the next
        # begins, whatever the number of pages.
        root = f"{self.prefix}/" if self.prefix else ""
        base: str | None = None
        newest: datetime | None = None
        with _s3_errors(root or "/"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=root
            )
            for page in pages:
                for item in page.get("Contents", ()):
                    key = item["Key"][len(root) :]
                    if "/" not in key or not KEY_PATTERN.fullmatch(key):
                        continue  # a bare key, another prefix's object, or not the store's
                    this_base = key.partition("/")[0]
                    modified = item["LastModified"].astimezone(UTC)
                    if this_base == base and newest is not None:
                        newest = max(newest, modified)
                        continue
                    if base is not None and newest is not None:
                        yield StoredPrefix(base, newest)
                    base, newest = this_base, modified
        if base is not None and newest is not None:
            yield StoredPrefix(base, newest)


T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of at most `size` (itertools.batched, which needs Python 3.12)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _is_boto_error(exc: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, BotoCoreError | ClientError)


@contextlib.contextmanager
def _s3_errors(key: str) -> Iterator[None]:
    """Map botocore's exceptions onto the store's: missing -> KeyError, else -> StorageError.

    Callers then handle one vocabulary whichever backend is configured.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        # Only a missing object: a missing bucket (NoSuchBucket, also a 404) is a misconfiguration.
        # HEAD answers have no body, so head_object reports both as the bare code "404".
        if str(exc.response.get("Error", {}).get("Code")) in _MISSING_CODES:
            raise KeyError(key) from None
        raise StorageError(f"S3 error for {key!r}: {exc}") from exc
    except BotoCoreError as exc:  # EndpointConnectionError, NoCredentialsError, timeouts...
        raise StorageError(f"S3 unavailable for {key!r}: {exc}") from exc


def store_from_url(
    url: str | None,
    *,
    default_root: str | os.PathLike[str],
    endpoint_url: str | None = None,
) -> PhotoStore:
    """The store named by the PHOTO_STORAGE setting.

    * ``""`` or None: a folder at `default_root` (instance/photos);
    * ``s3://bucket`` or ``s3://bucket/some/prefix``, optionally with ``?sse=AES256`` or
      ``?sse=aws:kms``: an S3 bucket, at `endpoint_url` for S3-compatible stores;
    * ``file:///absolute/path`` or a plain path: a folder.
    """
    if not url:
        return LocalPhotoStore(default_root)
    if not isinstance(url, str):
        raise ValueError(f"PHOTO_STORAGE must be a string, not {type(url).__name__}")
    url = url.strip()
    if not url:
        return LocalPhotoStore(default_root)
    shown = _redacted(url)
    # A scheme is 2+ characters, so a Windows drive (C:\photos) still counts as a plain path.
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme == "s3" and url[2:5] == "://":
        return _s3_from_url(url, shown, endpoint_url)
    if scheme == "file" and url[4:7] == "://":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise ValueError(
                f"PHOTO_STORAGE {shown!r}: a file URL must be file:///absolute/path "
                "(no host, query or fragment)"
            )
        path = unquote(parts.path)
        if not path or not os.path.isabs(path):
            raise ValueError(f"PHOTO_STORAGE {shown!r}: a file URL needs an absolute path")
        return LocalPhotoStore(path)
    if scheme:
        raise ValueError(
            f"PHOTO_STORAGE {shown!r} is not supported: use a folder path, file:///absolute/path "
            "or s3://bucket/optional/prefix"
        )
    if "\0" in url:
        raise ValueError("PHOTO_STORAGE must not contain a NUL character")
    return LocalPhotoStore(os.path.expanduser(url))


def _redacted(url: str) -> str:
    """The URL for an error message, without any user:password someone put in it."""
    return re.sub(r"//[^/@]*@", "//***@", url)


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_SSE_VALUES = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})


def _s3_from_url(url: str, shown: str, endpoint_url: str | None) -> S3PhotoStore:
    parts = urlsplit(url)
    bucket = parts.netloc
    if not bucket or "@" in bucket or ":" in bucket:
        raise ValueError(
            f"PHOTO_STORAGE {shown!r}: expected s3://bucket/optional/prefix "
            "(credentials come from AWS_* variables, never the URL)"
        )
    if parts.fragment:
        raise ValueError(f"PHOTO_STORAGE {shown!r}: a fragment (#...) is not allowed")
    options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    unknown = set(options) - {"sse"}
    if unknown:
        raise ValueError(f"PHOTO_STORAGE {shown!r}: unknown option(s) {', '.join(sorted(unknown))}")
    sse = options.get("sse", [None])[-1] or None
    if sse is not None and sse not in _SSE_VALUES:
        raise ValueError(
            f"PHOTO_STORAGE {shown!r}: sse must be one of {', '.join(sorted(_SSE_VALUES))}"
        )
    prefix = unquote(parts.path).strip("/")
    if any(segment in ("", ".", "..") for segment in prefix.split("/")) and prefix:
        raise ValueError(f"PHOTO_STORAGE {shown!r}: the prefix has an empty, '.' or '..' segment")
    return S3PhotoStore(
        bucket, prefix, endpoint_url=endpoint_url or None, server_side_encryption=sse
    )
