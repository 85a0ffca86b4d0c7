"""The model registry with the official client: registering with `log_model(...,
registered_model_name=...)`, versions, aliases, loading `models:/name@alias` and `models:/name/1`,
tags and descriptions, search, rename, delete, stages, and sources the server must refuse."""

from __future__ import annotations

import concurrent.futures

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

from conftest import unique


@pytest.fixture
def fluent(experiment_id):
    """The fluent API (already pointed at the server by conftest) inside a fresh experiment."""
    mlflow.set_experiment(experiment_id=experiment_id)


def _fitted_classifier(flip: bool = False):
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    if flip:
        y = 1 - y
    return LogisticRegression().fit(x, y), x


def _register_twice(name: str):
    """Logs two classifiers (the second predicts the opposite) registered under `name`."""
    infos = []
    for flip in (False, True):
        model, x = _fitted_classifier(flip)
        with mlflow.start_run() as run:
            info = mlflow.sklearn.log_model(model, name="clf", registered_model_name=name, input_example=x[:2])
        infos.append((info, run.info.run_id, model.predict(x), x))
    return infos


def test_log_model_with_registered_model_name_twice_gives_versions_1_and_2(fluent, client):
    name = unique("reg")
    infos = _register_twice(name)
    assert [str(info.registered_model_version) for info, *_ in infos] == ["1", "2"]
    versions = client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])
    assert [v.version for v in versions] == ["1", "2"]
    for v, (info, run_id, _, _) in zip(versions, infos):
        assert v.run_id == run_id
        assert v.source == f"models:/{info.model_id}"
        assert v.current_stage == "None"
        assert v.status == "READY"
    model = client.get_registered_model(name)
    assert model.name == name
    assert [v.version for v in model.latest_versions] == ["2"]
    # The logged model lists the version made from it.
    logged = client.get_logged_model(infos[0][0].model_id)
    assert '"version": 1' in logged.tags["mlflow.modelVersions"]
    assert client.get_model_version_download_uri(name, "1") == logged.artifact_location


def test_aliases_and_loading_by_alias_and_version(fluent, client):
    name = unique("alias")
    (_, _, expected_1, x), (_, _, expected_2, _) = _register_twice(name)
    client.set_registered_model_alias(name, "champion", "2")
    mv = client.get_model_version_by_alias(name, "champion")
    assert mv.version == "2"
    assert mv.aliases == ["champion"]
    assert client.get_registered_model(name).aliases == {"champion": "2"}

    by_alias = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(by_alias.predict(x), expected_2)
    by_version = mlflow.pyfunc.load_model(f"models:/{name}/1")
    np.testing.assert_array_equal(by_version.predict(x), expected_1)
    latest = mlflow.sklearn.load_model(f"models:/{name}/latest")
    np.testing.assert_array_equal(latest.predict(x), expected_2)

    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlflowException, match="alias champion not found"):
        client.get_model_version_by_alias(name, "champion")
    with pytest.raises(MlflowException, match="reserved"):
        client.set_registered_model_alias(name, "v1", "1")


def test_tags_and_descriptions(fluent, client):
    name = unique("tags")
    created = client.create_registered_model(name, tags={"team": "ml", "tier": "1"}, description="first")
    assert created.tags == {"team": "ml", "tier": "1"}
    assert created.description == "first"
    client.update_registered_model(name, description="second")
    client.set_registered_model_tag(name, "team", "platform")
    client.delete_registered_model_tag(name, "tier")
    got = client.get_registered_model(name)
    assert got.description == "second"
    assert got.tags == {"team": "platform"}

    model, x = _fitted_classifier()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="clf", input_example=x[:2])
    mv = client.create_model_version(
        name, f"models:/{info.model_id}", tags={"stage": "candidate"}, description="v1 desc", model_id=info.model_id
    )
    assert mv.version == "1"
    assert mv.tags == {"stage": "candidate"}
    assert mv.description == "v1 desc"
    client.update_model_version(name, "1", description="updated")
    client.set_model_version_tag(name, "1", "validated", "true")
    client.delete_model_version_tag(name, "1", "stage")
    got = client.get_model_version(name, "1")
    assert got.description == "updated"
    assert got.tags == {"validated": "true"}


