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

The package imports nothing from Flask: the CLI, benchmarks and tests use it directly. Callers use
only the names below; behind them, `base` holds the interface, keys and errors, `local` and `s3`
the two stores, and `store_from_url` here picks one from the PHOTO_STORAGE setting.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, unquote, urlsplit

from .base import (
    CHUNK_SIZE,
    KEY_PATTERN,
    InvalidKey,
    PhotoStore,
    StorageError,
    StoredPrefix,
    batched,
    new_key,
)
from .local import LocalPhotoStore
from .s3 import S3PhotoStore

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
