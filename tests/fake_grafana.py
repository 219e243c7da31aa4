"""A local stand-in for the Grafana HTTP API endpoints InferLedger uses (Grafana itself
cannot be installed from the package registries here).

It keeps real state (folders, datasources, dashboards with versions, annotations) and
checks every request against Grafana's documented request shape and auth:
https://grafana.com/docs/grafana/latest/developers/http_api/ (folder, data_source,
dashboard, annotations, other#health). A request that Grafana would reject gets
Grafana's status code and message; a request with a field Grafana does not document
for that endpoint gets 400, so a typo in the client shows up in tests.

Tokens map to org roles: Viewer may read, Editor may also write folders, dashboards and
annotations, Admin may also write datasources (Grafana's default permissions).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

UID_RE = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")
ROLES = {"Viewer": 0, "Editor": 1, "Admin": 2}

FOLDER_CREATE_KEYS = {"uid", "title", "description", "parentUid"}
FOLDER_UPDATE_KEYS = {"uid", "title", "description", "version", "overwrite"}
DATASOURCE_KEYS = {"name", "uid", "type", "access", "url", "user", "database", "basicAuth", "basicAuthUser",
                   "withCredentials", "isDefault", "jsonData", "secureJsonData", "readOnly", "orgId", "version"}
DASHBOARD_DB_KEYS = {"dashboard", "folderId", "folderUid", "message", "overwrite", "refresh"}
ANNOTATION_CREATE_KEYS = {"dashboardUID", "dashboardId", "panelId", "time", "timeEnd", "tags", "text", "data"}
ANNOTATION_UPDATE_KEYS = {"time", "timeEnd", "tags", "text", "data"}


class ApiError(Exception):
    def __init__(self, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = code
        self.body = {"message": message, **extra}


@dataclass
class GrafanaState:
    tokens: dict[str, str] = field(default_factory=lambda: {"admin-token": "Admin"})
    folders: dict[str, dict] = field(default_factory=dict)
    datasources: dict[str, dict] = field(default_factory=dict)
    dashboards: dict[str, dict] = field(default_factory=dict)  # uid -> {"dashboard", "folderUid", "version", "messages"}
    annotations: dict[int, dict] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _require(cond: bool, message: str, status: int = 400) -> None:
    if not cond:
        raise ApiError(status, message)


def _only_keys(body: dict, allowed: set[str], what: str) -> None:
    extra = sorted(set(body) - allowed)
    _require(not extra, f"{what}: unknown field(s) {extra}")


class FakeGrafana:
    """Start with `with FakeGrafana() as g:`; `g.url` is the base URL, `g.state` the data."""

    def __init__(self, tokens: dict[str, str] | None = None) -> None:
        self.state = GrafanaState()
        if tokens is not None:
            self.state.tokens = dict(tokens)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "FakeGrafana":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- routing -----------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers, body: Any) -> tuple[int, Any]:
        st = self.state
        st.requests.append((method, path))
        if method == "GET" and path == "/api/health":
            return 200, {"commit": "fake", "database": "ok", "version": "11.3.0"}
        role = self._auth(headers)
        write = method in ("POST", "PUT", "DELETE", "PATCH")
        if write:
            _require((headers.get("Content-Type") or "").startswith("application/json"),
                     "bad request data: Content-Type must be application/json", 415)
            _require(isinstance(body, dict), "bad request data: body must be a JSON object")
        parts = path.strip("/").split("/")
        with self.lock:
            if parts[:2] == ["api", "folders"]:
                return self._folders(method, parts[2:], role, body)
            if parts[:2] == ["api", "datasources"]:
                return self._datasources(method, parts[2:], role, body)
            if parts[:2] == ["api", "dashboards"]:
                return self._dashboards(method, parts[2:], role, body)
            if parts[:2] == ["api", "annotations"]:
                return self._annotations(method, parts[2:], role, body, query)
        raise ApiError(404, "Not found")

    def _auth(self, headers) -> int:
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            raise ApiError(401, "Unauthorized")
        role = self.state.tokens.get(auth[len("Bearer "):])
        if role is None:
            raise ApiError(401, "invalid API key")
        return ROLES[role]

    @staticmethod
    def _need(role: int, needed: str) -> None:
        if role < ROLES[needed]:
            raise ApiError(403, f"You'll need additional permissions to perform this action. Permissions needed: {needed}")

    # --- endpoints --------------------------------------------------------------------

    def _folders(self, method: str, rest: list[str], role: int, body: Any) -> tuple[int, Any]:
        st = self.state
        if method == "GET" and len(rest) == 1:
            folder = st.folders.get(rest[0])
            if folder is None:
                raise ApiError(404, "folder not found")
            return 200, folder
        if method == "POST" and not rest:
            self._need(role, "Editor")
            _only_keys(body, FOLDER_CREATE_KEYS, "create folder")
            _require(isinstance(body.get("title"), str) and body["title"].strip() != "", "folder title cannot be empty")
            uid = body.get("uid") or f"f{st.next_id}"
            _require(bool(UID_RE.match(uid)), "uid contains illegal characters")
            if uid in st.folders:
                raise ApiError(409, "a folder with the same uid already exists")
            st.folders[uid] = {"id": st.take_id(), "uid": uid, "title": body["title"], "version": 1,
                               "url": f"/dashboards/f/{uid}/"}
            return 200, st.folders[uid]
        if method == "PUT" and len(rest) == 1:
            self._need(role, "Editor")
            _only_keys(body, FOLDER_UPDATE_KEYS, "update folder")
            folder = st.folders.get(rest[0])
            if folder is None:
                raise ApiError(404, "folder not found")
            if not body.get("overwrite") and body.get("version") != folder["version"]:
                raise ApiError(412, "the folder has been changed by someone else", status="version-mismatch")
            folder.update(title=body.get("title", folder["title"]), version=folder["version"] + 1)
            return 200, folder
        raise ApiError(405, "Method not allowed")

    def _datasources(self, method: str, rest: list[str], role: int, body: Any) -> tuple[int, Any]:
        st = self.state
        if rest[:1] == ["uid"] and len(rest) == 2:
            ds = st.datasources.get(rest[1])
            if method == "GET":
                if ds is None:
                    raise ApiError(404, "Data source not found")
                return 200, ds
            if method == "PUT":
                self._need(role, "Admin")
                if ds is None:
                    raise ApiError(404, "Data source not found")
                self._check_datasource(body)
                ds.update(body)
                ds["version"] = ds.get("version", 1) + 1
                return 200, {"datasource": ds, "id": ds["id"], "message": "Datasource updated", "name": ds["name"]}
        if method == "POST" and not rest:
            self._need(role, "Admin")
            self._check_datasource(body)
            uid = body.get("uid") or f"ds{st.next_id}"
            if uid in st.datasources or any(d["name"] == body["name"] for d in st.datasources.values()):
                raise ApiError(409, "data source with the same name already exists")
            ds = {**body, "uid": uid, "id": st.take_id(), "version": 1}
            st.datasources[uid] = ds
            return 200, {"datasource": ds, "id": ds["id"], "message": "Datasource added", "name": ds["name"]}
        raise ApiError(405, "Method not allowed")

    @staticmethod
    def _check_datasource(body: dict) -> None:
        _only_keys(body, DATASOURCE_KEYS, "datasource")
        for key in ("name", "type", "access"):
            _require(isinstance(body.get(key), str) and body[key] != "", f"datasource: {key} is required")
        _require(body["access"] in ("proxy", "direct"), "datasource: access must be proxy or direct")
        _require(isinstance(body.get("jsonData", {}), dict), "datasource: jsonData must be an object")

    def _dashboards(self, method: str, rest: list[str], role: int, body: Any) -> tuple[int, Any]:
        st = self.state
        if method == "GET" and rest[:1] == ["uid"] and len(rest) == 2:
            entry = st.dashboards.get(rest[1])
            if entry is None:
                raise ApiError(404, "Dashboard not found")
            return 200, {"dashboard": entry["dashboard"],
                         "meta": {"folderUid": entry["folderUid"], "version": entry["version"], "slug": rest[1]}}
        if method == "POST" and rest == ["db"]:
            self._need(role, "Editor")
            _only_keys(body, DASHBOARD_DB_KEYS, "dashboards/db")
            dash = body.get("dashboard")
            _require(isinstance(dash, dict), "dashboard: expected an object")
            _require(isinstance(dash.get("title"), str) and dash["title"].strip() != "", "Dashboard title cannot be empty")
            _require(dash.get("id") is None or isinstance(dash.get("id"), int), "dashboard.id must be null or a number")
            uid = dash.get("uid") or f"d{st.next_id}"
            _require(bool(UID_RE.match(uid)), "uid contains illegal characters")
            _require(isinstance(body.get("overwrite", False), bool), "overwrite must be a boolean")
            _require(isinstance(body.get("message", ""), str), "message must be a string")
            _require(isinstance(dash.get("panels", []), list), "dashboard.panels must be a list")
            folder_uid = body.get("folderUid", "")
            if folder_uid and folder_uid not in st.folders:
                raise ApiError(400, "folder not found")
            existing = st.dashboards.get(uid)
            overwrite = body.get("overwrite", False)
            if existing and not overwrite and dash.get("version") != existing["version"]:
                raise ApiError(412, "The dashboard has been changed by someone else", status="version-mismatch")
            same_title = [u for u, e in st.dashboards.items() if u != uid and e["folderUid"] == folder_uid
                          and e["dashboard"]["title"] == dash["title"]]
            if same_title and not overwrite:
                raise ApiError(412, "A dashboard with the same name in the folder already exists", status="name-exists")
            version = existing["version"] + 1 if existing else 1
            dash_id = existing["dashboard"]["id"] if existing else st.take_id()
            stored = {**dash, "id": dash_id, "uid": uid, "version": version}
            messages = (existing or {}).get("messages", []) + [body.get("message", "")]
            st.dashboards[uid] = {"dashboard": stored, "folderUid": folder_uid, "version": version, "messages": messages}
            return 200, {"id": dash_id, "uid": uid, "url": f"/d/{uid}/{uid}", "status": "success",
                         "version": version, "slug": uid}
        raise ApiError(405, "Method not allowed")

    def _annotations(self, method: str, rest: list[str], role: int, body: Any, query) -> tuple[int, Any]:
        st = self.state
        if method == "GET" and not rest:
            tags = query.get("tags", [])
            match_any = query.get("matchAny", ["false"])[0] == "true"
            kind = query.get("type", [""])[0]
            _require(kind in ("", "annotation", "alert"), "type must be annotation or alert")
            limit = int(query.get("limit", ["100"])[0])
            found = []
            for ann in sorted(st.annotations.values(), key=lambda a: -a["time"]):
                have = set(ann["tags"])
                if tags and not (have & set(tags) if match_any else set(tags) <= have):
                    continue
                found.append(ann)
            return 200, found[:limit]
        if method == "POST" and not rest:
            self._need(role, "Editor")
            _only_keys(body, ANNOTATION_CREATE_KEYS, "create annotation")
            self._check_annotation(body)
            ann_id = st.take_id()
            st.annotations[ann_id] = {"id": ann_id, "time": body.get("time", 0), "timeEnd": body.get("timeEnd", 0),
                                      "tags": list(body.get("tags") or []), "text": body["text"],
                                      "dashboardUID": body.get("dashboardUID", "")}
            return 200, {"message": "Annotation added", "id": ann_id}
        if method == "PUT" and len(rest) == 1:
            self._need(role, "Editor")
            _only_keys(body, ANNOTATION_UPDATE_KEYS, "update annotation")
            self._check_annotation(body)
            ann = st.annotations.get(int(rest[0]))
            if ann is None:
                raise ApiError(404, "Annotation not found")
            ann.update({k: body[k] for k in ("time", "timeEnd", "tags", "text") if k in body})
            return 200, {"message": "Annotation updated"}
        raise ApiError(405, "Method not allowed")

    @staticmethod
    def _check_annotation(body: dict) -> None:
        _require(isinstance(body.get("text"), str) and body["text"] != "", "annotation text cannot be empty")
        for key in ("time", "timeEnd"):
            _require(body.get(key) is None or (isinstance(body[key], int) and body[key] >= 0),
                     f"{key} must be epoch milliseconds")
        _require(isinstance(body.get("tags") or [], list), "tags must be a list")
        if body.get("time") and body.get("timeEnd"):
            _require(body["timeEnd"] >= body["time"], "timeEnd must not be before time")

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                    status, answer = fake.handle(self.command, parsed.path, parse_qs(parsed.query), self.headers, body)
                except ApiError as exc:
                    status, answer = exc.status, exc.body
                except (ValueError, json.JSONDecodeError):
                    status, answer = 400, {"message": "bad request data"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: object) -> None:
                pass

        return Handler