def test_search_registered_models_and_versions(fluent, client):
    prefix = unique("search")
    names = [f"{prefix}-{suffix}" for suffix in ("a", "b", "c")]
    for i, name in enumerate(names):
        client.create_registered_model(name, tags={"idx": str(i), "even": str(i % 2 == 0)})

    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", order_by=["name DESC"])
    assert [m.name for m in found] == list(reversed(names))
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%' AND tags.even = 'True'")
    assert [m.name for m in found] == [names[0], names[2]]
    found = client.search_registered_models(filter_string=f"name IN ('{names[1]}', 'nope')")
    assert [m.name for m in found] == [names[1]]

    page = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_registered_models(
        filter_string=f"name LIKE '{prefix}-%'", max_results=2, page_token=page.token
    )
    assert [m.name for m in rest] == [names[2]] and not rest.token
    via_fluent = mlflow.search_registered_models(filter_string=f"name ILIKE '{prefix.upper()}-%'")
    assert sorted(m.name for m in via_fluent) == names

    model, x = _fitted_classifier()
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="clf", input_example=x[:2])
    for name in names[:2]:
        client.create_model_version(name, f"models:/{info.model_id}", model_id=info.model_id, tags={"k": name[-1]})
    versions = client.search_model_versions(f"run_id = '{run.info.run_id}'", order_by=["name ASC"])
    assert [(v.name, v.version) for v in versions] == [(names[0], "1"), (names[1], "1")]
    versions = client.search_model_versions(f"name IN ('{names[0]}', '{names[2]}')")
    assert [v.name for v in versions] == [names[0]]
    versions = client.search_model_versions(f"tags.k = 'b' AND name LIKE '{prefix}%'")
    assert [v.name for v in versions] == [names[1]]
    assert client.search_model_versions(f"name = '{names[0]}' AND version_number > 1") == []
    with pytest.raises(MlflowException, match="(?i)invalid"):
        client.search_model_versions("metrics.acc > 1")
    with pytest.raises(MlflowException, match="(?i)invalid"):
        client.search_registered_models(order_by=["creation_timestamp"])


def test_rename_and_delete(fluent, client):
    name = unique("rename")
    new_name = unique("renamed")
    (_, _, expected_1, x), _ = _register_twice(name)
    client.set_registered_model_alias(name, "prod", "1")
    client.rename_registered_model(name, new_name)
    assert client.get_registered_model(new_name).name == new_name
    assert client.get_model_version(new_name, "2").name == new_name
    assert client.get_model_version_by_alias(new_name, "prod").version == "1"
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(f"models:/{new_name}@prod").predict(x), expected_1)
    with pytest.raises(MlflowException) as err:
        client.get_registered_model(name)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client.delete_model_version(new_name, "2")
    with pytest.raises(MlflowException) as err:
        client.get_model_version(new_name, "2")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # Numbers are not reused.
    model, x = _fitted_classifier()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="clf", registered_model_name=new_name, input_example=x[:2])
    assert str(info.registered_model_version) == "3"

    client.delete_registered_model(new_name)
    with pytest.raises(MlflowException) as err:
        client.get_registered_model(new_name)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_model_versions(f"name = '{new_name}'") == []


def test_transition_stage_and_latest_versions(fluent, client):
    name = unique("stages")
    (_, _, expected_1, x), (_, _, expected_2, _) = _register_twice(name)
    mv = client.transition_model_version_stage(name, "1", "Production")
    assert mv.current_stage == "Production"
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(f"models:/{name}/Production").predict(x), expected_1)
    mv = client.transition_model_version_stage(name, "2", "production", archive_existing_versions=True)
    assert mv.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    latest = client.get_latest_versions(name, stages=["Production"])
    assert [v.version for v in latest] == ["2"]
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(f"models:/{name}/Production").predict(x), expected_2)
    stages = {v.current_stage: v.version for v in client.get_latest_versions(name)}
    assert stages == {"Archived": "1", "Production": "2"}
    with pytest.raises(MlflowException, match="Invalid Model Version stage"):
        client.transition_model_version_stage(name, "1", "Bogus")


def test_register_model_from_a_run_uri(fluent, client):
    name = unique("runs-uri")
    model, x = _fitted_classifier()
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name="clf", input_example=x[:2])
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/clf", name)
    assert mv.version == "1"
    assert mv.run_id == run.info.run_id
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/1")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_versions_created_concurrently_get_distinct_numbers(client):
    name = unique("concurrent")
    client.create_registered_model(name)
    run = client.create_run(client.create_experiment(unique("conc-exp")))
    source = f"runs:/{run.info.run_id}/model"

    def create(_):
        return client.create_model_version(name, source, run_id=run.info.run_id).version

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        numbers = sorted(int(v) for v in pool.map(create, range(16)))
    assert numbers == list(range(1, 17))


@pytest.mark.parametrize(
    "source",
    [
        "file:///etc/passwd",  # CVE-2023-1177
        "/etc/passwd",
        "//proc/self/root/etc/passwd",  # CVE-2023-6977
        "mlflow-artifacts:/../../../etc",  # CVE-2023-2356
        "mlflow-artifacts:/x/%2e%2e/%2e%2e/etc",
        "http://127.0.0.1:1/api/2.0/mlflow-artifacts/artifacts/x",
    ],
)
def test_sources_outside_the_artifact_store_are_refused(client, run_id, source):
    name = unique("bad-source")
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as err:
        client.create_model_version(name, source, run_id=run_id)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Invalid model version source" in err.value.message or "scheme" in err.value.message
    assert client.search_model_versions(f"name = '{name}'") == []
