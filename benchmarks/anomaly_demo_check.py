"""How the anomaly job did on a demo warehouse: injected incidents found as one grouped
alert each, and false incidents per series per week.

    .venv/bin/inferledger --db demo.duckdb demo --days 7
    .venv/bin/python -m benchmarks.anomaly_demo_check demo.duckdb

The injected incidents are recomputed from the demo's own schedule
(`inferledger.demo.incidents.incidents_for`, seed 7) over the span time range. Stored
anomalies are grouped as the job pages them (`store.incident_rows`, `grouping_minutes`); an incident of the
first `alert_min_history_hours` is stored but never paged, so it is left out, and so are
falls of latency or error rate (`incidents.pages_in_its_direction`). A grouped
incident of the right family and scope overlapping an injected one (10 minutes slack)
finds it; any other is false, except a cost incident on the drifting team's own spend (a
series or explanation naming its team, feature or model) that starts within a day of the
prompt-length drift's onset. The drift is a lasting 2.5x input-token shift the drift job
owns; the anomaly job sees it as a jump in that team's spend once its daily peak comes
(the onset falls in a quiet hour). It is listed apart, not counted either way.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

from inferledger.analytics.anomaly.incidents import pages_in_its_direction
from inferledger.analytics.anomaly.series import load_series
from inferledger.analytics.anomaly.settings import AnomalySettings
from inferledger.analytics.anomaly.store import AnomalyFilter, incident_rows, recent_anomalies
from inferledger.analytics.warehouse import open_warehouse
from inferledger.demo.incidents import COST_SPIKE, PROMPT_LENGTH_DRIFT, incidents_for


def _related(inj, inc: dict) -> bool:
    """The cost spike is a cost-family incident; the latency regression one of its model."""
    if inj.kind == COST_SPIKE:
        return inc["incident"] == "cost"
    return inc["incident"] == "performance" and inc["scope"] == inj.model


def _on_drift(drift, inc: dict) -> bool:
    """A grouped incident whose series or explanation names the drifting team, feature or model."""
    names = {f'team="{drift.team}"', f'feature="{drift.feature}"'}
    series = [k for k in inc["series"] if any(n in k for n in names) or f'model="{drift.model}' in k]
    return bool(series) or (inc["moved_dimension"], inc["moved_value"]) in {
        ("team", drift.team), ("feature", drift.feature)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    cfg = AnomalySettings()
    wh = open_warehouse(args.db)
    start, end = wh.con.execute("SELECT min(start_time), max(start_time) FROM spans").fetchone()
    scheduled = incidents_for(start, end, args.seed)
    injected = [i for i in scheduled if i.kind != PROMPT_LENGTH_DRIFT]
    drifts = [i for i in scheduled if i.kind == PROMPT_LENGTH_DRIFT]
    rows = recent_anomalies(wh, AnomalyFilter(since=start), limit=1_000_000)
    n_series = wh.con.execute("SELECT count(DISTINCT series_key) FROM anomalies").fetchone()[0]
    now = end + timedelta(minutes=5)
    n_watched = max(1, len(load_series(wh, cfg.series, now, cfg.lookback_hours, cfg.min_requests)))
    wh.close()
    alertable = start + timedelta(hours=cfg.alert_min_history_hours)
    paged = [r for r in rows if pages_in_its_direction(r["metric"], r["observed"], r["expected"])]
    incidents = [i for i in incident_rows(paged, cfg.grouping_minutes) if i["start"] >= alertable]
    slack = timedelta(minutes=10)
    weeks = (end - alertable).total_seconds() / (7 * 86400)
    print(f"demo {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M}; {len(rows)} stored anomalies, "
          f"{len(incidents)} pageable incidents (after the first {cfg.alert_min_history_hours} h)")
    false = list(incidents)
    for inj in injected:
        hits = [i for i in incidents if i["start"] <= inj.end + slack and i["end"] >= inj.start - slack
                and _related(inj, i)]
        for h in hits:
            if h in false:
                false.remove(h)
        desc = "; ".join(f"{h['incident']} {h['scope']} led by {h['top_series']} ({h['alarms']} alarms, "
                         f"moved {h['moved_dimension']}={h['moved_value']})" for h in hits) or "NOT FOUND"
        print(f"  {inj.kind} {inj.start:%m-%d %H:%M}-{inj.end:%H:%M}: {len(hits)} grouped alert(s): {desc}")
    for d in drifts:
        onset = [i for i in false if i["incident"] == "cost" and _on_drift(d, i)
                 and d.start - slack <= i["start"] <= d.start + timedelta(days=1)]
        for h in onset:
            false.remove(h)
        desc = "; ".join(f"led by {h['top_series']} at {h['start']:%m-%d %H:%M}" for h in onset)
        print(f"  ({d.kind} onset {d.start:%m-%d %H:%M}: {len(onset)} cost incident(s) on the drifting team's "
              f"spend in its first day, not counted{': ' + desc if desc else ''})")
    series_seen = {k for i in false for k in i["series"]}
    print(f"false incidents: {len(false)} over {weeks:.2f} weeks; {len(series_seen)} series involved"
          f" of {n_series} that ever alarmed")
    per_series: dict[str, int] = {}
    for i in false:
        per_series[i["top_series"]] = per_series.get(i["top_series"], 0) + 1
    worst = sorted(per_series.items(), key=lambda kv: -kv[1])[:8]
    over = sum(1 for v in per_series.values() if v / weeks > 1.0)
    print(f"false incidents per series-week over the {n_watched} watched series: {len(false) / (n_watched * weeks):.3f};"
          f" most led by one series: {max(per_series.values(), default=0)}")
    print(f"series leading more than one false incident per week: {over}")
    # the window is under a week: one false incident in it already reads as more than one per week
    print(f"series leading more than one false incident in the {weeks:.2f}-week window: "
          f"{sum(1 for v in per_series.values() if v > 1)}")
    # calendar weeks from the first alertable minute (the last one partial)
    per_week: dict[tuple[str, int], int] = {}
    for i in false:
        w = int((i["start"] - alertable).total_seconds() // (7 * 86400))
        per_week[(i["top_series"], w)] = per_week.get((i["top_series"], w), 0) + 1
    print(f"series-weeks (consecutive 7-day windows from the first alertable minute) with more than one false "
          f"incident: {sum(1 for v in per_week.values() if v > 1)}; most in one: {max(per_week.values(), default=0)}")
    print("false incidents per leading series per week (worst): "
          + ", ".join(f"{k} {v / weeks:.1f}" for k, v in worst))
    for i in false[:15]:
        print(f"    {i['start']:%m-%d %H:%M} {i['incident']} {i['scope']} {i['top_series']} {i['kind']} "
              f"score {i['score']:.2f} obs {i['observed']:.4g} exp {i['expected']:.4g} ({i['alarms']} alarms)")


if __name__ == "__main__":
    main()
