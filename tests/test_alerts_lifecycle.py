"""Alert lifecycle, grouping timing, routing tree, silences and settings (pure parts + warehouse)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from inferledger.alerts.grouping import flush, new_group
from inferledger.alerts.lifecycle import AlertState, LifecycleTiming, Record, apply_record, tick
from inferledger.alerts.routing import build_routes, group_labels, match_routes
from inferledger.alerts.silences import Matcher, create_silence, expire_silence, list_silences, parse_duration, parse_matcher
from inferledger.analytics.alert_records import fingerprint
from inferledger.config import ConfigError, load_settings

T0 = datetime(2026, 1, 1, 12, 0, 0)


def rec(i: int, status: str, at: datetime, labels: dict | None = None, **kw) -> Record:
    labels = {"alertname": "HighBurn", **(labels or {"slo": "chat"})}
    return Record(id=i, fingerprint=fingerprint(labels), alertname="HighBurn", source="slo", labels=labels,
                  severity=kw.pop("severity", "page"), status=status, summary=kw.pop("summary", "burning"),
                  starts_at=at, created_at=at, **kw)


def fold(records, timing) -> AlertState | None:
    st = None
    for r in records:
        st = apply_record(st, r, timing)
    return st


def test_firing_then_duplicates_then_resolved():
    timing = LifecycleTiming()
    st = fold([rec(1, "firing", T0), rec(2, "firing", T0 + timedelta(minutes=1), summary="still burning")], timing)
    assert st.state == "firing" and st.fired and st.starts_at == T0
    assert st.summary == "still burning"  # a duplicate refreshes content
    assert st.transitions == [T0.timestamp()]  # ... but is not a new transition
    st = apply_record(st, rec(3, "resolved", T0 + timedelta(minutes=5)), timing)
    assert st.state == "resolved" and st.ends_at == T0 + timedelta(minutes=5)
    again = apply_record(st, rec(4, "resolved", T0 + timedelta(minutes=6)), timing)
    assert again.state == "resolved" and again.ends_at == st.ends_at  # duplicate resolve changes nothing


def test_resolve_of_unknown_alert_is_ignored():
    assert apply_record(None, rec(1, "resolved", T0), LifecycleTiming()) is None


def test_pending_fires_after_pending_seconds_and_quiet_resolve():
    timing = LifecycleTiming(pending_seconds=120)
    st = apply_record(None, rec(1, "firing", T0), timing)
    assert st.state == "pending" and not st.fired
    assert tick(st, T0 + timedelta(seconds=119), timing).state == "pending"
    fired = tick(st, T0 + timedelta(seconds=120), timing)
    assert fired.state == "firing" and fired.fired
    # a pending alert that clears never fired: it will not be announced
    quiet = apply_record(st, rec(2, "resolved", T0 + timedelta(seconds=60)), timing)
    assert quiet.state == "resolved" and not quiet.fired and quiet.to_alert().status == "resolved"


def test_flapping_holds_visible_state_until_quiet():
    timing = LifecycleTiming(flap_threshold=4, flap_window_seconds=600)
    records, t = [], T0
    for i, status in enumerate(["firing", "resolved", "firing", "resolved", "firing", "resolved"]):
        records.append(rec(i + 1, status, t))
        t += timedelta(seconds=30)
    states = []
    st = None
    for r in records:
        st = apply_record(st, r, timing)
        states.append((st.state, st.flapping, st.visible_state))
    # 4th transition (resolved at +90s) starts flapping: receivers keep seeing "firing"
    assert states[2] == ("firing", False, "firing")
    assert states[3] == ("resolved", True, "firing")
    assert states[5] == ("resolved", True, "firing")
    # quiet for the window: flapping ends and the real state shows
    calm = tick(st, t + timedelta(seconds=600), timing)
    assert not calm.flapping and calm.visible_state == "resolved"


def _alert(fp_labels: dict, status: str = "firing"):
    st = apply_record(None, rec(1, "firing", T0, labels=fp_labels), LifecycleTiming())
    a = st.to_alert()
    a.status = status
    return a


def test_group_wait_interval_repeat():
    a1, a2 = _alert({"slo": "a"}), _alert({"slo": "b"})
    g = new_group("k", "r", "0", {"alertname": "HighBurn"}, T0, group_wait=30)
    kw = dict(group_interval=300, repeat_interval=3600, send_resolved=True)
    # within group_wait: nothing
    res = flush(g, {a1.fingerprint: a1}, {}, set(), T0 + timedelta(seconds=10), **kw)
    assert res.send is None and res.group is g
    # at group_wait: both alerts arrived in the meantime, one notification
    res = flush(g, {a1.fingerprint: a1, a2.fingerprint: a2}, {}, set(), T0 + timedelta(seconds=30), **kw)
    assert [a.fingerprint for a in res.send] == sorted([a1.fingerprint, a2.fingerprint])
    g = res.group
    assert g.seq == 1 and g.next_flush_at == T0 + timedelta(seconds=330)
    # no change: nothing at the next interval
    res = flush(g, {a1.fingerprint: a1, a2.fingerprint: a2}, {}, set(), T0 + timedelta(seconds=330), **kw)
    assert res.send is None
    g = res.group
    # a2 resolves: sent at the next group_interval, with the still-firing a1
    r2 = _alert({"slo": "b"}, "resolved")
    res = flush(g, {a1.fingerprint: a1}, {r2.fingerprint: r2}, set(), T0 + timedelta(seconds=500), **kw)
    assert res.send is None  # before next_flush_at (630)
    res = flush(g, {a1.fingerprint: a1}, {r2.fingerprint: r2}, set(), T0 + timedelta(seconds=630), **kw)
    assert {(a.fingerprint, a.status) for a in res.send} == {(a1.fingerprint, "firing"), (r2.fingerprint, "resolved")}
    g = res.group
    assert g.notified == frozenset({a1.fingerprint})
    # repeat interval: still firing, unchanged -> resent at the first group tick an hour after the last send
    sent_at, t = [], 630
    while not sent_at:
        t += 60
        res = flush(res.group, {a1.fingerprint: a1}, {}, set(), T0 + timedelta(seconds=t), **kw)
        if res.send:
            sent_at.append(t)
            assert [a.fingerprint for a in res.send] == [a1.fingerprint]
    assert sent_at == [630 + 3600]
    # last alert resolves: resolve sent once, then the group is over
    r1 = _alert({"slo": "a"}, "resolved")
    res = flush(res.group, {}, {r1.fingerprint: r1}, set(), T0 + timedelta(seconds=9000), **kw)
    assert [a.status for a in res.send] == ["resolved"] and res.group is None


def test_send_resolved_false_and_silenced_alerts():
    a1 = _alert({"slo": "a"})
    g = new_group("k", "r", "0", {}, T0, group_wait=0)
    kw = dict(group_interval=60, repeat_interval=3600)
    res = flush(g, {a1.fingerprint: a1}, {}, set(), T0, send_resolved=False, **kw)
    r1 = _alert({"slo": "a"}, "resolved")
    res = flush(res.group, {}, {r1.fingerprint: r1}, set(), T0 + timedelta(seconds=60), send_resolved=False, **kw)
    assert res.send is None and res.group is None  # resolved quietly, group over
    # a silenced alert keeps its place but is not resent; the group stays quiet
    g = new_group("k", "r", "0", {}, T0, group_wait=0)
    res = flush(g, {a1.fingerprint: a1}, {}, set(), T0, send_resolved=True, **kw)
    res = flush(res.group, {}, {}, {a1.fingerprint}, T0 + timedelta(seconds=60), send_resolved=True, **kw)
    assert res.send is None and res.group is not None and a1.fingerprint in res.group.notified


def _settings(**alerts):
    return load_settings(None, environ={}, overrides={f"alerts.{k}": v for k, v in alerts.items()})


RECEIVERS = [{"name": n, "type": "webhook", "url": f"http://127.0.0.1:9/{n}"} for n in ("pager", "ml", "ml-info", "all", "audit")]


def test_routing_tree_first_match_nested_continue_default():
    s = _settings(receivers=RECEIVERS, routes=[
        {"receiver": "audit", "match_re": {"source": "budget|unpriced"}, "continue_matching": True},
        {"receiver": "pager", "match": {"severity": "page"}, "group_by": ["slo"], "group_wait": 5,
         "routes": [{"receiver": "ml", "match": {"team": "ml"},
                     "routes": [{"receiver": "ml-info", "match_re": {"model": "gpt-.*"}}]}]},
        {"receiver": "all"},
    ])
    routes = build_routes(s.alerts)
    def rcv(labels):
        return [r.receiver for r in match_routes(labels, routes)]
    assert rcv({"severity": "page", "team": "search"}) == ["pager"]
    assert rcv({"severity": "page", "team": "ml"}) == ["ml"]
    assert rcv({"severity": "page", "team": "ml", "model": "gpt-4o"}) == ["ml-info"]
    assert rcv({"severity": "page", "team": "ml", "model": "xgpt-4o"}) == ["ml"]  # regex is anchored
    assert rcv({"severity": "ticket"}) == ["all"]
    assert rcv({"source": "budget", "severity": "page"}) == ["audit", "pager"]
    deep = match_routes({"severity": "page", "team": "ml", "model": "gpt-4o"}, routes)[0]
    assert deep.path == "1.0.0" and deep.timing.group_by == ("slo",) and deep.timing.group_wait == 5
    assert deep.timing.repeat_interval == s.alerts.repeat_interval  # inherited from [alerts]
    assert group_labels({"slo": "x", "a": "1"}, ("slo",)) == {"slo": "x"}
    assert group_labels({"b": "2", "a": "1"}, ("...",)) == {"a": "1", "b": "2"}


def test_no_route_matches():
    s = _settings(receivers=RECEIVERS[:1], routes=[{"receiver": "pager", "match": {"severity": "page"}}])
    assert match_routes({"severity": "info"}, build_routes(s.alerts)) == []


@pytest.mark.parametrize("alerts, needle", [
    ({"routes": [{"receiver": "nobody"}]}, "routes[0].receiver: unknown receiver 'nobody'"),
    ({"receivers": [{"name": "x", "type": "sms", "url": "http://h"}]}, "type must be one of"),
    ({"receivers": [{"name": "x", "type": "pagerduty"}]}, "routing_key is required"),
    ({"receivers": [{"name": "x", "type": "slack"}]}, "url is required"),
    ({"receivers": RECEIVERS[:1] + RECEIVERS[:1]}, "duplicate name 'pager'"),
    ({"receivers": RECEIVERS[:1], "routes": [{"receiver": "pager", "match_re": {"a": "("}}]}, "match_re.a: bad regex"),
    ({"receivers": RECEIVERS[:1], "routes": [{"receiver": "pager", "colour": "red"}]}, "alerts.routes[0].colour: unknown key"),
    ({"group_wait": "soon"}, "alerts.group_wait: expected a number"),
    ({"retry_jitter": 2.0}, "retry_jitter must be between 0 and 1"),
])
def test_bad_config_names_the_field(alerts, needle):
    with pytest.raises(ConfigError) as err:
        _settings(**alerts)
    assert needle in str(err.value)


def test_pagerduty_url_defaults_to_events_api():
    s = _settings(receivers=[{"name": "pd", "type": "pagerduty", "routing_key": "R" * 32}])
    assert s.alerts.receivers[0].url == "https://events.pagerduty.com/v2/enqueue"


def test_matchers_and_durations():
    assert parse_matcher("severity=page").matches({"severity": "page"})
    assert parse_matcher('team!="ml"').matches({"team": "search"})
    assert parse_matcher("alertname=~Slo.*").matches({"alertname": "SloBurn"})
    assert not parse_matcher("alertname=~Slo").matches({"alertname": "SloBurn"})  # anchored
    assert parse_matcher("model!~gpt-.*").matches({"model": "claude"})
    assert parse_matcher("missing=").matches({})
    for bad in ("=x", "sev page", "1abc=2"):
        with pytest.raises(ValueError, match="bad matcher"):
            parse_matcher(bad)
    with pytest.raises(ValueError, match="bad regex"):
        parse_matcher("a=~(")
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration("soon")


def test_silence_create_list_expire(warehouse):
    sil = create_silence(warehouse, [Matcher("severity", "=", "page")], duration=timedelta(hours=2),
                         created_by="alice", comment="maintenance")
    listed = list_silences(warehouse)
    assert [s.id for s in listed] == [sil.id] and listed[0].matchers == (Matcher("severity", "=", "page"),)
    expired = expire_silence(warehouse, sil.id)
    assert expired.ends_at <= datetime.utcnow() + timedelta(seconds=1)
    assert list_silences(warehouse) == []
    assert [s.id for s in list_silences(warehouse, include_expired=True)] == [sil.id]
    with pytest.raises(ValueError, match="already expired"):
        expire_silence(warehouse, sil.id)
    with pytest.raises(KeyError):
        expire_silence(warehouse, "nope")
    with pytest.raises(ValueError, match="at least one matcher"):
        create_silence(warehouse, [], duration=timedelta(hours=1), created_by="a", comment="c")


def test_redact_masks_paths_keys_tokens_and_passwords():
    from inferledger.alerts.redact import endpoint, redact
    from inferledger.alerts.settings import ReceiverSettings

    slack = ReceiverSettings("chat", "slack", url="https://hooks.slack.com/services/T0ABC123/B0DEF456/abcdEFGH1234ijkl")
    text = f"POST {slack.url} failed; token abcdEFGH1234ijkl; team T0ABC123"
    out = redact(text, slack)
    assert "abcdEFGH1234ijkl" not in out and "T0ABC123" not in out and "/services/" not in out
    assert "https://hooks.slack.com/***" in out
    pd = ReceiverSettings("pd", "pagerduty", routing_key="R0123456789abcdef0123456789abcde")
    assert "R0123" not in redact("bad routing_key R0123456789abcdef0123456789abcde", pd)
    am = ReceiverSettings("am", "alertmanager", url="http://ops:hunter22@am.internal:9093")
    assert "hunter22" not in redact(f"cannot reach {am.url}", am)
    assert endpoint(am.url) == "http://am.internal:9093"
    graf = ReceiverSettings("g", "grafana", url="http://grafana:3000", token="glsa_supersecret")
    assert redact("Authorization: Bearer glsa_supersecret", graf) == "Authorization: Bearer ***"
