"""Where the lake's files live and how they are written: layout, atomic commits, the manifest.

Layout under the lake root (Hive partitions, readable by DuckDB, Dask, Spark, Polars):

    spans/tenant=<t>/day=YYYY-MM-DD/HH.<node>.parquet
    gpu_samples/...   metric_points/...   (same scheme)
    _manifest/<node>.json        which hours this node sealed, and its seal watermark

A node only ever writes files carrying its own name, so nodes never contend; a
re-seal of an hour replaces that node's file. Files are written under a `_tmp.`
name (readers skip names starting with `_` or `.`) and then moved into place: on a
local disk that is an atomic rename, on object storage the final object appears
whole or not at all.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import quote, unquote

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

# fact table -> (time column, sort order inside a file)
FACTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "spans": ("start_time", ("start_time", "trace_id", "span_id")),
    "gpu_samples": ("time", ("gpu_uuid", "time")),
    "metric_points": ("time", ("metric_name", "time")),
}
MANIFEST_DIR = "_manifest"


@dataclass(frozen=True)
class Lake:
    """An open lake root: a pyarrow filesystem and the base path inside it."""

    fs: pafs.FileSystem
    root: str
    uri: str

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])


def open_lake(uri: str) -> Lake:
    """A local directory (created if needed) or any URL pyarrow / fsspec can open."""
    if not uri:
        raise ValueError("no lake configured: set [lake] path or pass --lake")
    if "://" not in uri:
        root = os.path.abspath(uri)
        os.makedirs(root, exist_ok=True)
        return Lake(pafs.LocalFileSystem(), root, uri)
    try:
        fs, root = pafs.FileSystem.from_uri(uri)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        import fsspec  # a protocol pyarrow lacks natively (memory://, az://, ...)

        proto, _, rest = uri.partition("://")
        fs, root = pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem(proto))), rest
    return Lake(fs, root.rstrip("/"), uri)


def partition_dir(lake: Lake, table: str, tenant: str, day: date) -> str:
    return lake.path(table, f"tenant={quote(tenant, safe='')}", f"day={day.isoformat()}")


def hour_file(lake: Lake, table: str, tenant: str, hour: datetime, node: str) -> str:
    return f"{partition_dir(lake, table, tenant, hour.date())}/{hour:%H}.{node}.parquet"


def write_atomic(lake: Lake, final: str, table: pa.Table) -> int:
    """Write `table` as zstd Parquet to a temporary name in the same folder, then move it into place."""
    folder, _, name = final.rpartition("/")
    lake.fs.create_dir(folder, recursive=True)
    tmp = f"{folder}/_tmp.{uuid.uuid4().hex}.{name}"
    pq.write_table(table, tmp, filesystem=lake.fs, compression="zstd", row_group_size=256_000)
    lake.fs.move(tmp, final)
    return lake.fs.get_file_info(final).size


def write_bytes_atomic(lake: Lake, final: str, data: bytes) -> None:
    folder, _, name = final.rpartition("/")
    lake.fs.create_dir(folder, recursive=True)
    tmp = f"{folder}/_tmp.{uuid.uuid4().hex}.{name}"
    with lake.fs.open_output_stream(tmp) as out:
        out.write(data)
    lake.fs.move(tmp, final)


def delete_file(lake: Lake, path: str) -> None:
    if lake.fs.get_file_info(path).type != pafs.FileType.NotFound:
        lake.fs.delete_file(path)


def _children(lake: Lake, path: str) -> list[pafs.FileInfo]:
    infos = lake.fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return [i for i in infos if not i.base_name.startswith(("_", "."))]


def tenants(lake: Lake, table: str) -> list[str]:
    return sorted(unquote(i.base_name.split("=", 1)[1]) for i in _children(lake, lake.path(table))
                  if i.type == pafs.FileType.Directory and i.base_name.startswith("tenant="))


def partitions(lake: Lake, table: str, start: datetime, end: datetime) -> list[tuple[str, date, list[str]]]:
    """(tenant, day, parquet files) of every partition with data on a day touching [start, end)."""
    out = []
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    for tenant in tenants(lake, table):
        day = first
        while day <= last:
            files = sorted(i.path for i in _children(lake, partition_dir(lake, table, tenant, day))
                           if i.type == pafs.FileType.File and i.base_name.endswith(".parquet"))
            if files:
                out.append((tenant, day, files))
            day += timedelta(days=1)
    return out


def read_manifest(lake: Lake, node: str) -> dict:
    path = lake.path(MANIFEST_DIR, f"{node}.json")
    if lake.fs.get_file_info(path).type == pafs.FileType.NotFound:
        return {"node": node, "watermarks": {}, "hours": {}}
    with lake.fs.open_input_stream(path) as fh:
        return json.loads(fh.read())


def write_manifest(lake: Lake, manifest: dict) -> None:
    write_bytes_atomic(lake, lake.path(MANIFEST_DIR, f"{manifest['node']}.json"),
                       json.dumps(manifest, indent=1, sort_keys=True).encode())


def all_manifests(lake: Lake) -> list[dict]:
    infos = lake.fs.get_file_info(pafs.FileSelector(lake.path(MANIFEST_DIR), allow_not_found=True))
    return [read_manifest(lake, i.base_name[:-5]) for i in sorted(infos, key=lambda i: i.base_name)
            if i.base_name.endswith(".json") and not i.base_name.startswith(("_", "."))]
