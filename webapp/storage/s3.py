"""Photos in an S3 or S3-compatible bucket. boto3 is imported only when such a store is made."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from .base import (
    CHUNK_SIZE,
    KEY_PATTERN,
    Chunks,
    PhotoStore,
    StorageError,
    StoredPrefix,
    batched,
    check_base_key,
    check_key,
    raise_first_failure,
)

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
log = logging.getLogger(__name__)
# Photos deleted at once by delete_prefixes.
DELETE_WORKERS = 8


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
        self._versioning: bool | None = None  # see _keeps_versions

    def __repr__(self) -> str:
        return f"S3PhotoStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _object_key(self, key: str) -> str:
        key = check_key(key)
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

        return Chunks(iter(body.iter_chunks(CHUNK_SIZE)), body.close, translate)

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
        prefix = self._object_key(check_base_key(base_key)) + "/"
        with _s3_errors(base_key):
            if self._keeps_versions():
                listing, listed = "list_object_versions", _versions_of
            else:
                listing, listed = "list_objects_v2", _objects_of
            pages = self.client.get_paginator(listing).paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for batch in batched(listed(page), 1000):  # delete_objects takes at most 1000
                    result = self.client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                    )
                    errors = result.get("Errors") or []
                    if errors:
                        first = errors[0]
                        raise StorageError(
                            f"could not delete {len(errors)} object(s) under {base_key!r}: "
                            f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                        )

    def _keeps_versions(self) -> bool:
        """Whether the bucket keeps old versions (versioning enabled, or suspended after being
        on). There, deleting an object only hides it behind a delete marker and its bytes stay,
        so delete_prefix deletes every version by id instead; that needs s3:ListBucketVersions
        and s3:DeleteObjectVersion, which such a bucket's policy must grant.

        Asked once per store (a process). A store that cannot tell (no s3:GetBucketVersioning,
        or an S3-compatible store without versioning) is taken as unversioned, with a warning."""
        if self._versioning is None:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                answer = self.client.get_bucket_versioning(Bucket=self.bucket)
            except (BotoCoreError, ClientError) as exc:
                log.warning("cannot tell whether %s keeps old versions: %s", self.bucket, exc)
                answer = {}
            self._versioning = answer.get("Status") in ("Enabled", "Suspended")
        return self._versioning

    def delete_prefixes(self, base_keys: Iterable[str]) -> None:
        # Two requests per photo (list, delete), one after the other, are some 2,900 round trips
        # for a two-year history: over a minute at S3's usual 20-40 ms, past a worker's timeout.
        # Several at once bring it to seconds; botocore clients are thread-safe, and
        # DELETE_WORKERS stays under their pool of 10 connections.
        with ThreadPoolExecutor(DELETE_WORKERS, thread_name_prefix="s3-delete") as pool:
            raise_first_failure(list(pool.map(self._try_delete_prefix, base_keys)))

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


def _objects_of(page: dict[str, Any]) -> list[dict[str, str]]:
    """The objects of a list_objects_v2 page, as delete_objects takes them."""
    return [{"Key": item["Key"]} for item in page.get("Contents", ())]


def _versions_of(page: dict[str, Any]) -> list[dict[str, str]]:
    """Every version and delete marker of a list_object_versions page, as delete_objects takes
    them: deleting a version by its id removes its bytes for good."""
    items = [*page.get("Versions", ()), *page.get("DeleteMarkers", ())]
    return [{"Key": item["Key"], "VersionId": item["VersionId"]} for item in items]


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
