"""What every photo store shares: the interface, its keys, its errors and its streaming reads."""

from __future__ import annotations

import abc
import contextlib
import itertools
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import NamedTuple, TypeVar

CHUNK_SIZE = 64 * 1024

# A base key (one photo) of 16-64 URL-safe characters, optionally "/<rendition>.<ext>".
# No dots in the base and exactly one in the rendition: "..", "/" runs, absolute paths, NUL and
# uploaded names ("IMG_0001.JPG") can never match. `\Z` rather than `$`: `$` also matches before a
# trailing newline.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}(/[A-Za-z0-9_-]{1,32}\.[a-z]{2,5})?\Z")
BASE_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}\Z")


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


def check_key(key: object) -> str:
    """`key` if it matches KEY_PATTERN, else InvalidKey: every store calls this first."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise InvalidKey(f"invalid storage key: {key!r}")
    return key


def check_base_key(base_key: object) -> str:
    """`base_key` if it names one photo (no rendition), else InvalidKey."""
    if not isinstance(base_key, str) or not BASE_KEY_PATTERN.fullmatch(base_key):
        raise InvalidKey(f"invalid base storage key: {base_key!r}")
    return base_key


class Chunks(Iterator[bytes]):
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

    def __iter__(self) -> Chunks:
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

    def delete_prefixes(self, base_keys: Iterable[str]) -> None:
        """delete_prefix for each of many photos (an account's), as fast as the store allows.

        Each prefix is tried even if another fails; then the first failure is raised
        (StorageError), so a retry has less left to do."""
        raise_first_failure([self._try_delete_prefix(base_key) for base_key in base_keys])

    def _try_delete_prefix(self, base_key: str) -> StorageError | None:
        try:
            self.delete_prefix(base_key)
        except StorageError as exc:
            return exc
        return None

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


def raise_first_failure(outcomes: Iterable[StorageError | None]) -> None:
    """Raise the first error of these outcomes of several store operations, if any."""
    failure = next((outcome for outcome in outcomes if outcome is not None), None)
    if failure is not None:
        raise failure


T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of at most `size` (itertools.batched, which needs Python 3.12)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
