"""Grafana file provisioning: dashboard JSON files plus the datasource and provider YAML.

Layout written by `inferledger grafana export DIR` (point Grafana's `paths.provisioning`
at DIR/provisioning, or copy the two YAML files into an existing provisioning folder):

    DIR/dashboards/<uid>.json
    DIR/provisioning/datasources/inferledger.yaml
    DIR/provisioning/dashboards/inferledger.yaml

The JSON is byte-for-byte what is checked in under dashboards/json/ (sorted keys,
2-space indent, trailing newline), so a diff of the repository shows a dashboard change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from inferledger.dashboards.settings import GrafanaSettings

CHECKED_IN_DIR = Path(__file__).resolve().parent / "json"


def dashboard_text(model: Mapping[str, Any]) -> str:
    """The canonical serialisation of one dashboard (stable across runs)."""
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_dashboards(directory: str | Path, dashboards: Mapping[str, Mapping[str, Any]] | None = None) -> list[Path]:
    """Write every dashboard as `<uid>.json`; returns the paths written."""
    if dashboards is None:
        from inferledger.dashboards.definitions import build_all

        dashboards = build_all()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for uid, model in dashboards.items():
        path = out / f"{uid}.json"
        path.write_text(dashboard_text(model))
        written.append(path)
    return written


def datasource_model(cfg: GrafanaSettings) -> dict[str, Any]:
    """The Prometheus datasource, as both the provisioning file and the push API take it."""
    return {
        "name": cfg.datasource_name,
        "uid": cfg.datasource_uid,
        "type": "prometheus",
        "access": "proxy",
        "url": cfg.prometheus_url,
        "isDefault": False,
        "jsonData": {"httpMethod": "POST", "timeInterval": "15s"},
    }


def datasource_provisioning(cfg: GrafanaSettings) -> dict[str, Any]:
    """Grafana's `apiVersion: 1` datasource file for the Prometheus that scrapes InferLedger."""
    return {"apiVersion": 1, "datasources": [{**datasource_model(cfg), "editable": True}]}


def dashboard_provider(cfg: GrafanaSettings, dashboards_path: str) -> dict[str, Any]:
    """Grafana's `apiVersion: 1` dashboard provider reading the JSON files from disk."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "inferledger",
                "orgId": 1,
                "folder": cfg.folder_title,
                "folderUid": cfg.folder_uid,
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": dashboards_path, "foldersFromFilesStructure": False},
            }
        ],
    }


def export(directory: str | Path, cfg: GrafanaSettings, *, grafana_path: str | None = None) -> dict[str, Any]:
    """Write dashboards and provisioning YAML under `directory`; returns what was written.

    `grafana_path` is where Grafana itself will find the dashboards folder (it differs
    from the local path when Grafana runs in a container); default: the local path.
    """
    root = Path(directory).resolve()
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"{root} exists and is not a directory")
    dash_dir = root / "dashboards"
    files = write_dashboards(dash_dir)
    ds_file = root / "provisioning" / "datasources" / "inferledger.yaml"
    prov_file = root / "provisioning" / "dashboards" / "inferledger.yaml"
    ds_file.parent.mkdir(parents=True, exist_ok=True)
    prov_file.parent.mkdir(parents=True, exist_ok=True)
    ds_file.write_text(yaml.safe_dump(datasource_provisioning(cfg), sort_keys=False))
    prov_file.write_text(yaml.safe_dump(dashboard_provider(cfg, grafana_path or str(dash_dir)), sort_keys=False))
    return {
        "directory": str(root),
        "dashboards": [str(p) for p in files],
        "datasource_file": str(ds_file),
        "provider_file": str(prov_file),
    }
