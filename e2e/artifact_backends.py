"""Fixtures that run an artifact test module once per artifact store (local directory, then S3 on moto).

A module opts in by importing them, which overrides the session-wide fixtures of the same names:

    from artifact_backends import api, base_url, client, server  # noqa: F401

Every test of that module (and the `experiment_id`/`run_id` fixtures it uses) then talks to
`artifact_server`, parametrized as `[local]` and `[s3]`.
"""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from conftest import Api


@pytest.fixture
def server(artifact_server):
    return artifact_server


@pytest.fixture
def base_url(server) -> str:
    return server.url


@pytest.fixture
def api(server) -> Api:
    return Api(server.url)


@pytest.fixture
def client(server) -> MlflowClient:
    return MlflowClient(tracking_uri=server.url)
