"""A local S3 endpoint for the tests: moto in server mode on a free port of 127.0.0.1, the standard
AWS variables pointed at it (Polars, s3fs and boto3 all read them), one bucket per test.

The server is a real HTTP endpoint in its own process, so the lake on `s3://` is exercised the way
a worker on another machine would use it (listings, PUTs, ranged GETs), not through an in-process
mock. Skipped, saying why, where moto or s3fs is not installed (`pip install -e '.[test]'`).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# Any value works against moto; real deployments use their own credentials or an instance role.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "claimback-test", "AWS_SECRET_ACCESS_KEY": "claimback-test",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def moto_server(startup_seconds: float = 30.0) -> Iterator[str]:
    """Run `python -m moto.server` on a free port until the block ends; yields its URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on port {port}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def environment(endpoint: str) -> dict[str, str]:
    return {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The moto endpoint, with the AWS variables set for this process and its children."""
    for module in ("moto.server", "s3fs", "boto3"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[test]'): "
                                           "the lake on object storage is tested against a local moto server")
    with moto_server() as endpoint:
        saved = {name: os.environ.get(name) for name in environment(endpoint)}
        os.environ.update(environment(endpoint))
        try:
            yield endpoint
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture
def bucket(s3_endpoint) -> str:
    """A fresh, empty bucket's name."""
    import boto3

    name = f"claimback-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


def keys(bucket: str, prefix: str = "") -> list[str]:
    """Every object key under a prefix."""
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [item["Key"] for item in page.get("Contents", [])]
    return sorted(found)


def upload_folder(folder, bucket: str, prefix: str) -> None:
    """Copy a local folder's files to s3://bucket/prefix/, keeping their relative names."""
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")
