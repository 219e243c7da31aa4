"""The admin API refuses what a cross-site page, a DNS-rebinding page or a stranger on the network sends."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient

from inferledger.admin import create_admin_app
from inferledger.app import admin_headers
from inferledger.config import load_settings

JSON = {"Content-Type": "application/json"}


def _client(warehouse, base_url="http://127.0.0.1:9464", **overrides) -> TestClient:
    settings = load_settings(None, environ={}, overrides={"server.admin": "127.0.0.1:9464", **overrides})
    state = SimpleNamespace(warehouse=warehouse, settings=settings, writer=None)
    return TestClient(create_admin_app(state, lambda: True), base_url=base_url)


def test_cross_site_text_plain_post_is_refused(warehouse):
    c = _client(warehouse)
    # What a web page can send without a preflight: a "simple" request with text/plain.
    r = c.post("/admin/jobs/run", content=b"{}", headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert r.status_code == 403 and "cross-origin" in r.json()["error"]
    r = c.post("/admin/jobs/run", content=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = c.post("/admin/alerts/silences", content=b"x")  # no Content-Type at all
    assert r.status_code == 415
    assert c.post("/admin/jobs/run?name=no.such.job", json={}).status_code == 404  # the same request, as the CLI sends it


def test_dns_rebinding_host_is_refused(warehouse):
    c = _client(warehouse, base_url="http://evil.example:9464")
    assert c.get("/admin/jobs").status_code == 403
    assert _client(warehouse, base_url="http://localhost:9464").get("/admin/jobs").status_code == 200


def test_admin_tokens_required_when_auth_is_on(warehouse):
    c = _client(warehouse, **{"auth.tokens": {"t1": "acme"}, "auth.admin_tokens": ["adm-secret"]})
    assert c.get("/admin/jobs").status_code == 401
    assert c.get("/admin/jobs", headers={"Authorization": "Bearer t1"}).status_code == 401  # a tenant token is not admin
    assert c.get("/admin/jobs", headers={"Authorization": "Bearer adm-secret"}).status_code == 200
    assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200  # documented as open


def test_listening_beyond_loopback_without_admin_tokens_refuses_the_api(warehouse):
    c = _client(warehouse, base_url="http://10.0.0.5:9464", **{"server.admin": "0.0.0.0:9464"})
    r = c.get("/admin/jobs")
    assert r.status_code == 401 and "admin_tokens" in r.json()["error"]
    assert c.get("/readyz").status_code == 200


@pytest.mark.parametrize("env", [True, False])
def test_cli_sends_the_admin_token(monkeypatch, env):
    settings = load_settings(None, environ={}, overrides={"auth.admin_tokens": ["from-config"]})
    if env:
        monkeypatch.setenv("INFERLEDGER_ADMIN_TOKEN", "from-env")
    else:
        monkeypatch.delenv("INFERLEDGER_ADMIN_TOKEN", raising=False)
    assert admin_headers(settings) == {"Authorization": f"Bearer {'from-env' if env else 'from-config'}"}
