"""Experiment search: filters on name/tags/ids, order_by, view types and page tokens."""

import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from conftest import unique


@pytest.fixture(scope="module")
def corpus(client):
    """Seven experiments sharing a unique prefix; tags grp=even/odd and i=<index>; #6 is deleted."""
    prefix = unique("search-exp")
    ids = [
        client.create_experiment(f"{prefix}-{i}", tags={"grp": "odd" if i % 2 else "even", "i": str(i)})
        for i in range(7)
    ]
    client.delete_experiment(ids[6])
    return {"prefix": prefix, "ids": ids, "index": {e: i for i, e in enumerate(ids)}}


def found(client, corpus, extra="", **kwargs):
    filter_string = f"name LIKE '{corpus['prefix']}-%'" + (f" AND {extra}" if extra else "")
    return [corpus["index"][e.experiment_id] for e in client.search_experiments(filter_string=filter_string, **kwargs)]


def test_default_hides_deleted(client, corpus):
    assert set(found(client, corpus)) == {0, 1, 2, 3, 4, 5}


def test_default_order_is_creation_time_desc(client, corpus):
    exps = client.search_experiments(filter_string=f"name LIKE '{corpus['prefix']}-%'")
    times = [e.creation_time for e in exps]
    assert times == sorted(times, reverse=True)


def test_view_types(client, corpus):
    assert found(client, corpus, view_type=ViewType.DELETED_ONLY) == [6]
    assert set(found(client, corpus, view_type=ViewType.ALL)) == set(range(7))
    assert set(found(client, corpus, view_type=ViewType.ACTIVE_ONLY)) == set(range(6))


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (["name ASC"], [0, 1, 2, 3, 4, 5]),
        (["name DESC"], [5, 4, 3, 2, 1, 0]),
        (["name"], [0, 1, 2, 3, 4, 5]),
        (["attribute.name DESC"], [5, 4, 3, 2, 1, 0]),
    ],
)
def test_order_by_name(client, corpus, order_by, expected):
    assert found(client, corpus, order_by=order_by) == expected


def test_order_by_creation_time_and_id(client, corpus):
    by_time = client.search_experiments(
        filter_string=f"name LIKE '{corpus['prefix']}-%'", order_by=["creation_time ASC", "experiment_id ASC"]
    )
    keys = [(e.creation_time, int(e.experiment_id)) for e in by_time]
    assert keys == sorted(keys)
    by_id = found(client, corpus, order_by=["experiment_id DESC"])
    assert by_id == sorted(by_id, key=lambda i: int(corpus["ids"][i]), reverse=True)


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("tags.grp = 'odd'", {1, 3, 5}),
        ("tags.grp != 'odd'", {0, 2, 4}),
        ("tags.i LIKE '%3%'", {3}),
        ("tags.grp ILIKE 'EVEN'", {0, 2, 4}),
        ("tags.grp = 'odd' AND tags.i = '5'", {5}),
        ("tags.nope = 'x'", set()),
    ],
)
def test_tag_filters(client, corpus, extra, expected):
    assert set(found(client, corpus, extra)) == expected


def test_name_filters(client, corpus):
    prefix = corpus["prefix"]
    assert [corpus["index"][e.experiment_id] for e in client.search_experiments(filter_string=f"name = '{prefix}-2'")] == [2]
    upper = [e.experiment_id for e in client.search_experiments(filter_string=f"name ILIKE '{prefix.upper()}-%'")]
    assert {corpus["index"][e] for e in upper} == {0, 1, 2, 3, 4, 5}
    assert list(client.search_experiments(filter_string=f"name LIKE '{prefix.upper()}-%'")) == []
    assert set(found(client, corpus, f"name != '{prefix}-0'")) == {1, 2, 3, 4, 5}


def test_experiment_id_filter(client, corpus):
    assert found(client, corpus, f"experiment_id = '{corpus['ids'][3]}'") == [3]
    ids = corpus["ids"]
    assert set(found(client, corpus, f"experiment_id IN ('{ids[1]}', '{ids[4]}')")) == {1, 4}


def test_paging(client, corpus):
    seen, token, pages = [], None, 0
    while True:
        page = client.search_experiments(
            filter_string=f"name LIKE '{corpus['prefix']}-%'",
            view_type=ViewType.ALL,
            max_results=3,
            order_by=["name ASC"],
            page_token=token,
        )
        pages += 1
        seen.extend(corpus["index"][e.experiment_id] for e in page)
        token = page.token
        if not token:
            break
        assert pages < 10
    assert seen == [0, 1, 2, 3, 4, 5, 6]
    assert pages == 3


def test_results_carry_tags(client, corpus):
    [exp] = client.search_experiments(filter_string=f"name = '{corpus['prefix']}-4'")
    assert exp.tags == {"grp": "even", "i": "4"}
    assert exp.lifecycle_stage == "active"


def test_default_experiment_is_listed(client):
    names = {e.experiment_id: e.name for e in client.search_experiments(filter_string="name = 'Default'")}
    assert names == {"0": "Default"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_results": 0},
        {"max_results": 50_001},
        {"filter_string": "foo = 'x'"},
        {"filter_string": "name >>> 'x'"},
        {"order_by": ["foo DESC"]},
    ],
)
def test_invalid_search_requests(client, kwargs):
    with pytest.raises(MlflowException) as err:
        client.search_experiments(**kwargs)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
