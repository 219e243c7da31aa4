"""`inferledger grafana push`: folder, optional datasource, dashboards and alert annotations.

Idempotent by construction: the folder and datasource are created only when their uid
is missing (updated when they differ), a dashboard is posted only when its model
differs from the one stored (so re-running adds no version noise), and an alert
annotation is keyed by a `fingerprint:` tag plus its start time, so it is updated in
place rather than duplicated. Errors say what Grafana refused and what to do about it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaUnauthorizedError

from inferledger.dashboards.annotations import Annotation
from inferledger.dashboards.provisioning import datasource_model
from inferledger.dashboards.settings import GrafanaSettings

VOLATILE_KEYS = ("id", "version")


class PushError(RuntimeError):
    """Grafana refused the push, or could not be reached; the message says why."""


@dataclass
class PushResult:
    url: str
    folder: str = ""
    datasource: str = ""
    dashboards: list[dict[str, Any]] = field(default_factory=list)
    annotations: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "folder": self.folder, "datasource": self.datasource,
                "dashboards": self.dashboards, "annotations": self.annotations}


def connect(url: str, token: str, timeout: float) -> GrafanaApi:
    if not url:
        raise PushError("no Grafana URL: pass --url or set dashboards.grafana.url")
    if not url.startswith(("http://", "https://")):
        raise PushError(f"Grafana URL must start with http:// or https://, got {url!r}")
    if not token:
        raise PushError("no Grafana token: pass --token or set INFERLEDGER_DASHBOARDS__GRAFANA__TOKEN "
                        "(a service-account token with the Editor role; Admin to create the datasource)")
    return GrafanaApi.from_url(url, credential=token, timeout=timeout)


def push(
    url: str,
    token: str,
    cfg: GrafanaSettings,
    *,
    dashboards: Mapping[str, Mapping[str, Any]] | None = None,
    annotations: Sequence[Annotation] = (),
    create_datasource: bool | None = None,
    message: str = "inferledger grafana push",
    on_step: Callable[[str], None] | None = None,
) -> PushResult:
    """Push everything; raises PushError with a clear message on auth, version or network failures.

    `on_step(description)` is called after each request-level step (progress bars).
    """
    if dashboards is None:
        from inferledger.dashboards.definitions import build_all

        dashboards = build_all()
    api = connect(url, token, cfg.timeout_seconds)
    result = PushResult(url=url)
    done = on_step or (lambda _step: None)
    step = "health check"
    try:
        api.client.GET("/health")
        step = f"folder {cfg.folder_uid}"
        result.folder = ensure_folder(api, cfg)
        done(step)
        if cfg.create_datasource if create_datasource is None else create_datasource:
            step = f"datasource {cfg.datasource_uid}"
            result.datasource = ensure_datasource(api, cfg)
        done(step)
        for uid, model in dashboards.items():
            step = f"dashboard {uid}"
            result.dashboards.append(push_dashboard(api, model, cfg.folder_uid, message))
            done(step)
        for ann in annotations:
            step = f"annotation {ann.fingerprint}"
            outcome = push_annotation(api, ann)
            result.annotations[outcome] += 1
            done(step)
    except GrafanaException as exc:
        raise PushError(explain(exc, url, step)) from exc
    except niquests.exceptions.RequestException as exc:  # refused, DNS, TLS: grafana-client passes these on
        raise PushError(f"cannot reach Grafana at {url} during {step}: {type(exc).__name__}: {exc}") from exc
    return result


def explain(exc: GrafanaException, url: str, step: str) -> str:
    """Turn a grafana-client error into a sentence that says what to fix."""
    status = getattr(exc, "status_code", 0)
    detail = _message(getattr(exc, "response", None)) or str(exc)
    if isinstance(exc, GrafanaUnauthorizedError) or status == 401:
        return (f"Grafana at {url} rejected the token (401 Unauthorized) during {step}: "
                "check --token (a service-account token, sent as a Bearer token)")
    if status == 403:
        return (f"Grafana at {url} refused {step} (403 Forbidden: {detail}): the token's role is too low "
                "(Editor for folders, dashboards and annotations; Admin to create the datasource)")
    if status == 412:
        return (f"Grafana at {url} refused {step} (412 Precondition Failed: {detail}): "
                "the stored dashboard changed (version-mismatch) or another dashboard has the same "
                "title in the folder (name-exists); rename or delete it, then push again")
    if status == 0:
        return f"cannot reach Grafana at {url} during {step}: {detail}"
    return f"Grafana at {url} failed {step} ({status}): {detail}"


def _message(response: Any) -> str:
    if isinstance(response, dict):
        return str(response.get("message") or response.get("status") or "")
    return str(response or "")


def _get_or_none(call, *args) -> Any:
    try:
        return call(*args)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise


def ensure_folder(api: GrafanaApi, cfg: GrafanaSettings) -> str:
    existing = _get_or_none(api.folder.get_folder, cfg.folder_uid)
    if existing is None:
        api.folder.create_folder(cfg.folder_title, uid=cfg.folder_uid)
        return "created"
    if existing.get("title") != cfg.folder_title:
        api.folder.update_folder(cfg.folder_uid, title=cfg.folder_title, overwrite=True)
        return "updated"
    return "unchanged"


def ensure_datasource(api: GrafanaApi, cfg: GrafanaSettings) -> str:
    wanted = datasource_model(cfg)
    existing = _get_or_none(api.datasource.get_datasource_by_uid, cfg.datasource_uid)
    if existing is None:
        api.datasource.create_datasource(wanted)
        return "created"
    if any(existing.get(k) != v for k, v in wanted.items()):
        api.datasource.update_datasource_by_uid(cfg.datasource_uid, wanted)
        return "updated"
    return "unchanged"


def _comparable(model: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model.items() if k not in VOLATILE_KEYS}


def push_dashboard(api: GrafanaApi, model: Mapping[str, Any], folder_uid: str, message: str) -> dict[str, Any]:
    uid = model.get("uid")
    if not uid:
        raise PushError(f"dashboard {model.get('title')!r} has no uid")
    stored = _get_or_none(api.dashboard.get_dashboard, uid)
    if stored is not None:
        same_folder = stored.get("meta", {}).get("folderUid") == folder_uid
        if same_folder and _comparable(stored.get("dashboard", {})) == _comparable(model):
            return {"uid": uid, "status": "unchanged", "version": stored["dashboard"].get("version")}
    payload = {
        "dashboard": {**_comparable(model), "id": None},
        "folderUid": folder_uid,
        "overwrite": True,
        "message": message,
    }
    answer = api.dashboard.update_dashboard(payload)
    return {"uid": uid, "status": "created" if stored is None else "updated", "version": answer.get("version"),
            "url": answer.get("url")}


def push_annotation(api: GrafanaApi, ann: Annotation) -> str:
    """Create the alert's annotation, or update the one already there; returns the outcome."""
    found = api.client.GET(
        "/annotations",
        params={"tags": list(ann.identity_tags), "type": "annotation", "limit": 100, "matchAny": "false"},
    )
    same = [a for a in found or [] if a.get("time") == ann.time_ms]
    body = ann.payload()
    if not same:
        api.client.POST("/annotations", json=body)
        return "created"
    current = same[0]
    if (current.get("timeEnd"), current.get("text"), sorted(current.get("tags") or [])) == (
        body["timeEnd"], body["text"], sorted(body["tags"])
    ):
        return "unchanged"
    api.client.PUT(f"/annotations/{current['id']}",
                   json={k: body[k] for k in ("time", "timeEnd", "tags", "text")})
    return "updated"
