"""A real S3 endpoint for tests: moto's standalone server on loopback, or one you name.

The S3 store is tested over real HTTP (signing, streaming, error codes as botocore sees them), not
by patching boto3. This is a plain helper, not a fixture, so conftest files can wrap it at any
scope:

    with moto_s3_server() as endpoint_url:
        make_bucket(endpoint_url, "photos")
        store = S3PhotoStore("photos", endpoint_url=endpoint_url)   # with CREDENTIALS_ENV set

Nothing global is changed here: callers set the credentials (see `credentials_env()`) and pass the
endpoint URL. To run against a real S3-compatible store (MinIO, Ceph...) instead of moto, set
TEST_S3_ENDPOINT_URL, and TEST_S3_ACCESS_KEY_ID / TEST_S3_SECRET_ACCESS_KEY / TEST_S3_REGION if
its credentials are not the dummy "test"/"test" in us-east-1.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import Any

ENDPOINT_ENV = "TEST_S3_ENDPOINT_URL"


def credentials_env() -> dict[str, str]:
    """AWS_* variables for code under test (boto3's default chain): dummy unless overridden."""
    return {
        "AWS_ACCESS_KEY_ID": os.environ.get("TEST_S3_ACCESS_KEY_ID", "test"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("TEST_S3_SECRET_ACCESS_KEY", "test"),
        "AWS_DEFAULT_REGION": os.environ.get("TEST_S3_REGION", "us-east-1"),
    }


@contextlib.contextmanager
def moto_s3_server() -> Iterator[str]:
    """Yield the endpoint URL of an S3 server: TEST_S3_ENDPOINT_URL if set, else a fresh moto.

    Moto runs in a daemon thread of this process, bound to 127.0.0.1 on a port the OS picks, and is
    shut down on exit. Its state (buckets) is per process, so use a new bucket per test.
    """
    external = os.environ.get(ENDPOINT_ENV)
    if external:
        yield external.rstrip("/")
        return

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint_url: str) -> Any:
    """A boto3 S3 client for the test endpoint, with explicit test credentials (never real ones).

    Cached: building a client costs tens of milliseconds, and boto3 clients are thread-safe.
    """
    creds = credentials_env()
    return _client(
        endpoint_url,
        creds["AWS_ACCESS_KEY_ID"],
        creds["AWS_SECRET_ACCESS_KEY"],
        creds["AWS_DEFAULT_REGION"],
    )


@functools.cache
def _client(endpoint_url: str, key_id: str, secret: str, region: str) -> Any:
    return _session(key_id, secret, region).client("s3", endpoint_url=endpoint_url)


@functools.cache
def _session(key_id: str, secret: str, region: str) -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=region
    )


def make_bucket(endpoint_url: str, name: str) -> None:
    """Create an empty bucket (in the test region)."""
    client = s3_client(endpoint_url)
    region = client.meta.region_name
    params: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(**params)


def remove_bucket(endpoint_url: str, name: str) -> None:
    """Empty and delete a bucket, so a run against a real endpoint leaves nothing behind."""
    client = s3_client(endpoint_url)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", ())]
        if objects:
            client.delete_objects(Bucket=name, Delete={"Objects": objects, "Quiet": True})
    client.delete_bucket(Bucket=name)
