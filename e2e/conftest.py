"""Session fixtures: start the server under test (keel, or the reference MLflow server) and point the client at it."""

from __future__ import annotations

import os
import uuid

# Set before the client makes any request: no retries with back-off (a failing server must fail
# fast), bounded timeouts, and no telemetry calls to the internet.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow  # noqa: E402
import pytest  # noqa: E402
import requests  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

import motoctl  # noqa: E402
import serverctl  # noqa: E402

_started: list[serverctl.ServerProcess] = []

#: The bucket and prefix of the S3 run of the artifact tests (see `artifact_server`).
S3_BUCKET = "keel-e2e"
S3_PREFIX = "artifacts"


def unique(prefix: str = "e2e") -> str:
    """A name no other test (or earlier session on the same server) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Api:
    """Raw HTTP access for wire-level facts the client hides."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def url(self, path: str, prefix: str = "/api/2.0/mlflow/") -> str:
        if path.startswith("/"):
            return self.base_url + path
        return self.base_url + prefix + path

    def get(self, path: str, params=None, prefix: str = "/api/2.0/mlflow/", **kw) -> requests.Response:
        return self.session.get(self.url(path, prefix), params=params, timeout=60, **kw)

    def post(self, path: str, json=None, prefix: str = "/api/2.0/mlflow/", **kw) -> requests.Response:
        return self.session.post(self.url(path, prefix), json=json, timeout=60, **kw)


@pytest.fixture(scope="session")
def default_server(tmp_path_factory):
    """The server under test for the whole session, on a free loopback port and a fresh data dir."""
    data_dir = tmp_path_factory.mktemp("session") / "data"
    srv = serverctl.ServerProcess(data_dir)
    _started.append(srv)
    srv.start()
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = srv.url
    mlflow.set_tracking_uri(srv.url)
    try:
        yield srv
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous
        code = srv.stop()
        print(f"\n{srv.target} server stopped with exit code {code}")


@pytest.fixture(scope="session")
def server(default_server):
    """The server most tests talk to (artifact tests swap in `artifact_server`)."""
    return default_server


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    """A moto S3 server with the bucket for the S3 artifact run, started on first use."""
    srv = motoctl.MotoServer(tmp_path_factory.mktemp("moto")).start()
    try:
        srv.create_bucket(S3_BUCKET)
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory, moto):
    """A second server of the same target whose artifact store is `s3://keel-e2e/artifacts` on moto."""
    data_dir = tmp_path_factory.mktemp("s3-session") / "data"
    srv = serverctl.ServerProcess(
        data_dir,
        artifacts_destination=f"s3://{S3_BUCKET}/{S3_PREFIX}",
        extra_args=moto.keel_args(),
        extra_env=moto.server_env(),
    )
    _started.append(srv)
    srv.start()
    try:
        yield srv
    finally:
        code = srv.stop()
        print(f"\n{srv.target} server (S3 artifacts) stopped with exit code {code}")


@pytest.fixture(params=["local", "s3"])
def artifact_server(request):
    """The server of one artifact store, local directory or S3: artifact test modules run once per store
    (they take it through the fixtures of `artifact_backends`). The fluent API follows it for the test."""
    srv = request.getfixturevalue("default_server" if request.param == "local" else "s3_server")
    previous_uri = mlflow.get_tracking_uri()
    previous_env = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = srv.url
    mlflow.set_tracking_uri(srv.url)
    try:
        yield srv
    finally:
        mlflow.set_tracking_uri(previous_uri)
        if previous_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous_env


@pytest.fixture(scope="session")
def base_url(server) -> str:
    return server.url


@pytest.fixture(scope="session")
def api(server) -> Api:
    return Api(server.url)


@pytest.fixture(scope="session")
def client(server) -> MlflowClient:
    return MlflowClient(tracking_uri=server.url)


@pytest.fixture
def experiment_id(client) -> str:
    """A fresh, empty experiment for one test."""
    return client.create_experiment(unique("exp"))


@pytest.fixture
def run_id(client, experiment_id) -> str:
    """A fresh RUNNING run in a fresh experiment."""
    return client.create_run(experiment_id).info.run_id


@pytest.fixture(autouse=True)
def _no_leaked_fluent_state():
    """Fluent API state is process-global; never let one test's active run leak into the next."""
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    os.environ.pop("MLFLOW_EXPERIMENT_NAME", None)


def pytest_report_header(config):
    target = serverctl.TARGET
    where = serverctl.keel_binary() if target == "keel" else serverctl.mlflow_cli()
    backend = serverctl.BACKEND if target == "keel" else "sqlite"
    return f"e2e target: {target} ({where}) on {backend}, mlflow client {mlflow.__version__}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not terminalreporter.stats.get("failed") and not terminalreporter.stats.get("error"):
        return
    for srv in _started:
        terminalreporter.write_sep("-", f"{srv.target} server log tail ({srv.log_path})")
        terminalreporter.write_line(srv.log_tail(25))
