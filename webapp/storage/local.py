"""Photos in a folder on this machine: the default store."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime

from .base import (
    BASE_KEY_PATTERN,
    CHUNK_SIZE,
    Chunks,
    PhotoStore,
    StorageError,
    StoredPrefix,
    check_base_key,
    check_key,
)

# Shard folders: the first two characters of a base key.
_SHARD_PATTERN = re.compile(r"^[A-Za-z0-9_-]{2}\Z")

# A bare base key (no rendition) is kept in a file with this suffix beside the folder of its
# renditions. Base keys contain no dot, so the name can never collide with another key.
_BARE_KEY_SUFFIX = ".obj"
_TEMP_PREFIX = ".tmp-"


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
        base, _, rendition = check_key(key).partition("/")
        parts = [self.root, base[:2]]
        parts += [base, rendition] if rendition else [base + _BARE_KEY_SUFFIX]
        return self._contained(os.path.join(*parts))

    def _base_dir(self, base_key: str) -> str:
        base = check_base_key(base_key)
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
            handle = open(path, "rb")  # noqa: SIM115 - closed by Chunks
        except (FileNotFoundError, NotADirectoryError):
            raise KeyError(key) from None
        except OSError as exc:
            raise StorageError(f"cannot read {key!r}: {exc}") from exc

        def translate(exc: Exception) -> Exception | None:
            return StorageError(f"cannot read {key!r}: {exc}") if isinstance(exc, OSError) else None

        return Chunks(iter(lambda: handle.read(CHUNK_SIZE), b""), handle.close, translate)

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
                if not BASE_KEY_PATTERN.fullmatch(name) or name[:2] != shard:
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
