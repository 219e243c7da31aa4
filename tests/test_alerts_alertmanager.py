"""A real Alertmanager (Debian's prometheus-alertmanager) receives our alerts and forwards them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import timedelta

import httpx
import pytest

from inferledger.alerts.delivery import deliver_due
from inferledger.alerts.notifiers.alertmanager import render
from inferledger.alerts.pipeline import evaluate
from inferledger.analytics.warehouse import utcnow
from inferledger.demo.receiver import RecordingReceiver
from tests.test_alerts_delivery import fire, settings_for

AM = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def alertmanager(tmp_path):
    hook = RecordingReceiver().start()
    port = _free_port()
    cfg = tmp_path / "alertmanager.yml"
    cfg.write_text(f"""
route:
  receiver: team-hook
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: team-hook
    webhook_configs:
      - url: {hook.url}/from-alertmanager
        send_resolved: true
""")
    proc = subprocess.Popen(
        [AM, f"--config.file={cfg}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"alertmanager did not start: {out[-2000:]}")
            time.sleep(0.2)
        yield base, hook
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        hook.stop()


def _wait(pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_alertmanager_receives_and_forwards_firing_and_resolved(warehouse, alertmanager):
    base, hook = alertmanager
    cfg = settings_for([{"name": "am", "type": "alertmanager", "url": base}])
    now = utcnow()
    r = fire(warehouse)
    evaluate(warehouse, cfg, now)
    assert deliver_due(warehouse, cfg, now).delivered == 1

    # Alertmanager holds it (v2 API) with our labels and annotations ...
    alerts = httpx.get(f"{base}/api/v2/alerts").json()
    assert len(alerts) == 1
    held = alerts[0]
    assert held["labels"]["alertname"] == "SloErrorBudgetBurn" and held["labels"]["severity"] == "page"
    assert held["annotations"]["summary"] == r.summary
    assert held["annotations"]["runbook_url"] == "https://runbooks.example/slo-burn"
    assert held["generatorURL"] == "https://grafana.example/d/slo"
    assert held["status"]["state"] == "active"

    # ... and its own route forwards it to the team's webhook
    assert _wait(lambda: any(req.json()["status"] == "firing" for req in hook.received)), "no firing forward"
    fwd = hook.received[0].json()
    assert fwd["receiver"] == "team-hook"
    assert fwd["alerts"][0]["labels"]["slo"] == "chat-availability"

    fire(warehouse, "resolved")
    later = now + timedelta(seconds=61)
    evaluate(warehouse, cfg, later)
    assert deliver_due(warehouse, cfg, later).delivered == 1
    assert _wait(lambda: any(req.json()["status"] == "resolved" for req in hook.received)), "no resolved forward"
    resolved = [req.json() for req in hook.received if req.json()["status"] == "resolved"][0]
    assert resolved["alerts"][0]["labels"]["alertname"] == "SloErrorBudgetBurn"


def test_alertmanager_rejects_nothing_we_render(alertmanager, warehouse):
    """Every alert we render passes Alertmanager's own validation (400 otherwise)."""
    base, _ = alertmanager
    cfg = settings_for([{"name": "am", "type": "alertmanager", "url": base}])
    fire(warehouse, labels={"slo": "x", "model": "gpt-4o", "team": "search"})
    evaluate(warehouse, cfg, utcnow())
    from inferledger.alerts.outbox import due

    note = due(warehouse, utcnow(), 10)[0].notification
    resp = httpx.post(f"{base}/api/v2/alerts", json=render(note))
    assert resp.status_code == 200, resp.text
