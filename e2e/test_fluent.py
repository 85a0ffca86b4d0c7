"""The fluent `mlflow.*` API (what most user code calls) works unmodified against the server."""

import mlflow
import pytest
from mlflow.entities import RunStatus

from conftest import unique


@pytest.fixture
def fluent_experiment(server):
    exp = mlflow.set_experiment(unique("fluent"))
    return exp.experiment_id


def test_set_experiment_creates_then_reuses(server, client):
    name = unique("fluent-set")
    first = mlflow.set_experiment(name)
    assert first.name == name
    assert first.lifecycle_stage == "active"
    assert client.get_experiment_by_name(name).experiment_id == first.experiment_id
    again = mlflow.set_experiment(name)
    assert again.experiment_id == first.experiment_id
    by_id = mlflow.set_experiment(experiment_id=first.experiment_id)
    assert by_id.name == name


def test_start_run_uses_active_experiment(fluent_experiment, client):
    with mlflow.start_run() as run:
        assert run.info.experiment_id == fluent_experiment
        assert run.info.status == "RUNNING"
        assert mlflow.active_run().info.run_id == run.info.run_id
    stored = client.get_run(run.info.run_id)
    assert stored.info.experiment_id == fluent_experiment
    assert stored.info.status == "FINISHED"
    assert stored.info.end_time is not None
    assert stored.info.end_time >= stored.info.start_time
    assert mlflow.active_run() is None
    assert mlflow.last_active_run().info.run_id == run.info.run_id


def test_start_run_sets_default_tags(fluent_experiment, client):
    with mlflow.start_run(run_name="tagged-run") as run:
        pass
    tags = client.get_run(run.info.run_id).data.tags
    assert tags["mlflow.runName"] == "tagged-run"
    for key in ("mlflow.user", "mlflow.source.name", "mlflow.source.type"):
        assert key in tags, key


def test_run_name_round_trips(fluent_experiment, client):
    with mlflow.start_run(run_name="my-named-run") as run:
        assert run.info.run_name == "my-named-run"
    stored = client.get_run(run.info.run_id)
    assert stored.info.run_name == "my-named-run"


def test_generated_run_name_matches_tag(fluent_experiment, client):
    with mlflow.start_run() as run:
        pass
    stored = client.get_run(run.info.run_id)
    assert stored.info.run_name
    assert stored.data.tags["mlflow.runName"] == stored.info.run_name


def test_log_params_metrics_tags(fluent_experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"batch_size": 32, "optimizer": "adam", "flag": True})
        mlflow.log_metric("loss", 0.5)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8})
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev", "priority": 1})
    data = client.get_run(run.info.run_id).data
    assert data.params == {"lr": "0.01", "batch_size": "32", "optimizer": "adam", "flag": "True"}
    assert data.metrics == {"loss": 0.5, "acc": 0.9, "f1": 0.8}
    assert data.tags["team"] == "vision"
    assert data.tags["stage"] == "dev"
    assert data.tags["priority"] == "1"


def test_log_metric_steps_build_history(fluent_experiment, client):
    with mlflow.start_run() as run:
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"a": 1.0, "b": 2.0}, step=7)
    history = client.get_metric_history(run.info.run_id, "loss")
    assert sorted((m.step, m.value) for m in history) == [(s, 1.0 / (s + 1)) for s in range(5)]
    assert all(m.key == "loss" and m.timestamp > 0 for m in history)
    run_data = client.get_run(run.info.run_id).data
    assert run_data.metrics["loss"] == pytest.approx(0.2)  # the largest step wins
    [a] = client.get_metric_history(run.info.run_id, "a")
    assert a.step == 7


def test_log_metric_explicit_timestamp(fluent_experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 3.0, step=2, timestamp=1_700_000_000_123)
    [m] = client.get_metric_history(run.info.run_id, "m")
    assert (m.value, m.step, m.timestamp) == (3.0, 2, 1_700_000_000_123)


def test_nested_run_has_parent_tag(fluent_experiment, client):
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child", nested=True) as child:
            assert mlflow.active_run().info.run_id == child.info.run_id
        with mlflow.start_run(run_name="child2", nested=True) as child2:
            pass
        assert mlflow.active_run().info.run_id == parent.info.run_id
    pid = parent.info.run_id
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == pid
    assert client.get_run(child2.info.run_id).data.tags["mlflow.parentRunId"] == pid
    assert "mlflow.parentRunId" not in client.get_run(pid).data.tags
    found = client.search_runs([fluent_experiment], f"tags.mlflow.parentRunId = '{pid}'")
    assert {r.info.run_id for r in found} == {child.info.run_id, child2.info.run_id}
    for rid in (pid, child.info.run_id, child2.info.run_id):
        assert client.get_run(rid).info.status == "FINISHED"


