"""Browser-facing protections the reference server applies by default: DNS-rebinding Host check, cross-origin writes, JSON-only bodies."""

import pytest

from conftest import unique


def test_foreign_host_header_is_refused(api):
    # A DNS-rebinding page reaches a loopback server under its own host name.
    resp = api.get("experiments/get", {"experiment_id": "0"}, headers={"Host": "evil.example"})
    assert resp.status_code == 403, resp.text


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_loopback_host_headers_are_accepted(api, server, host):
    resp = api.get("experiments/get", {"experiment_id": "0"}, headers={"Host": f"{host}:{server.port}"})
    assert resp.status_code == 200, resp.text


def test_cross_origin_write_is_refused(api, client):
    name = unique("cross-origin")
    resp = api.post("experiments/create", {"name": name}, headers={"Origin": "http://evil.example"})
    assert resp.status_code == 403, resp.text
    assert client.get_experiment_by_name(name) is None


def test_same_origin_write_is_accepted(api, server):
    resp = api.post(
        "experiments/create", {"name": unique("same-origin")}, headers={"Origin": f"http://localhost:{server.port}"}
    )
    assert resp.status_code == 200, resp.text


def test_cross_origin_read_gets_no_cors_grant(api):
    resp = api.get("experiments/get", {"experiment_id": "0"}, headers={"Origin": "http://evil.example"})
    assert resp.headers.get("access-control-allow-origin") not in ("*", "http://evil.example")


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}, {}],
    ids=["text-plain", "form", "none"],
)
def test_non_json_bodies_are_refused(api, client, headers):
    # Simple (preflight-free) cross-site POSTs can only carry these content types.
    name = unique("ctype")
    resp = api.session.post(api.url("experiments/create"), data=f'{{"name": "{name}"}}', headers=headers, timeout=60)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert client.get_experiment_by_name(name) is None
