"""Starts and stops the server under test (keel or the reference MLflow server) as a child process."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent

#: "keel" (default) or "reference" (the Python MLflow server from the test venv).
TARGET = os.environ.get("E2E_TARGET", "keel").strip().lower() or "keel"
if TARGET not in ("keel", "reference"):
    raise RuntimeError(f"E2E_TARGET must be 'keel' or 'reference', got {TARGET!r}")

IS_REFERENCE = TARGET == "reference"

#: Keel's metadata store: "sqlite" (default, in the data dir) or "postgres" (a fresh database per
#: data dir on E2E_POSTGRES_URL's server, dropped when the test session ends).
BACKEND = os.environ.get("E2E_BACKEND", "sqlite").strip().lower() or "sqlite"
if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"E2E_BACKEND must be 'sqlite' or 'postgres', got {BACKEND!r}")
if BACKEND == "postgres" and IS_REFERENCE:
    raise RuntimeError("E2E_BACKEND=postgres runs Keel only; the reference server stays on SQLite")
POSTGRES_ADMIN_URL = os.environ.get("E2E_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_created_databases: list[str] = []


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", POSTGRES_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
        check=True,
        capture_output=True,
        timeout=60,
    )


def postgres_store_uri(data_dir: Path) -> str:
    """The URI of the database that belongs to `data_dir`, created on first use, so a restarted
    server (same data dir) finds its data again."""
    name = "keel_e2e_" + hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()[:20]
    if name not in _created_databases:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _psql(f"CREATE DATABASE {name}")
        _created_databases.append(name)
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@atexit.register
def _drop_databases() -> None:
    for name in _created_databases:
        try:
            _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except (subprocess.SubprocessError, OSError):
            pass


def keel_binary() -> Path:
    return Path(os.environ.get("KEEL_BIN", REPO_ROOT / "target" / "release" / "keel"))


def mlflow_cli() -> str:
    local = Path(sys.executable).parent / "mlflow"
    if local.exists():
        return str(local)
    found = shutil.which("mlflow")
    if not found:
        raise RuntimeError("E2E_TARGET=reference needs the `mlflow` CLI next to the Python interpreter")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env() -> dict[str, str]:
    # Hermetic: a developer's KEEL_* settings (config file, backend URI, ...) must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_") or k.startswith("KEEL_LOG_")}
    # The sandbox has no internet; never let either side try to phone home.
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    env.setdefault("DO_NOT_TRACK", "true")
    # The reference server otherwise forks a pool of background job workers we never use.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    # Webhook tests receive on a loopback HTTP server: both servers must be allowed to reach it
    # (a test that checks the refusal starts its own server with these turned off).
    env["KEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "true"
    env.setdefault("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true")
    env.setdefault("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https")
    # The reference caches each event's webhooks for a minute; tests create and delete webhooks
    # and expect the next event to see the change.
    env.setdefault("MLFLOW_WEBHOOK_CACHE_TTL", "0")
    return env


class ServerProcess:
    """One server process bound to a free loopback port, persisting into `data_dir`.

    `artifacts_destination` replaces the default artifact directory (e.g. an `s3://` URL);
    `extra_args` go to keel only, `reference_args` to the reference only, `extra_env` to either
    server. With `ca_cert` the server is
    reached over HTTPS, trusting that certificate. With `static_prefix` (`--static-prefix`, on
    either server) every route is under that path, and so is `url`.
    """

    def __init__(
        self,
        data_dir: Path,
        target: str = TARGET,
        port: int | None = None,
        artifacts_destination: str | None = None,
        extra_args: list[str] | None = None,
        reference_args: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
        ca_cert: Path | None = None,
        static_prefix: str | None = None,
    ):
        self.target = target
        self.artifacts_destination = artifacts_destination
        self.extra_args = list(extra_args or [])
        self.reference_args = list(reference_args or [])
        self.extra_env = dict(extra_env or {})
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.ca_cert = ca_cert
        self.static_prefix = static_prefix
        self.root_url = f"{'https' if ca_cert else 'http'}://127.0.0.1:{self.port}"
        self.url = self.root_url + (static_prefix or "")
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    def command(self) -> list[str]:
        if self.target == "reference":
            return [
                mlflow_cli(),
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.data_dir}/mlflow.db",
                *(
                    ["--artifacts-destination", self.artifacts_destination]
                    if self.artifacts_destination
                    else ["--default-artifact-root", f"{self.data_dir}/artifacts"]
                ),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                *(["--static-prefix", self.static_prefix] if self.static_prefix else []),
                *self.reference_args,
            ]
        binary = keel_binary()
        if not binary.exists():
            raise RuntimeError(
                f"keel binary not found at {binary}; run `cargo build --release` "
                "or set KEEL_BIN (or E2E_TARGET=reference to test the reference server)"
            )
        return [
            str(binary),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *(["--artifacts-destination", self.artifacts_destination] if self.artifacts_destination else []),
            *(["--backend-store-uri", postgres_store_uri(self.data_dir)] if BACKEND == "postgres" else []),
            *(["--static-prefix", self.static_prefix] if self.static_prefix else []),
            *self.extra_args,
        ]

    def start(self, timeout: float | None = None) -> "ServerProcess":
        if timeout is None:
            default = 240 if self.target == "reference" else 60
            timeout = float(os.environ.get("E2E_STARTUP_TIMEOUT", default))
        cmd = self.command()
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"$ {' '.join(cmd)}\n".encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.data_dir,
            env={**child_env(), **self.extra_env},
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches the workers too
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.target} server exited with code {self.proc.returncode} before becoming "
                    f"healthy; log tail:\n{self.log_tail()}"
                )
            try:
                verify = str(self.ca_cert) if self.ca_cert else True
                if requests.get(f"{self.url}/health", timeout=2, verify=verify).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"{self.target} server not healthy within {timeout:.0f}s; log tail:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def _signal(self, sig: int) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)  # the group we created with start_new_session
        except ProcessLookupError:
            pass

    def stop(self, grace: float = 20.0) -> int | None:
        """SIGTERM, wait for a clean exit, SIGKILL only if it does not come. Returns the exit code."""
        if self.proc is None:
            return None
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._close_log()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, no chance to flush anything."""
        if self.proc is None:
            return
        self._signal(signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "<no log>"
        return "\n".join(text.splitlines()[-lines:])
