"""Error codes surface through the client as `MlflowException.error_code` exactly as the reference server sends them."""

import pytest
from mlflow.exceptions import MlflowException, RestException

from conftest import unique

MISSING_RUN = "0123456789abcdef0123456789abcdef"


def expect(code, fn, *args, **kwargs):
    with pytest.raises(MlflowException) as err:
        fn(*args, **kwargs)
    assert err.value.error_code == code, str(err.value)
    return err.value


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_run(MISSING_RUN),
        lambda c: c.log_param(MISSING_RUN, "p", "1"),
        lambda c: c.log_metric(MISSING_RUN, "m", 1.0),
        lambda c: c.set_tag(MISSING_RUN, "t", "1"),
        lambda c: c.update_run(MISSING_RUN, status="FINISHED"),
        lambda c: c.delete_run(MISSING_RUN),
        lambda c: c.restore_run(MISSING_RUN),
        lambda c: c.get_experiment("999999999"),
        lambda c: c.delete_experiment("999999999"),
        lambda c: c.restore_experiment("999999999"),
        lambda c: c.rename_experiment("999999999", unique("x")),
        lambda c: c.set_experiment_tag("999999999", "k", "v"),
        lambda c: c.create_run("999999999"),
    ],
    ids=[
        "get_run", "log_param", "log_metric", "set_tag", "update_run", "delete_run", "restore_run",
        "get_experiment", "delete_experiment", "restore_experiment", "rename_experiment",
        "set_experiment_tag", "create_run",
    ],
)
def test_resource_does_not_exist(client, call):
    err = expect("RESOURCE_DOES_NOT_EXIST", call, client)
    assert isinstance(err, RestException)
    assert err.get_http_status_code() == 404


def test_resource_already_exists(client):
    name = unique("dup")
    client.create_experiment(name)
    err = expect("RESOURCE_ALREADY_EXISTS", client.create_experiment, name)
    assert err.get_http_status_code() == 400


def test_invalid_parameter_value_param_change(client, run_id):
    client.log_param(run_id, "k", "a")
    err = expect("INVALID_PARAMETER_VALUE", client.log_param, run_id, "k", "b")
    assert err.get_http_status_code() == 400


def test_invalid_parameter_value_bad_filter(client, experiment_id):
    expect("INVALID_PARAMETER_VALUE", client.search_runs, [experiment_id], "this is not a filter")


def test_invalid_parameter_value_deleted_run(client, run_id):
    client.delete_run(run_id)
    expect("INVALID_PARAMETER_VALUE", client.log_metric, run_id, "m", 1.0)


def test_error_message_is_human_readable(client):
    err = expect("RESOURCE_DOES_NOT_EXIST", client.get_run, MISSING_RUN)
    assert MISSING_RUN in err.message
