"""Grafana annotations through grafana-client, against the fake Grafana of tests/fake_grafana.py."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from inferledger.alerts.delivery import deliver_due
from inferledger.alerts.outbox import list_outbox
from inferledger.alerts.pipeline import evaluate
from inferledger.analytics.warehouse import utcnow
from tests.fake_grafana import FakeGrafana
from tests.test_alerts_delivery import fire, settings_for


@pytest.mark.slow
def test_firing_point_then_resolved_region_idempotent(warehouse):
    with FakeGrafana(tokens={"glsa_editor_token": "Editor"}) as g:
        cfg = settings_for([{"name": "graf", "type": "grafana", "url": g.url, "token": "glsa_editor_token",
                             "dashboard_uid": "inferledger-slo"}])
        now = utcnow()
        r = fire(warehouse)
        evaluate(warehouse, cfg, now)
        assert deliver_due(warehouse, cfg, now).delivered == 1
        fire(warehouse, "resolved")
        evaluate(warehouse, cfg, now + timedelta(seconds=61))
        assert deliver_due(warehouse, cfg, now + timedelta(seconds=61)).delivered == 1
        anns = sorted(g.state.annotations.values(), key=lambda a: a["id"])
        assert len(anns) == 2
        point, region = anns
        assert point["dashboardUID"] == "inferledger-slo"
        assert {"inferledger", "SloErrorBudgetBurn", "severity:page", "status:firing"} <= set(point["tags"])
        assert point["time"] == int(r.starts_at.replace(tzinfo=UTC).timestamp() * 1000)
        assert not point["timeEnd"]
        assert "status:resolved" in region["tags"] and region["timeEnd"] >= region["time"]
        assert r.summary in point["text"] and "burn_rate_1h=15.2" in point["text"]

        # a crash after Grafana took it but before the outbox row was marked: the resend adds nothing
        warehouse.con.execute("UPDATE alert_outbox SET state = 'pending'")
        assert deliver_due(warehouse, cfg, now + timedelta(seconds=120)).delivered == 2
        assert len(g.state.annotations) == 2


def test_bad_token_is_permanent_and_redacted(warehouse):
    with FakeGrafana(tokens={"good": "Editor"}) as g:
        cfg = settings_for([{"name": "graf", "type": "grafana", "url": g.url, "token": "glsa_wrong_secret_token"}])
        now = utcnow()
        fire(warehouse)
        evaluate(warehouse, cfg, now)
        assert deliver_due(warehouse, cfg, now).failed == 1
        err = list_outbox(warehouse)[0]["last_error"]
        assert "HTTP 401" in err and "glsa_wrong_secret_token" not in err