def test_parent_run_id_argument(fluent_experiment, client):
    with mlflow.start_run() as parent:
        pass
    with mlflow.start_run(parent_run_id=parent.info.run_id, nested=True) as child:
        pass
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_second_start_run_without_nested_fails(fluent_experiment):
    with mlflow.start_run():
        with pytest.raises(Exception, match="already active"):
            mlflow.start_run()


@pytest.mark.parametrize("status", ["FAILED", "KILLED", "FINISHED"])
def test_end_run_status(fluent_experiment, client, status):
    run = mlflow.start_run()
    mlflow.end_run(status=status)
    info = client.get_run(run.info.run_id).info
    assert info.status == status
    assert info.end_time is not None


def test_exception_in_with_block_marks_run_failed(fluent_experiment, client):
    with pytest.raises(ZeroDivisionError):
        with mlflow.start_run() as run:
            1 / 0  # noqa: B018
    assert client.get_run(run.info.run_id).info.status == "FAILED"


def test_resume_finished_run(fluent_experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")
    with mlflow.start_run(run_id=run.info.run_id) as resumed:
        assert resumed.info.run_id == run.info.run_id
        assert client.get_run(run.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("after", 1.0)
    stored = client.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params == {"p": "1"}
    assert stored.data.metrics == {"after": 1.0}


def test_start_run_with_tags_and_description(fluent_experiment, client):
    with mlflow.start_run(tags={"k": "v"}, description="hello") as run:
        pass
    tags = client.get_run(run.info.run_id).data.tags
    assert tags["k"] == "v"
    assert tags["mlflow.note.content"] == "hello"


def test_fluent_get_run_and_delete_run(fluent_experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_metric("x", 1.0)
    fetched = mlflow.get_run(run.info.run_id)
    assert fetched.data.metrics == {"x": 1.0}
    mlflow.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"


def test_run_status_enum_names(fluent_experiment, client):
    run = mlflow.start_run()
    mlflow.end_run(status=RunStatus.to_string(RunStatus.KILLED))
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def test_async_logging(fluent_experiment, client):
    with mlflow.start_run() as run:
        ops = [
            mlflow.log_metrics({"x": 1.0, "y": 2.0}, step=3, synchronous=False),
            mlflow.log_params({"p": "v"}, synchronous=False),
            mlflow.set_tags({"t": "1"}, synchronous=False),
        ]
        for step in range(20):
            ops.append(mlflow.log_metric("curve", float(step), step=step, synchronous=False))
        for op in ops:
            op.wait()
    data = client.get_run(run.info.run_id).data
    assert data.metrics == {"x": 1.0, "y": 2.0, "curve": 19.0}
    assert data.params == {"p": "v"}
    assert data.tags["t"] == "1"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "curve")] == list(range(20))


def test_log_metric_with_dataset_logs_the_input(fluent_experiment, client):
    import pandas as pd

    ds = mlflow.data.from_pandas(pd.DataFrame({"a": [1, 2]}), name="metric-ds")
    with mlflow.start_run() as run:
        mlflow.log_metric("acc", 0.9, step=1, dataset=ds)
    stored = client.get_run(run.info.run_id)
    assert stored.data.metrics == {"acc": 0.9}
    assert [i.dataset.name for i in stored.inputs.dataset_inputs] == ["metric-ds"]


def test_fluent_experiment_helpers(server, client):
    name = unique("fluent-helpers")
    exp_id = mlflow.create_experiment(name, tags={"a": "1"})
    mlflow.set_experiment(experiment_id=exp_id)
    mlflow.set_experiment_tag("b", "2")
    mlflow.set_experiment_tags({"c": "3"})
    exp = mlflow.get_experiment_by_name(name)
    assert exp.experiment_id == exp_id
    assert exp.tags == {"a": "1", "b": "2", "c": "3"}
    assert mlflow.get_experiment(exp_id).name == name
    assert [e.experiment_id for e in mlflow.search_experiments(filter_string=f"name = '{name}'")] == [exp_id]
    mlflow.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
