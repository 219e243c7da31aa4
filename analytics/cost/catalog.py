"""Refreshing the bundled price snapshot from the `litellm` package on PyPI.

Only on request (`inferledger prices update`): `pip download litellm --no-deps` into a
temporary folder, read the price JSON out of the wheel, check it parses as a catalog,
and replace the snapshot. Nothing downloads at run time otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from inferledger.analytics.cost.pricing import Catalog, catalog_path_or_bundled

WHEEL_MEMBERS = ("litellm/model_prices_and_context_window_backup.json", "model_prices_and_context_window.json")


def extract_from_wheel(wheel: Path) -> tuple[bytes, str]:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for member in WHEEL_MEMBERS:
            if member in names:
                return zf.read(member), member
    raise ValueError(f"{wheel.name} has none of {', '.join(WHEEL_MEMBERS)}")


def download_wheel(dest: Path, version: str = "") -> Path:
    spec = f"litellm=={version}" if version else "litellm"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", spec, "--no-deps", "--only-binary=:all:", "-d", str(dest)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip download {spec} failed: {proc.stderr.strip()[-800:]}")
    wheels = sorted(dest.glob("litellm-*.whl"))
    if not wheels:
        raise RuntimeError("pip download produced no litellm wheel")
    return wheels[-1]


def diff_catalogs(old: Catalog, new: Catalog) -> dict[str, list[str]]:
    """Models added, removed, and whose input or output price changed."""
    keys = ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
            "cache_creation_input_token_cost")
    changed = [k for k in set(old.entries) & set(new.entries)
               if any(old.entries[k].get(f) != new.entries[k].get(f) for f in keys)]
    return {"added": sorted(set(new.entries) - set(old.entries)), "removed": sorted(set(old.entries) - set(new.entries)),
            "changed": sorted(changed)}


def update_catalog(out: Path | None = None, *, version: str = "", wheel: Path | None = None) -> dict:
    """Replace the snapshot (or write to `out`); returns the source and the diff."""
    target = out or catalog_path_or_bundled()
    with tempfile.TemporaryDirectory() as tmp:
        whl = wheel or download_wheel(Path(tmp), version)
        raw, member = extract_from_wheel(whl)
    data = json.loads(raw)
    new = Catalog(data, "new")
    if len(new) < 100:
        raise ValueError(f"{whl.name}:{member} has only {len(new)} priced models; refusing to replace the catalog")
    old = Catalog(json.loads(target.read_bytes()), "old") if target.exists() else Catalog({}, "none")
    diff = diff_catalogs(old, new)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(raw)
    meta = {"source": f"{whl.name} (PyPI wheel)", "file": member,
            "fetched_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    target.with_name("catalog_meta.json").write_text(json.dumps(meta))
    return {"path": str(target), **meta, "models": len(new), **{k: len(v) for k, v in diff.items()},
            "changed_models": diff["changed"][:50]}


def catalog_meta(catalog_path: str = "") -> dict:
    p = catalog_path_or_bundled(catalog_path)
    meta_file = p.with_name("catalog_meta.json")
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    if "fetched_at" not in meta:
        meta["fetched_at"] = datetime.fromtimestamp(p.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"path": str(p), **meta}
