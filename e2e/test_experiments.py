"""Experiment lifecycle through `MlflowClient`: create, get, rename, tags, delete and restore."""

import time

import pytest
from mlflow.exceptions import MlflowException

from conftest import unique


def test_default_experiment_exists(client):
    exp = client.get_experiment("0")
    assert exp.experiment_id == "0"
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"
    assert client.get_experiment_by_name("Default").experiment_id == "0"


def test_create_and_get(client):
    name = unique("exp-create")
    before = int(time.time() * 1000) - 5_000
    exp_id = client.create_experiment(name)
    assert isinstance(exp_id, str) and exp_id
    exp = client.get_experiment(exp_id)
    assert exp.experiment_id == exp_id
    assert exp.name == name
    assert exp.lifecycle_stage == "active"
    assert exp.artifact_location
    assert exp.creation_time >= before
    assert exp.last_update_time >= exp.creation_time
    assert exp.tags == {}


def test_create_returns_distinct_ids(client):
    ids = {client.create_experiment(unique("exp-ids")) for _ in range(3)}
    assert len(ids) == 3


def test_get_by_name(client):
    name = unique("exp-by-name")
    exp_id = client.create_experiment(name)
    assert client.get_experiment_by_name(name).experiment_id == exp_id


def test_get_by_name_missing_returns_none(client):
    assert client.get_experiment_by_name(unique("no-such-exp")) is None


def test_create_with_tags(client):
    exp_id = client.create_experiment(unique("exp-tags"), tags={"team": "nlp", "owner": "ann"})
    assert client.get_experiment(exp_id).tags == {"team": "nlp", "owner": "ann"}


def test_create_with_artifact_location(client, tmp_path):
    location = str(tmp_path / "custom-artifacts")
    exp_id = client.create_experiment(unique("exp-art"), artifact_location=location)
    assert client.get_experiment(exp_id).artifact_location.endswith("custom-artifacts")


def test_a_relative_artifact_location_is_resolved_against_the_server_directory(client, server):
    # As the reference's resolve_uri_if_local: relative to the server's working directory
    # (the e2e servers run in their data directory), `.` segments dropped.
    exp_id = client.create_experiment(unique("rel-loc"), artifact_location="./relative/dir")
    assert client.get_experiment(exp_id).artifact_location == f"{server.data_dir}/relative/dir"


def test_create_duplicate_name_fails(client):
    name = unique("exp-dup")
    client.create_experiment(name)
    with pytest.raises(MlflowException) as err:
        client.create_experiment(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_create_empty_name_fails(client):
    with pytest.raises(MlflowException) as err:
        client.create_experiment("")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_rename(client):
    old, new = unique("exp-old"), unique("exp-new")
    exp_id = client.create_experiment(old)
    created = client.get_experiment(exp_id)
    client.rename_experiment(exp_id, new)
    renamed = client.get_experiment(exp_id)
    assert renamed.name == new
    assert renamed.last_update_time >= created.last_update_time
    assert client.get_experiment_by_name(new).experiment_id == exp_id
    assert client.get_experiment_by_name(old) is None


def test_rename_to_taken_name_fails_and_changes_nothing(client):
    a, b = unique("exp-a"), unique("exp-b")
    a_id, b_id = client.create_experiment(a), client.create_experiment(b)
    with pytest.raises(MlflowException) as err:
        client.rename_experiment(a_id, b)
    # The reference server answers BAD_REQUEST (a leaked IntegrityError); any 4xx code is fine.
    assert err.value.get_http_status_code() == 400
    assert client.get_experiment(a_id).name == a
    assert client.get_experiment(b_id).name == b


def test_delete_and_restore(client):
    name = unique("exp-del")
    exp_id = client.create_experiment(name)
    client.delete_experiment(exp_id)
    deleted = client.get_experiment(exp_id)
    assert deleted.lifecycle_stage == "deleted"
    assert client.get_experiment_by_name(name).lifecycle_stage == "deleted"
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"


def test_deleted_name_is_still_taken(client):
    name = unique("exp-del-name")
    exp_id = client.create_experiment(name)
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as err:
        client.create_experiment(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_delete_twice_fails(client):
    exp_id = client.create_experiment(unique("exp-del2"))
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as err:
        client.delete_experiment(exp_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_restore_active_fails(client):
    exp_id = client.create_experiment(unique("exp-restore-active"))
    with pytest.raises(MlflowException) as err:
        client.restore_experiment(exp_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_create_run_in_deleted_experiment_fails(client):
    exp_id = client.create_experiment(unique("exp-del-run"))
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as err:
        client.create_run(exp_id)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_delete_experiment_deletes_and_restore_restores_its_runs(client):
    exp_id = client.create_experiment(unique("exp-cascade"))
    run_id = client.create_run(exp_id).info.run_id
    client.delete_experiment(exp_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    client.restore_experiment(exp_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_experiment_tags_set_overwrite_delete(client, experiment_id):
    client.set_experiment_tag(experiment_id, "k", "v1")
    client.set_experiment_tag(experiment_id, "other", "x")
    assert client.get_experiment(experiment_id).tags == {"k": "v1", "other": "x"}
    client.set_experiment_tag(experiment_id, "k", "v2")
    assert client.get_experiment(experiment_id).tags["k"] == "v2"
    client.delete_experiment_tag(experiment_id, "k")
    assert client.get_experiment(experiment_id).tags == {"other": "x"}


def test_delete_missing_experiment_tag_fails(client, experiment_id):
    with pytest.raises(MlflowException) as err:
        client.delete_experiment_tag(experiment_id, "never-set")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_experiment_tag_long_value(client, experiment_id):
    # Experiment tag values may hold up to 20000 characters (the UI keeps the description in one).
    value = "x" * 20_000
    client.set_experiment_tag(experiment_id, "long", value)
    assert client.get_experiment(experiment_id).tags["long"] == value


def test_get_missing_experiment(client):
    with pytest.raises(MlflowException) as err:
        client.get_experiment("987654321")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_get_non_numeric_experiment_id(client):
    with pytest.raises(MlflowException) as err:
        client.get_experiment("not-a-number")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("suffix", ["/Users/me/project", "実験 ✓", "with space and 'quote'"])
def test_unusual_names_round_trip(client, suffix):
    name = unique("exp") + suffix
    exp_id = client.create_experiment(name)
    assert client.get_experiment(exp_id).name == name
    assert client.get_experiment_by_name(name).experiment_id == exp_id
