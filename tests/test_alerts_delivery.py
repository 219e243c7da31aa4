"""End to end: alert records -> pipeline -> outbox -> real HTTP receivers on loopback."""

from __future__ import annotations

import json
import logging
import random
import socket
from datetime import datetime, timedelta

import pytest

from inferledger.alerts.delivery import backoff_seconds, deliver_due
from inferledger.alerts.notifiers.base import parse_retry_after
from inferledger.alerts.notifiers.webhook import SIGNATURE_HEADER, verify
from inferledger.alerts.outbox import enqueue, list_outbox, outbox_depth
from inferledger.alerts.pipeline import evaluate
from inferledger.alerts.silences import create_silence, parse_matcher
from inferledger.analytics.alert_records import AlertRecord, fingerprint, write_alert_records
from inferledger.analytics.warehouse import open_warehouse, utcnow
from inferledger.config import load_settings
from inferledger.demo.receiver import RecordingReceiver, Reply

SECRET = "whsec-test-0123456789"


@pytest.fixture
def receiver():
    rec = RecordingReceiver().start()
    yield rec
    rec.stop()


def settings_for(receivers, routes=None, **alerts):
    overrides = {"alerts.receivers": receivers, "alerts.routes": routes or [{"receiver": receivers[0]["name"]}],
                 "alerts.group_wait": 0.0, "alerts.group_interval": 60.0, **{f"alerts.{k}": v for k, v in alerts.items()}}
    return load_settings(None, environ={}, overrides=overrides).alerts


def fire(wh, status="firing", labels=None, severity="page", **kw):
    labels = labels or {"slo": "chat-availability", "team": "ml"}
    r = AlertRecord("slo", kw.pop("alertname", "SloErrorBudgetBurn"), labels, severity, status,
                    kw.pop("summary", "chat-availability burns its error budget 14x"), utcnow(),
                    description="5m and 1h burn rates above 14.4", values={"burn_rate_1h": 15.2, "budget_left": 0.42},
                    runbook_url="https://runbooks.example/slo-burn", dashboard_url="https://grafana.example/d/slo",
                    ends_at=utcnow() if status == "resolved" else None, **kw)
    write_alert_records(wh, [r])
    return r


def webhook(rec, **kw):
    return {"name": "hook", "type": "webhook", "url": rec.url + "/alerts", "secret": SECRET, **kw}


def test_webhook_firing_then_resolved_signed(warehouse, receiver):
    cfg = settings_for([webhook(receiver)])
    now = utcnow()
    r = fire(warehouse)
    fire(warehouse)  # duplicate record of the same condition
    assert evaluate(warehouse, cfg, now).notifications == 1
    assert deliver_due(warehouse, cfg, now).delivered == 1
    fire(warehouse, "resolved")
    later = now + timedelta(seconds=61)
    assert evaluate(warehouse, cfg, later).notifications == 1
    assert deliver_due(warehouse, cfg, later).delivered == 1
    assert evaluate(warehouse, cfg, later + timedelta(seconds=120)).notifications == 0

    assert len(receiver.received) == 2
    first, second = (req.json() for req in receiver.received)
    for req in receiver.received:
        assert req.path == "/alerts"
        assert verify(SECRET, req.body, req.headers[SIGNATURE_HEADER])
        assert req.headers["Idempotency-Key"] == req.json()["idempotencyKey"]
    assert not verify("wrong", receiver.received[0].body, receiver.received[0].headers[SIGNATURE_HEADER])
    assert first["status"] == "firing" and second["status"] == "resolved"
    a = first["alerts"][0]
    assert a["fingerprint"] == r.fingerprint == fingerprint(r.labels)
    assert a["labels"] == {"alertname": "SloErrorBudgetBurn", "slo": "chat-availability", "team": "ml"}
    assert a["annotations"]["runbook_url"] == "https://runbooks.example/slo-burn"
    assert a["values"] == {"burn_rate_1h": 15.2, "budget_left": 0.42}
    assert second["alerts"][0]["status"] == "resolved" and second["alerts"][0]["endsAt"]
    assert first["idempotencyKey"] != second["idempotencyKey"]
    assert outbox_depth(warehouse)["hook"]["delivered"] == 2


