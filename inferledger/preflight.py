"""Load and validate every file the configuration names, before the service reports ready.

The settings dataclasses check types and keys; the files they name (SLO spec files,
price overrides, a price catalog) and the free-form inline SLO specs are only read
when a job runs. Reading them at start-up turns "ready, then every job run fails" into
a start-up error naming the file and the field. Each entry of `CHECKS` is one area's
check: a function of the settings that raises with a message naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from inferledger.config import ConfigError, Settings


def _slo(settings: Settings) -> None:
    from inferledger.analytics.slo.spec import SpecError, load_configured_specs

    try:
        load_configured_specs(settings.analytics.slo)
    except SpecError as exc:
        raise ConfigError(f"analytics.slo (spec_files / specs): {exc}") from exc


def _cost_catalog(settings: Settings) -> None:
    from inferledger.analytics.cost.pricing import load_catalog

    try:
        load_catalog(settings.analytics.cost.catalog_path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"analytics.cost.catalog_path: {exc}") from exc


def _cost_overrides(settings: Settings) -> None:
    from inferledger.analytics.cost.overrides import OverrideFileError, all_overrides

    try:
        all_overrides(settings.analytics.cost)
    except (OverrideFileError, OSError) as exc:
        raise ConfigError(f"analytics.cost.overrides_path: {exc}") from exc


CHECKS: list[Callable[[Settings], None]] = [_slo, _cost_catalog, _cost_overrides]


def check_configuration(settings: Settings) -> None:
    """Raise ConfigError (naming the file and field) when a file the configuration names is bad."""
    for check in CHECKS:
        check(settings)
