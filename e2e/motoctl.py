"""Starts a moto S3 server (PyPI `moto[server]`) on a free loopback port, so the artifact tests can run a second time against a server whose artifacts live in S3."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import requests

import serverctl

#: Credentials moto accepts (it checks none); the server under test gets them as AWS_* variables.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "keel-e2e",
    "AWS_SECRET_ACCESS_KEY": "keel-e2e-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


class MotoServer:
    """One `python -m moto.server` process; its log goes to `log_dir`."""

    def __init__(self, log_dir: Path):
        self.port = serverctl.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"moto-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    def start(self, timeout: float = 60.0) -> "MotoServer":
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto exited with code {self.proc.returncode}; see {self.log_path}")
            try:
                if requests.get(f"{self.endpoint}/moto-api/", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"moto not up within {timeout:.0f}s; see {self.log_path}")
            time.sleep(0.2)

    def client(self):
        """A boto3 S3 client for inspecting the bucket."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def server_env(self) -> dict[str, str]:
        """Environment for a server storing artifacts here (keel reads AWS_*, the reference also MLFLOW_S3_ENDPOINT_URL)."""
        return {**CREDENTIALS, "MLFLOW_S3_ENDPOINT_URL": self.endpoint}

    def keel_args(self) -> list[str]:
        """Keel's flags for this S3-compatible endpoint."""
        return [
            "--artifacts-s3-endpoint-url",
            self.endpoint,
            "--artifacts-s3-force-path-style",
            "--artifacts-s3-allow-http",
        ]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