def _blocks_valid(msg: dict) -> None:
    """Block Kit limits from Slack's reference (header 150, section 3000, <= 10 fields, <= 50 blocks)."""
    assert set(msg) == {"text", "blocks"} and isinstance(msg["text"], str) and msg["text"]
    assert 1 <= len(msg["blocks"]) <= 50
    for b in msg["blocks"]:
        assert b["type"] in {"header", "section", "divider", "actions", "context"}
        if b["type"] == "header":
            assert b["text"]["type"] == "plain_text" and len(b["text"]["text"]) <= 150
        if b["type"] == "section":
            assert "text" in b or "fields" in b
            if "text" in b:
                assert b["text"]["type"] in ("mrkdwn", "plain_text") and len(b["text"]["text"]) <= 3000
            for f in b.get("fields", []):
                assert f["type"] in ("mrkdwn", "plain_text") and len(f["text"]) <= 2000
            assert len(b.get("fields", [])) <= 10
        if b["type"] == "actions":
            assert 1 <= len(b["elements"]) <= 25
            ids = [e["action_id"] for e in b["elements"]]
            assert len(ids) == len(set(ids))
            for e in b["elements"]:
                assert e["type"] == "button" and e["text"]["type"] == "plain_text" and len(e["text"]["text"]) <= 75
                assert e["url"].startswith("https://")
        if b["type"] == "context":
            assert 1 <= len(b["elements"]) <= 10


def test_slack_block_kit_trigger_and_resolve_update(warehouse, receiver):
    cfg = settings_for([{"name": "chat", "type": "slack", "url": receiver.url + "/services/T0/B0/XXXXSECRET"}])
    now = utcnow()
    fire(warehouse)
    evaluate(warehouse, cfg, now)
    deliver_due(warehouse, cfg, now)
    fire(warehouse, "resolved")
    evaluate(warehouse, cfg, now + timedelta(seconds=61))
    deliver_due(warehouse, cfg, now + timedelta(seconds=61))
    assert len(receiver.received) == 2
    trig, res = (req.json() for req in receiver.received)
    for msg in (trig, res):
        _blocks_valid(msg)
    assert trig["blocks"][0]["text"]["text"] == "FIRING (1): SloErrorBudgetBurn"
    text = json.dumps(trig)
    assert "page" in text and "burn_rate_1h=15.2" in text
    buttons = [b for b in trig["blocks"] if b["type"] == "actions"][0]["elements"]
    assert {e["url"] for e in buttons} == {"https://runbooks.example/slo-burn", "https://grafana.example/d/slo"}
    assert res["blocks"][0]["text"]["text"] == "RESOLVED: SloErrorBudgetBurn"
    assert "1 resolved" in json.dumps(res)


def test_pagerduty_events_v2_trigger_and_resolve(warehouse, receiver):
    receiver.default = Reply(202, b'{"status":"success","message":"Event processed","dedup_key":"x"}')
    key = "R0123456789abcdef0123456789abcd"
    cfg = settings_for([{"name": "oncall", "type": "pagerduty", "url": receiver.url + "/v2/enqueue", "routing_key": key}])
    now = utcnow()
    r = fire(warehouse)
    fire(warehouse, labels={"slo": "embed-latency", "team": "search"}, severity="ticket")
    evaluate(warehouse, cfg, now)
    assert deliver_due(warehouse, cfg, now).delivered == 1  # one group (alertname), two events
    triggers = [req.json() for req in receiver.received]
    assert len(triggers) == 2
    for ev in triggers:
        assert set(ev) <= {"routing_key", "event_action", "dedup_key", "payload", "images", "links", "client", "client_url"}
        assert ev["routing_key"] == key and ev["event_action"] == "trigger"
        p = ev["payload"]
        assert {"summary", "source", "severity"} <= set(p) and len(p["summary"]) <= 1024
        assert p["severity"] in ("critical", "error", "warning", "info")
        datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00"))
        assert set(p) <= {"summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"}
        assert all(set(link) == {"href", "text"} for link in ev["links"])
    by_key = {ev["dedup_key"]: ev for ev in triggers}
    page = by_key[r.fingerprint]
    assert page["payload"]["severity"] == "critical" and page["payload"]["group"] == "ml"
    assert page["payload"]["custom_details"]["values"]["burn_rate_1h"] == 15.2
    ticket = by_key[fingerprint({"alertname": "SloErrorBudgetBurn", "slo": "embed-latency", "team": "search"})]
    assert ticket["payload"]["severity"] == "warning"

    fire(warehouse, "resolved")
    evaluate(warehouse, cfg, now + timedelta(seconds=61))
    deliver_due(warehouse, cfg, now + timedelta(seconds=61))
    sent = [req.json() for req in receiver.received[2:]]
    # the group is re-sent with the other alert still firing (PagerDuty dedups on dedup_key) and r resolved
    resolve = [ev for ev in sent if ev["event_action"] == "resolve"]
    assert resolve == [{"routing_key": key, "event_action": "resolve", "dedup_key": r.fingerprint}]


