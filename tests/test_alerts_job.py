"""The scheduled job and the demo receiver: records in, notifications out, through run_job."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inferledger.alerts.delivery import deliver_due
from inferledger.alerts.pipeline import evaluate
from inferledger.analytics.alert_records import AlertRecord, write_alert_records
from inferledger.analytics.jobs import REGISTRY, JobContext, run_job
from inferledger.analytics.warehouse import utcnow
from inferledger.config import load_settings
from inferledger.demo.receiver import demo_alert_config, describe, start_demo_receiver
from tests.test_alerts_delivery import fire, settings_for


def test_job_registered_and_delivers_to_demo_receiver(warehouse):
    import inferledger.alerts.job  # noqa: F401  (what the service does through JOB_MODULES)
    from inferledger.plugins import ADMIN_ROUTE_MODULES, JOB_MODULES

    assert "inferledger.alerts.job" in JOB_MODULES and "inferledger.alerts.routes" in ADMIN_ROUTE_MODULES
    job = REGISTRY["alerts.pipeline"]
    assert job.trigger == "interval" and job.trigger_args == {"seconds": 5}
    url, received, stop = start_demo_receiver()
    try:
        settings = load_settings(None, environ={}, overrides=demo_alert_config(url))
        now = utcnow()
        write_alert_records(warehouse, [
            AlertRecord("anomaly", "LatencyAnomaly", {"model": "gpt-4o"}, "ticket", "firing",
                        "p95 latency of gpt-4o is anomalous", now, values={"anomaly_score": 0.98}),
            AlertRecord("unpriced", "UnpricedModel", {"model": "mystery-1"}, "info", "firing",
                        "model mystery-1 has no price", now),
        ])
        out = run_job(job, JobContext(warehouse, settings, now))
        assert "notifications=2" in out and "delivered=2" in out
        assert warehouse.con.execute("SELECT status FROM job_runs WHERE job = 'alerts.pipeline'").fetchall() == [("ok",)]
        lines = sorted(describe(r) for r in received)
        assert lines == [
            "[FIRING  ] info   UnpricedModel: model mystery-1 has no price",
            "[FIRING  ] ticket LatencyAnomaly: p95 latency of gpt-4o is anomalous",
        ]
        # nothing new: the next run sends nothing
        assert "notifications=0" in run_job(job, JobContext(warehouse, settings, now + timedelta(seconds=5)))
        assert len(received) == 2
    finally:
        stop()


def test_pending_then_firing_through_pipeline(warehouse):
    from inferledger.demo.receiver import RecordingReceiver

    rec = RecordingReceiver().start()
    try:
        cfg = settings_for([{"name": "hook", "type": "webhook", "url": rec.url}], pending_seconds=120.0)
        now = utcnow()
        fire(warehouse)
        evaluate(warehouse, cfg, now)
        deliver_due(warehouse, cfg, now)
        assert rec.received == []
        state = warehouse.con.execute("SELECT state FROM alert_state").fetchone()[0]
        assert state == "pending"
        evaluate(warehouse, cfg, now + timedelta(seconds=121))
        deliver_due(warehouse, cfg, now + timedelta(seconds=121))
        assert [r.json()["status"] for r in rec.received] == ["firing"]
    finally:
        rec.stop()


@pytest.mark.slow
def test_flapping_alert_pages_once(warehouse):
    from inferledger.demo.receiver import RecordingReceiver

    rec = RecordingReceiver().start()
    try:
        cfg = settings_for([{"name": "hook", "type": "webhook", "url": rec.url}], flap_threshold=3,
                           flap_window_seconds=3600.0, group_interval=1.0)
        t = utcnow()
        for i in range(8):  # firing, resolved, firing, ... each evaluated and delivered
            fire(warehouse, "firing" if i % 2 == 0 else "resolved")
            t += timedelta(seconds=10)
            evaluate(warehouse, cfg, t)
            deliver_due(warehouse, cfg, t)
        statuses = [r.json()["status"] for r in rec.received]
        # firing, resolved, then the third change starts flapping: held as firing, no more flaps sent
        assert statuses == ["firing", "resolved", "firing"]
        state, flapping = warehouse.con.execute("SELECT state, flapping FROM alert_state").fetchone()
        assert flapping and state == "resolved"
        # quiet for the window: the real state (resolved) goes out, once
        for dt in (3600, 3700):
            evaluate(warehouse, cfg, t + timedelta(seconds=dt))
            deliver_due(warehouse, cfg, t + timedelta(seconds=dt))
        assert [r.json()["status"] for r in rec.received] == ["firing", "resolved", "firing", "resolved"]
    finally:
        rec.stop()
