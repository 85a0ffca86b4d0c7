"""Params are write-once per run: same value is accepted, a different value is INVALID_PARAMETER_VALUE."""

import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException


def test_log_param_and_read_back(client, run_id):
    client.log_param(run_id, "lr", 0.001)
    client.log_param(run_id, "name", "resnet")
    client.log_param(run_id, "empty", "")
    assert client.get_run(run_id).data.params == {"lr": "0.001", "name": "resnet", "empty": ""}


def test_same_value_twice_is_ok(client, run_id):
    client.log_param(run_id, "p", "1")
    client.log_param(run_id, "p", "1")
    client.log_batch(run_id, params=[Param("p", "1")])
    assert client.get_run(run_id).data.params == {"p": "1"}


def test_different_value_is_rejected(client, run_id):
    client.log_param(run_id, "p", "1")
    with pytest.raises(MlflowException) as err:
        client.log_param(run_id, "p", "2")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {"p": "1"}


def test_different_value_in_batch_is_rejected(client, run_id):
    client.log_param(run_id, "p", "1")
    with pytest.raises(MlflowException) as err:
        client.log_batch(run_id, params=[Param("p", "2")])
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_rejected_batch_writes_nothing(client, run_id):
    client.log_param(run_id, "p", "1")
    with pytest.raises(MlflowException) as err:
        client.log_batch(
            run_id,
            metrics=[Metric("atomic-m", 1.0, 1_000, 0)],
            params=[Param("atomic-p", "x"), Param("p", "changed")],
            tags=[RunTag("atomic-t", "x")],
        )
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    data = client.get_run(run_id).data
    assert data.params == {"p": "1"}
    assert "atomic-m" not in data.metrics
    assert "atomic-t" not in data.tags
    assert client.get_metric_history(run_id, "atomic-m") == []


def test_duplicate_keys_in_one_batch_are_rejected(client, run_id):
    with pytest.raises(MlflowException) as err:
        client.log_batch(run_id, params=[Param("d", "1"), Param("d", "2")])
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {}


def test_param_value_up_to_6000_chars(client, run_id):
    value = "v" * 6000
    client.log_param(run_id, "big", value)
    assert client.get_run(run_id).data.params["big"] == value


def test_param_key_characters(client, run_id):
    keys = ["with space", "slash/key", "dot.key", "dash-key", "under_score", "colon:key"]
    client.log_batch(run_id, params=[Param(k, k) for k in keys])
    assert client.get_run(run_id).data.params == {k: k for k in keys}