def test_receiver_down_then_up_connection_refused(warehouse):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = settings_for([{"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{port}/a"}],
                       retry_base_seconds=2.0, retry_max_seconds=60.0, retry_jitter=0.2)
    now = utcnow()
    fire(warehouse)
    evaluate(warehouse, cfg, now)
    delays = []
    t = now
    for _ in range(4):  # down: four failed attempts, backing off
        res = deliver_due(warehouse, cfg, t)
        assert res.retrying == 1 and res.delivered == 0
        row = list_outbox(warehouse)[0]
        delays.append((row["next_attempt_at"] - t).total_seconds())
        assert deliver_due(warehouse, cfg, row["next_attempt_at"] - timedelta(seconds=0.5)).retrying == 0
        t = row["next_attempt_at"]
    for i, d in enumerate(delays):
        assert 2.0 * 2 ** i <= d <= 2.0 * 2 ** i * 1.2 + 1e-6
    assert "ConnectError" in row["last_error"] and row["attempts"] == 4
    rec = RecordingReceiver(port=port).start()  # up again
    try:
        assert deliver_due(warehouse, cfg, t).delivered == 1
        assert deliver_due(warehouse, cfg, t + timedelta(hours=1)).delivered == 0
        assert len(rec.received) == 1
    finally:
        rec.stop()
    assert outbox_depth(warehouse)["hook"] == {"pending": 0, "delivered": 1, "failed": 0, "oldest_pending_seconds": 0.0}


def test_5xx_then_ok_same_idempotency_key(warehouse, receiver):
    receiver.script = [Reply(503, b"busy"), Reply(500, b"oops")]
    cfg = settings_for([webhook(receiver)])
    now = utcnow()
    fire(warehouse)
    evaluate(warehouse, cfg, now)
    t = now
    for _ in range(3):
        deliver_due(warehouse, cfg, t)
        t += timedelta(minutes=10)
    assert len(receiver.refused) == 2 and len(receiver.received) == 1
    keys = {r.headers["Idempotency-Key"] for r in receiver.refused + receiver.received}
    assert len(keys) == 1


