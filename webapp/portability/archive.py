"""Reading an export archive (docs/export.md) that someone uploads: untrusted bytes, checked
before anything is written anywhere. No Flask, no database: the importer writes what this reads.

A ZIP is refused, with a sentence naming the file (and the row of data.json) at fault, when it is
not a ZIP, is not a Skinlog export of a version we read, or could hurt the server:

* names: `..`, absolute paths, backslashes or control characters (a path traversal or a
  Windows path), two members of one name (which one is read?), symbolic links;
* size: more than `max_members` members, a member above its limit (data.json, each photo at
  most the upload limit), more than `max_total_bytes` in all, or a member that inflates more than
  `max_ratio` times (a ZIP bomb). Declared sizes are checked first, then bytes are counted
  while inflating, since a header can lie: nothing is ever inflated past its limit.

Members are read one at a time into memory (a photo at most 25 MB), never extracted to disk, so
a name is only ever a key into the archive.
"""

from __future__ import annotations

import io
import json
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from ..imaging import MAX_UPLOAD_BYTES

FORMAT = "skinlog-export"
VERSION = 1
DATA_FILE = "data.json"
_CHUNK = 64 * 1024
_MIB = 1024 * 1024
# The end record (22 bytes) sits within the last 64 KiB + 22 bytes (its comment is at most 64 KiB).
_END_SEARCH = 22 + 0xFFFF + 20


class ArchiveRefused(Exception):
    """The upload is not an archive we import; the message says why, for the patient."""


@dataclass(frozen=True)
class Limits:
    """What an archive may hold. A two-year history (1,460 photos, a few hundred MB, a data.json
    of a few MB) stays far inside them; a real bomb or a stuffed archive does not."""

    max_members: int = 20_000
    max_data_bytes: int = 64 * _MIB
    max_photo_bytes: int = MAX_UPLOAD_BYTES
    # Members import never reads (fhir.json, the CSVs, README.txt): bounded all the same.
    max_other_bytes: int = 256 * _MIB
    max_total_bytes: int = 4 * 1024 * _MIB
    # Deflate reaches about 1,000:1 on a bomb; JSON of a history about 10:1, JPEG 1:1. Checked
    # only for members big enough to matter (a tiny member may compress very well).
    max_ratio: int = 200
    ratio_from_bytes: int = _MIB


class ExportArchive:
    """An opened archive whose member list passed the checks; `read` counts what it inflates."""

    def __init__(self, archive: zipfile.ZipFile, limits: Limits) -> None:
        self._zip = archive
        self._limits = limits
        self._members = _checked_members(archive, limits)
        self._inflated = 0

    def has(self, name: str) -> bool:
        return name in self._members

    def read(self, name: str, limit: int) -> bytes:
        """A member's bytes, refusing it beyond `limit` (declared or counted) and the archive
        beyond its total; a corrupt member (bad CRC, truncated) is refused too."""
        info = self._members[name]
        if info.file_size > limit:
            raise ArchiveRefused(f"{name}: larger than {_size(limit)}.")
        allowed = min(limit, info.file_size)
        buffer = io.BytesIO()
        try:
            with self._zip.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    buffer.write(chunk)
                    self._inflated += len(chunk)
                    if buffer.tell() > allowed:
                        raise ArchiveRefused(f"{name}: holds more than its header says.")
                    if self._inflated > self._limits.max_total_bytes:
                        raise ArchiveRefused(_too_big_in_all(self._limits))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
            raise ArchiveRefused(f"{name}: damaged in the ZIP ({error}).") from None
        return buffer.getvalue()

    def photo(self, name: str) -> bytes:
        """A photo member's bytes, at most the upload limit (what the API takes)."""
        return self.read(name, self._limits.max_photo_bytes)

    def data(self) -> dict[str, Any]:
        """data.json parsed, once its format and version are ones we read."""
        if not self.has(DATA_FILE):
            raise ArchiveRefused(
                "This ZIP is not a Skinlog export: it has no data.json. "
                "Import the ZIP from 'Download all my data' as it was downloaded."
            )
        raw = self.read(DATA_FILE, self._limits.max_data_bytes)
        try:
            # UTF-8 as docs/export.md says, not whatever json guesses from the first bytes.
            data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise ArchiveRefused(f"{DATA_FILE}: not valid JSON in UTF-8.") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ArchiveRefused(f'{DATA_FILE}: not a Skinlog export (its "format" is wrong).')
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ArchiveRefused(f'{DATA_FILE}: "version" must be a whole number from 1.')
        if version > VERSION:
            raise ArchiveRefused(
                f"{DATA_FILE}: made by a newer Skinlog (export version {version}); this server "
                f"reads version {VERSION}."
            )
        return data


