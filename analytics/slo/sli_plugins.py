"""Sloth SLI plugins, reimplemented: `sli.plugin: {id, options}` becomes a raw error-ratio query.

Sloth loads SLI plugins as Go source at run time; we cannot (and nothing may be fetched),
so the common ones from sloth-common-sli-plugins are rebuilt here with the same IDs,
options, validation and query text. Any other ID is an error naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from inferledger.analytics.slo.model import SpecError

# sloth-common's filter check: `k="v"` pairs, comma separated, braces optional.
_FILTER_RE = re.compile(r'^\{?([^=]+="[^=,"]+",)*([^=]+="[^=,"]+")$')


def _filter(options: dict[str, str], where: str) -> str:
    text = options.get("filter", "")
    if not text:
        return ""
    text = text.strip("{},")
    if not _FILTER_RE.match(text):
        raise SpecError(f"{where}: invalid prometheus filter: {text}")
    return text


def _bucket(options: dict[str, str], where: str) -> str:
    bucket = options.get("bucket", "")
    if not bucket:
        raise SpecError(f'{where}: "bucket" option is required')
    try:
        float(bucket)
    except ValueError:
        raise SpecError(f"{where}: not a valid bucket, can't parse to float64: {bucket!r}") from None
    return bucket


def _apiserver_availability(options: dict[str, str], where: str) -> str:
    f = _filter(options, where)
    ferr = f + "," if f else ""
    return ("\n"
            f'sum(rate(apiserver_request_total{{ {ferr}code=~"(5..|429)" }}[{{{{.window}}}}]))\n'
            "/\n"
            f"sum(rate(apiserver_request_total{{ {f} }}[{{{{.window}}}}]))\n")


def _apiserver_latency(options: dict[str, str], where: str) -> str:
    bucket = _bucket(options, where)
    f = _filter(options, where)
    f = f + "," if f else ""
    return ("\n(\n"
            f'  sum(rate(apiserver_request_duration_seconds_count{{ {f}verb!="WATCH" }}[{{{{.window}}}}]))\n'
            "  -\n"
            f'  sum(rate(apiserver_request_duration_seconds_bucket{{ {f}le="{bucket}",verb!="WATCH" }}'
            "[{{.window}}]))\n"
            ")\n/\n"
            f'sum(rate(apiserver_request_duration_seconds_count{{ {f}verb!="WATCH" }}[{{{{.window}}}}]))\n')


def _getting_started_availability(options: dict[str, str], where: str, labels: dict[str, str]) -> str:
    """Sloth's documented example plugin: 5xx and 429 over all HTTP requests of `job`."""
    if "job" not in options:
        raise SpecError(f"{where}: job options is required")
    for key in ("owner", "tier"):
        if not labels.get(key):
            raise SpecError(f"{where}: invalid labels: {key!r} label is required")
    f = options.get("filter", "")
    if f:
        f = f.strip("{}").strip(",") + ","
        if not re.search(r'([^=]+="[^=,"]+",)+', f):
            raise SpecError(f"{where}: invalid prometheus filter: {f}")
    job = options["job"]
    return ("\n"
            f'sum(rate(http_request_duration_seconds_count{{ {f}job="{job}",code=~"(5..|429)" }}[{{{{.window}}}}]))\n'
            "/\n"
            f'sum(rate(http_request_duration_seconds_count{{ {f}job="{job}" }}[{{{{.window}}}}]))')


SLI_PLUGINS: dict[str, Callable[[dict[str, str], str], str]] = {
    "sloth-common/kubernetes/apiserver/availability": _apiserver_availability,
    "sloth-common/kubernetes/apiserver/latency": _apiserver_latency,
}


def run_sli_plugin(plugin_id: str, options: dict[str, str], where: str, *, meta: dict[str, str],
                   labels: dict[str, str]) -> str:
    """The raw error-ratio query (with `{{.window}}`) the plugin `plugin_id` returns for `options`."""
    if plugin_id not in SLI_PLUGINS and plugin_id != "getting_started_availability":
        raise SpecError(f"{where}: SLI plugin {plugin_id!r} is not available (built in: {', '.join([*SLI_PLUGINS, 'getting_started_availability'])}); "
                        "use an events or raw SLI")
    if plugin_id == "getting_started_availability":
        return _getting_started_availability(options, where, labels)
    return SLI_PLUGINS[plugin_id](options, where)
