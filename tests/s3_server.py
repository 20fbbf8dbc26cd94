"""A real S3-compatible server for tests: moto's server mode on 127.0.0.1 with credential checking on,
one IAM user whose key may use S3, and the real AWS CLI. Import the fixtures into a test module with
``from tests.s3_server import aws_cli, s3  # noqa: F401``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

BIN = Path(sys.executable).parent


def require_tool(name: str, package: str) -> str:
    """Path of a command-line tool; missing: a failure under CI, a skip that says why elsewhere."""
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found:
        return found
    message = f"'{name}' is not installed (PyPI {package}, in the 'test' extra: pip install -e '.[test]')"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_module(name: str, package: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        message = f"Python module {name} is not installed (PyPI {package}, in the 'test' extra)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    region: str
    client: Any
    """boto3 S3 client using the valid key (for seeding)."""

    def new_bucket(self, prefix: str = "models") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, files: Mapping[str, bytes]) -> None:
        for key, body in files.items():
            self.client.put_object(Bucket=bucket, Key=key, Body=body)

    def delete_bucket(self, bucket: str) -> None:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                self.client.delete_object(Bucket=bucket, Key=obj["Key"])
        self.client.delete_bucket(Bucket=bucket)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise RuntimeError(f"moto_server did not answer {url} within {deadline_s}s")


@pytest.fixture(scope="session")
def aws_cli() -> str:
    """The real AWS CLI (PyPI awscli)."""
    return require_tool("aws", "awscli")


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto_server on 127.0.0.1 that checks credentials, with one IAM user allowed to use S3."""
    moto_server = require_tool("moto_server", "moto[server]")
    boto3 = require_module("boto3", "boto3")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [moto_server, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    try:
        _wait_ready(f"{endpoint}/moto-api/data.json", proc, 30)
        admin = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "admin", "aws_secret_access_key": "admin"}
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="model-loader")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="model-loader", PolicyName="s3", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="model-loader")["AccessKey"]
        # From now on every request must be signed by a known key with a policy that allows it.
        request = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=5):
            pass
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        yield S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], "us-east-1", client)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        assert proc.returncode is not None