@contextmanager
def open_export(fileobj: IO[bytes], limits: Limits | None = None) -> Iterator[ExportArchive]:
    """The uploaded archive, opened and its members checked; ArchiveRefused otherwise."""
    limits = limits or Limits()
    with _seekable(fileobj) as seekable:
        try:
            count = _declared_member_count(seekable)
            if count > limits.max_members:
                # Before zipfile reads the directory: a million tiny entries cost it ~1 GB.
                raise ArchiveRefused(f"This ZIP holds more than {limits.max_members:,} files.")
            archive = zipfile.ZipFile(seekable)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
            raise ArchiveRefused(
                "This file is not a ZIP archive. Import the ZIP from 'Download all my data'."
            ) from None
        with archive:
            yield ExportArchive(archive, limits)


@contextmanager
def _seekable(fileobj: IO[bytes]) -> Iterator[IO[bytes]]:
    """The upload as a seekable file (a ZIP is read from its end): as it is, or spooled."""
    if getattr(fileobj, "seekable", lambda: False)():
        yield fileobj
        return
    with tempfile.SpooledTemporaryFile(max_size=16 * _MIB) as spooled:
        shutil.copyfileobj(fileobj, spooled)
        spooled.seek(0)
        yield spooled


def _declared_member_count(fileobj: IO[bytes]) -> int:
    """How many members the ZIP's end record says it holds (its ZIP64 record's count if it has
    one); 0 when no end record is found (zipfile then says it is not a ZIP)."""
    size = fileobj.seek(0, io.SEEK_END)
    start = max(0, size - _END_SEARCH)
    fileobj.seek(start)
    tail = fileobj.read(size - start)
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 > len(tail):
        return 0
    count = int.from_bytes(tail[end + 10 : end + 12], "little")
    locator = end - 20
    if count == 0xFFFF and locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        offset = int.from_bytes(tail[locator + 8 : locator + 16], "little")
        fileobj.seek(offset)
        record = fileobj.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            count = int.from_bytes(record[32:40], "little")
    fileobj.seek(0)
    return count


def _checked_members(archive: zipfile.ZipFile, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise ArchiveRefused(f"This ZIP holds more than {limits.max_members:,} files.")
    members: dict[str, zipfile.ZipInfo] = {}
    declared = 0
    for info in infos:
        name = info.filename
        problem = _name_problem(name)
        if problem:
            raise ArchiveRefused(f"{_shown(name)}: {problem}.")
        if _is_symlink(info):
            raise ArchiveRefused(f"{name}: a symbolic link, which an export never holds.")
        if info.is_dir():
            continue
        if name in members:
            raise ArchiveRefused(f"{name}: appears twice in the ZIP.")
        if info.file_size > _limit_of(name, limits):
            raise ArchiveRefused(f"{name}: larger than {_size(_limit_of(name, limits))}.")
        if info.flag_bits & 0x1:
            raise ArchiveRefused(f"{name}: encrypted, which an export never is.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveRefused(f"{name}: compressed in a way an export never is.")
        if info.file_size > limits.ratio_from_bytes and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise ArchiveRefused(
                f"{name}: inflates {info.file_size // max(info.compress_size, 1):,} times "
                "(a ZIP bomb?)."
            )
        declared += info.file_size
        if declared > limits.max_total_bytes:
            raise ArchiveRefused(_too_big_in_all(limits))
        members[name] = info
    return members


def _limit_of(name: str, limits: Limits) -> int:
    if name == DATA_FILE:
        return limits.max_data_bytes
    if name.startswith("photos/"):
        return limits.max_photo_bytes
    return limits.max_other_bytes


def _name_problem(name: str) -> str | None:
    """What is wrong with a member's name as a path inside the archive, if anything."""
    if not name:
        return "a file without a name"
    if "\\" in name:
        return "a name with a backslash (a Windows path)"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if any(part == ".." for part in name.split("/")):
        return "a name that climbs out of the archive (..)"
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return "a name with a control character"
    return None


def _shown(name: str) -> str:
    """A hostile name, safe to put in a message (no control characters, bounded)."""
    return repr(name[:120])


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    # Unix mode bits live in the high 16 bits of external_attr (create_system 3 = Unix).
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _too_big_in_all(limits: Limits) -> str:
    return f"This ZIP inflates to more than {_size(limits.max_total_bytes)} in all."


def _size(count: int) -> str:
    return f"{count / _MIB:,.0f} MB"


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")