@pytest.mark.slow
def test_restart_with_undelivered_notifications(tmp_path):
    path = tmp_path / "wh.duckdb"
    wh = open_warehouse(path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = settings_for([{"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{port}/a"}])
    now = utcnow()
    fire(wh)
    fire(wh, labels={"slo": "other"}, alertname="Other")
    evaluate(wh, cfg, now)
    assert deliver_due(wh, cfg, now).retrying == 1  # receiver down
    wh.close()  # "service restart"

    rec = RecordingReceiver(port=port).start()
    try:
        wh = open_warehouse(path)
        later = now + timedelta(minutes=5)
        assert evaluate(wh, cfg, later).notifications == 0  # the watermark survived: nothing re-enqueued
        assert deliver_due(wh, cfg, later).delivered == 2
        wh.close()
        wh = open_warehouse(path)  # and once more: nothing is sent twice
        assert evaluate(wh, cfg, later + timedelta(minutes=5)).notifications == 0
        assert deliver_due(wh, cfg, later + timedelta(minutes=5)).delivered == 0
        wh.close()
    finally:
        rec.stop()
    names = sorted(r.json()["alerts"][0]["labels"]["alertname"] for r in rec.received)
    assert names == ["Other", "SloErrorBudgetBurn"]


def test_429_retry_after_is_honoured(warehouse, receiver):
    receiver.script = [Reply(429, b'{"error":"rate limited"}', {"Retry-After": "30"})]
    cfg = settings_for([webhook(receiver)], retry_base_seconds=1.0)
    now = utcnow()
    fire(warehouse)
    evaluate(warehouse, cfg, now)
    res = deliver_due(warehouse, cfg, now)
    assert res.retrying == 1
    row = list_outbox(warehouse)[0]
    assert row["next_attempt_at"] == now + timedelta(seconds=30) and row["last_status_code"] == 429
    assert deliver_due(warehouse, cfg, now + timedelta(seconds=29)).delivered == 0
    assert len(receiver.refused) == 1 and not receiver.received
    assert deliver_due(warehouse, cfg, now + timedelta(seconds=30)).delivered == 1
    assert len(receiver.received) == 1


def test_retry_after_http_date_and_backoff_cap():
    now = datetime(2026, 1, 1, 12, 0, 0).astimezone()
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:45 GMT", datetime(2026, 1, 1, 12, 0, 0, tzinfo=now.tzinfo.utc)) == 45
    assert parse_retry_after("7") == 7 and parse_retry_after("junk") is None and parse_retry_after(None) is None
    cfg = settings_for([{"name": "x", "type": "webhook", "url": "http://127.0.0.1:9"}], retry_max_seconds=60.0)
    rng = random.Random(1)
    assert all(60.0 <= backoff_seconds(20, cfg, rng) <= 72.0 for _ in range(50))


def test_permanent_4xx_fails_and_is_visible(warehouse, receiver):
    receiver.default = Reply(400, b'{"error":"bad payload"}')
    cfg = settings_for([webhook(receiver)])
    now = utcnow()
    fire(warehouse)
    evaluate(warehouse, cfg, now)
    assert deliver_due(warehouse, cfg, now).failed == 1
    assert deliver_due(warehouse, cfg, now + timedelta(hours=1)).failed == 0  # not retried
    assert outbox_depth(warehouse)["hook"]["failed"] == 1
    assert "HTTP 400" in list_outbox(warehouse)[0]["last_error"]


def test_resolve_never_overtakes_its_trigger(warehouse, receiver):
    receiver.script = [Reply(503, b"")] * 3
    cfg = settings_for([webhook(receiver)], retry_base_seconds=100.0, retry_jitter=0.0)
    now = utcnow()
    fire(warehouse)
    evaluate(warehouse, cfg, now)
    deliver_due(warehouse, cfg, now)  # trigger fails, retry at +100s
    fire(warehouse, "resolved")
    evaluate(warehouse, cfg, now + timedelta(seconds=61))
    assert deliver_due(warehouse, cfg, now + timedelta(seconds=61)).delivered == 0  # resolve waits
    t = now + timedelta(seconds=100)
    while len(receiver.received) < 2 and t < now + timedelta(hours=2):
        deliver_due(warehouse, cfg, t)
        t += timedelta(seconds=200)
    assert [r.json()["status"] for r in receiver.received] == ["firing", "resolved"]


def test_silenced_alert_is_not_sent(warehouse, receiver):
    cfg = settings_for([webhook(receiver)])
    create_silence(warehouse, [parse_matcher("team=ml")], duration=timedelta(hours=1), created_by="t", comment="c")
    now = utcnow()
    fire(warehouse)  # team=ml: muted
    fire(warehouse, labels={"slo": "x", "team": "search"}, alertname="Other")
    evaluate(warehouse, cfg, now)
    deliver_due(warehouse, cfg, now)
    assert [r.json()["alerts"][0]["labels"]["team"] for r in receiver.received] == ["search"]


def test_routes_split_by_severity_and_unrouted_counted(warehouse):
    a, b = RecordingReceiver().start(), RecordingReceiver().start()
    try:
        cfg = settings_for(
            [{"name": "pages", "type": "webhook", "url": a.url}, {"name": "tickets", "type": "webhook", "url": b.url}],
            routes=[{"receiver": "pages", "match": {"severity": "page"}},
                    {"receiver": "tickets", "match": {"severity": "ticket"}}],
        )
        now = utcnow()
        fire(warehouse, severity="page")
        fire(warehouse, labels={"slo": "y"}, severity="ticket", alertname="T")
        fire(warehouse, labels={"slo": "z"}, severity="info", alertname="I")
        assert evaluate(warehouse, cfg, now).unrouted == 1
        deliver_due(warehouse, cfg, now)
        assert [r.json()["alerts"][0]["severity"] for r in a.received] == ["page"]
        assert [r.json()["alerts"][0]["severity"] for r in b.received] == ["ticket"]
    finally:
        a.stop()
        b.stop()


@pytest.mark.slow
def test_tick_is_atomic_and_enqueue_idempotent(warehouse, receiver, monkeypatch):
    cfg = settings_for([webhook(receiver)])
    now = utcnow()
    fire(warehouse)
    import inferledger.alerts.pipeline as pipeline

    def boom(*a, **k):
        raise RuntimeError("crash mid-tick")

    monkeypatch.setattr(pipeline, "enqueue", boom)
    with pytest.raises(RuntimeError):
        evaluate(warehouse, cfg, now)
    monkeypatch.undo()
    assert warehouse.con.execute("SELECT count(*) FROM alert_state").fetchone()[0] == 0  # rolled back
    assert evaluate(warehouse, cfg, now).notifications == 1  # the same records, processed once
    row = warehouse.con.execute("SELECT payload FROM alert_outbox").fetchone()
    from inferledger.alerts.model import Notification

    note = Notification.from_json(json.loads(row[0]))
    assert enqueue(warehouse, [note, note], now) == 0  # same idempotency key: stored once
    deliver_due(warehouse, cfg, now)
    assert len(receiver.received) == 1


def test_secrets_never_in_errors_or_logs(warehouse, receiver, caplog):
    slack_path = "/services/T0SECRET/B0SECRET/xoxSECRETSECRETSECRET"
    pd_key = "PDKEY0123456789abcdef0123456789"
    # the receiver echoes what it got, as some proxies do: body with the routing key and URL
    receiver.default = Reply(500, f"bad key {pd_key} for {receiver.url}{slack_path}".encode())
    cfg = settings_for(
        [{"name": "chat", "type": "slack", "url": receiver.url + slack_path},
         {"name": "oncall", "type": "pagerduty", "url": receiver.url + "/v2/enqueue", "routing_key": pd_key},
         {"name": "gone", "type": "slack", "url": "http://127.0.0.1:9/services/T1/B1/gonegoneSECRET"}],
        routes=[{"receiver": "chat", "continue_matching": True}, {"receiver": "oncall", "continue_matching": True},
                {"receiver": "gone"}],
    )
    now = utcnow()
    fire(warehouse)
    evaluate(warehouse, cfg, now)
    with caplog.at_level(logging.DEBUG):
        res = deliver_due(warehouse, cfg, now)
    assert res.retrying == 3
    errors = [r["last_error"] for r in list_outbox(warehouse)]
    assert all(errors)
    text = "\n".join(errors) + "\n" + caplog.text
    for secret in ("T0SECRET", "xoxSECRETSECRETSECRET", pd_key, "gonegoneSECRET", slack_path):
        assert secret not in text
    assert f"{receiver.url}/***" in text and "HTTP 500" in text


def test_max_attempts_gives_up_visibly(warehouse, receiver):
    receiver.default = Reply(503, b"")
    cfg = settings_for([webhook(receiver)], max_attempts=2, retry_jitter=0.0)
    now = utcnow()
    fire(warehouse)
    evaluate(warehouse, cfg, now)
    assert deliver_due(warehouse, cfg, now).retrying == 1
    assert deliver_due(warehouse, cfg, now + timedelta(seconds=2)).failed == 1
    row = list_outbox(warehouse)[0]
    assert row["state"] == "failed" and row["attempts"] == 2 and row["last_status_code"] == 503


def test_prune_forgets_old_delivered_and_resolved(warehouse, receiver):
    from inferledger.alerts.pipeline import prune

    cfg = settings_for([webhook(receiver)], retention_days=1)
    now = utcnow()
    fire(warehouse)
    evaluate(warehouse, cfg, now)
    deliver_due(warehouse, cfg, now)
    prune(warehouse, cfg, now + timedelta(hours=1))  # too recent: kept
    assert warehouse.con.execute("SELECT count(*) FROM alert_outbox").fetchone()[0] == 1
    prune(warehouse, cfg, now + timedelta(days=2))  # old delivered row goes; the firing alert stays
    assert warehouse.con.execute("SELECT count(*) FROM alert_outbox").fetchone()[0] == 0
    assert warehouse.con.execute("SELECT count(*) FROM alert_state").fetchone()[0] == 1
    fire(warehouse, "resolved")
    evaluate(warehouse, cfg, now + timedelta(seconds=61))
    deliver_due(warehouse, cfg, now + timedelta(seconds=61))
    assert [r.json()["status"] for r in receiver.received] == ["firing", "resolved"]
    prune(warehouse, cfg, now + timedelta(days=2))
    assert warehouse.con.execute("SELECT count(*) FROM alert_outbox").fetchone()[0] == 0
    assert warehouse.con.execute("SELECT count(*) FROM alert_state").fetchone()[0] == 0


def test_record_committed_out_of_id_order_is_not_skipped(warehouse, receiver):
    """Ids come from a sequence: id 2 may become visible after id 3 (concurrent writers)."""
    from inferledger.alerts import store

    cfg = settings_for([webhook(receiver)], group_by=["..."])
    now = utcnow()
    fire(warehouse, labels={"slo": "one"})  # id 1
    warehouse.con.execute("SELECT nextval('alert_records_id')")  # id 2 taken by a slow writer
    fire(warehouse, labels={"slo": "three"})  # id 3
    evaluate(warehouse, cfg, now)
    assert store.read_cursor(warehouse) == 1  # waits below the gap
    late = AlertRecord("slo", "SloErrorBudgetBurn", {"slo": "two"}, "page", "firing", "late", utcnow())
    warehouse.con.execute(
        "INSERT INTO alert_records (id, source, alertname, fingerprint, labels, severity, status, summary,"
        " starts_at, created_at) VALUES (2, 'slo', ?, ?, ?, 'page', 'firing', 'late', ?, ?)",
        [late.alertname, late.fingerprint, json.dumps(late.labels), late.starts_at, utcnow()])
    assert evaluate(warehouse, cfg, now + timedelta(seconds=1)).records == 1  # only the late one
    assert store.read_cursor(warehouse) == 3
    deliver_due(warehouse, cfg, now + timedelta(seconds=1))
    slos = sorted(r.json()["alerts"][0]["labels"]["slo"] for r in receiver.received)
    assert slos == ["one", "three", "two"]  # each exactly once


def test_abandoned_record_id_closes_after_grace(warehouse, receiver):
    from inferledger.alerts import store
    from inferledger.alerts.pipeline import GAP_GRACE_SECONDS

    cfg = settings_for([webhook(receiver)])
    now = utcnow()
    fire(warehouse)
    warehouse.con.execute("SELECT nextval('alert_records_id')")  # a rolled-back insert: never arrives
    fire(warehouse, labels={"slo": "x"})
    evaluate(warehouse, cfg, now)
    assert store.read_cursor(warehouse) == 1
    assert evaluate(warehouse, cfg, now + timedelta(seconds=GAP_GRACE_SECONDS + 1)).records == 0
    assert store.read_cursor(warehouse) == 3
    assert warehouse.con.execute("SELECT count(*) FROM alert_seen_records").fetchone()[0] == 0


@pytest.mark.slow
def test_overlapping_delivery_passes_send_once(warehouse):
    """The scheduled job and an admin-triggered run may overlap: a row goes out once."""
    import threading
    import time

    slow = RecordingReceiver(on_request=lambda r: time.sleep(0.5)).start()
    try:
        cfg = settings_for([{"name": "hook", "type": "webhook", "url": slow.url}])
        now = utcnow()
        fire(warehouse)
        evaluate(warehouse, cfg, now)
        results = []
        threads = [threading.Thread(target=lambda: results.append(deliver_due(warehouse, cfg, now))) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.delivered for r in results) == 1 and len(slow.received) == 1
    finally:
        slow.stop()
