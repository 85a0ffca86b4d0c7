"""Run lifecycle through `MlflowClient`: create, get, update, terminate, delete, restore, tags and run names."""

import time

import pytest
from mlflow.exceptions import MlflowException

from conftest import unique


def test_create_and_get_run(client, experiment_id):
    run = client.create_run(experiment_id, start_time=1_700_000_000_000, tags={"k": "v"}, run_name="r1")
    info = run.info
    assert len(info.run_id) >= 16
    assert info.experiment_id == experiment_id
    assert info.status == "RUNNING"
    assert info.lifecycle_stage == "active"
    assert info.start_time == 1_700_000_000_000
    assert info.end_time is None
    assert info.run_name == "r1"
    assert info.artifact_uri
    assert run.data.tags["k"] == "v"
    assert run.data.tags["mlflow.runName"] == "r1"

    fetched = client.get_run(info.run_id)
    assert fetched.info.run_id == info.run_id
    assert fetched.info.experiment_id == experiment_id
    assert fetched.info.start_time == 1_700_000_000_000
    assert fetched.info.run_name == "r1"
    assert fetched.data.tags == {"k": "v", "mlflow.runName": "r1"}
    assert fetched.data.params == {}
    assert fetched.data.metrics == {}


def test_create_run_defaults(client, experiment_id):
    before = int(time.time() * 1000) - 5_000
    run = client.create_run(experiment_id)
    assert run.info.start_time >= before
    assert run.info.run_name  # a generated name
    assert run.data.tags["mlflow.runName"] == run.info.run_name
    assert client.get_run(run.info.run_id).info.run_name == run.info.run_name


def test_run_ids_are_unique(client, experiment_id):
    ids = {client.create_run(experiment_id).info.run_id for _ in range(5)}
    assert len(ids) == 5


def test_create_run_in_missing_experiment(client):
    with pytest.raises(MlflowException) as err:
        client.create_run("987654321")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_get_missing_run(client):
    with pytest.raises(MlflowException) as err:
        client.get_run("f" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_update_run_status_and_name(client, run_id):
    client.update_run(run_id, status="FAILED", name="renamed")
    info = client.get_run(run_id).info
    assert info.status == "FAILED"
    assert info.run_name == "renamed"
    assert client.get_run(run_id).data.tags["mlflow.runName"] == "renamed"


def test_update_run_name_only_keeps_status(client, run_id):
    client.update_run(run_id, name="only-name")
    info = client.get_run(run_id).info
    assert info.status == "RUNNING"
    assert info.run_name == "only-name"


def test_set_run_name_tag_renames_run(client, run_id):
    client.set_tag(run_id, "mlflow.runName", "via-tag")
    run = client.get_run(run_id)
    assert run.info.run_name == "via-tag"
    assert run.data.tags["mlflow.runName"] == "via-tag"


def test_set_terminated_defaults_to_finished(client, run_id):
    client.set_terminated(run_id)
    info = client.get_run(run_id).info
    assert info.status == "FINISHED"
    assert info.end_time is not None
    assert info.end_time >= info.start_time


def test_set_terminated_with_status_and_end_time(client, experiment_id):
    run_id = client.create_run(experiment_id, start_time=1_000).info.run_id
    client.set_terminated(run_id, status="KILLED", end_time=2_000)
    info = client.get_run(run_id).info
    assert (info.status, info.end_time) == ("KILLED", 2_000)


@pytest.mark.parametrize("status", ["SCHEDULED", "FAILED", "KILLED", "FINISHED", "RUNNING"])
def test_every_status_round_trips(client, run_id, status):
    client.update_run(run_id, status=status)
    assert client.get_run(run_id).info.status == status


def test_delete_and_restore_run(client, run_id):
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_delete_missing_run(client):
    with pytest.raises(MlflowException) as err:
        client.delete_run("e" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_logging_to_deleted_run_fails(client, run_id):
    client.delete_run(run_id)
    with pytest.raises(MlflowException) as err:
        client.log_param(run_id, "p", "1")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        client.log_metric(run_id, "m", 1.0)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        client.set_tag(run_id, "t", "1")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_updating_deleted_run_fails(client, run_id):
    client.delete_run(run_id)
    with pytest.raises(MlflowException) as err:
        client.update_run(run_id, status="FINISHED")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_set_and_overwrite_tags(client, run_id):
    client.set_tag(run_id, "a", "1")
    client.set_tag(run_id, "a", "2")  # tags, unlike params, are mutable
    client.set_tag(run_id, "empty", "")
    tags = client.get_run(run_id).data.tags
    assert tags["a"] == "2"
    assert tags["empty"] == ""


def test_delete_tag(client, run_id):
    client.set_tag(run_id, "gone", "soon")
    client.set_tag(run_id, "kept", "yes")
    client.delete_tag(run_id, "gone")
    tags = client.get_run(run_id).data.tags
    assert "gone" not in tags
    assert tags["kept"] == "yes"


def test_delete_missing_tag_fails(client, run_id):
    with pytest.raises(MlflowException) as err:
        client.delete_tag(run_id, "never-set")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_tag_unicode_and_long_values(client, run_id):
    value = "ünïcödé ✓ " + "y" * 4000
    client.set_tag(run_id, "uni", value)
    assert client.get_run(run_id).data.tags["uni"] == value


def test_run_visible_under_its_experiment_only(client):
    a = client.create_experiment(unique("runs-a"))
    b = client.create_experiment(unique("runs-b"))
    run_id = client.create_run(a).info.run_id
    assert [r.info.run_id for r in client.search_runs([a])] == [run_id]
    assert list(client.search_runs([b])) == []


def test_run_name_from_tag_only(client, experiment_id):
    run = client.create_run(experiment_id, tags={"mlflow.runName": "from-tag"})
    assert run.info.run_name == "from-tag"
    assert client.get_run(run.info.run_id).info.run_name == "from-tag"


def test_conflicting_run_name_and_tag_is_rejected(client, experiment_id):
    with pytest.raises(MlflowException) as err:
        client.create_run(experiment_id, run_name="a", tags={"mlflow.runName": "b"})
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    run = client.create_run(experiment_id, run_name="same", tags={"mlflow.runName": "same"})
    assert run.info.run_name == "same"


def test_deleting_run_name_tag_keeps_run_name(client, experiment_id):
    run_id = client.create_run(experiment_id, run_name="keep-me").info.run_id
    client.delete_tag(run_id, "mlflow.runName")
    run = client.get_run(run_id)
    assert run.info.run_name == "keep-me"
    assert "mlflow.runName" not in run.data.tags
