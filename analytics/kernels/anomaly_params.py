"""The anomaly detector's parameter vector and the constants the scoring loop and its reference share.

The numba kernel takes its parameters as one float64 array (positions fixed by `PARAM_NAMES`,
which `DetectorConfig` mirrors field by field), so everything that checks or sizes that array
lives here, apart from the loop itself: the NumPy reference in tests/reference/anomaly.py and the
batch entry points read the same names and constants without importing the compiled loop.
"""

from __future__ import annotations

import numpy as np

PARAM_NAMES = (
    "alpha_fast",       # EWMA weight of the fast level
    "alpha_scale",      # EWMA weight of the abs-deviation scale
    "alpha_slow",       # EWMA weight of the CUSUM's slow level
    "alpha_season",     # EWMA weight of the per-bucket seasonal mean / deviation
    "season_min_obs",   # bucket observations before the seasonal model is used
    "huber_k",          # residual clip in scales, for every update
    "z_alarm",          # spike z that scores 0.5
    "cusum_k",          # CUSUM slack (in scales)
    "cusum_h",          # CUSUM alarm level (scores 0.5)
    "cusum_clip",       # per-point CUSUM increment cap, so one spike is not a shift
    "suppress_points",  # points after an alarm whose scores are damped
    "suppress_factor",  # damping factor during suppression
    "warmup_points",    # first points score 0 (the state is still empty)
    "abs_floor",        # absolute scale floor
    "rel_floor",        # scale floor relative to |slow level|
    "res_floor",        # scale floor relative to the series resolution
    "max_gap_steps",    # cap on the EWMA catch-up after a gap, in steps
    "tail_p",           # quantile of the series' own spike z tracked for normalisation
    "tail_eta",         # step of the streaming log-quantile estimate (0 disables)
    "tail_ref",         # spike z is rescaled so the tracked quantile maps to this value
    "range_margin",     # a value beyond the all-time range by this fraction of it is an alarm (0 disables)
    "range_min_obs",    # points seen before the range check applies (early records are not news)
    "season_select",    # 0: a point must be far from every model; 1: use the model with the lowest running error
    "shift_confirm_z",  # a CUSUM shift alarms only if the recent seasonal residual is this many scales off (0 disables)
    "confirm_alpha",    # EWMA weight of that recent seasonal residual (about 1/points averaged)
    "pot_q0",           # POT: quantile of the series' own spike z tracked as the exceedance threshold t
    "pot_eta",          # POT: step of the streaming log-quantile estimate of t
    "pot_risk",         # POT: target probability per point that an ordinary point alarms (0 disables POT)
    "pot_alpha",        # POT: EWMA weight of the exceedance moments (about 1/exceedances remembered)
    "pot_min_exc",      # POT: exceedances seen before the calibrated threshold is used
    "pot_z_min",        # POT: the calibrated spike threshold never drops below this z
    "season_cusum_k",   # seasonal CUSUM slack, in season-bucket scales
    "season_cusum_h",   # seasonal CUSUM alarm level (scores 0.5; 0 disables)
    "shift_season",     # 1: a level-shift alarm moves every season bucket by the shift too (0: buckets relearn)
    "pot_alarm_excess",  # POT: alarmed exceedances refit too, their excess capped at this x (threshold - t); 0: left out
)
N_PARAMS = len(PARAM_NAMES)
N_BUCKETS = 168
SIGMA_PER_MAD = 1.2533141373155001  # sqrt(pi/2): mean abs deviation -> sigma for a normal

POT_T_MIN = 0.5    # the POT threshold t never drops below half a scale (flat series)
POT_GAMMA_MAX = 0.2  # GPD shape clamp

# the seasonal CUSUM starts after a week of history: before it, the hour-of-day buckets have
# not seen a weekend, and a quiet Saturday would read as the daily pattern broken
SEASON_CUSUM_HISTORY_S = 7 * 86400

INV_TABLE_MAX = 1 << 16  # entries of the 1/n table at most (512 KiB)

KIND_NONE = 0
KIND_SPIKE = 1
KIND_SHIFT = 2


def check_params(params: np.ndarray) -> np.ndarray:
    """The parameter vector as the kernel takes it: contiguous float64 of `N_PARAMS` entries."""
    p = np.ascontiguousarray(params, dtype=np.float64)
    if p.shape != (N_PARAMS,):
        raise ValueError(f"params must have {N_PARAMS} entries ({', '.join(PARAM_NAMES)}), got {p.shape}")
    return p


def reciprocals(p: np.ndarray) -> np.ndarray:
    """1 / k for every k below the longest running-mean phase (1 / smallest EWMA weight), k = 0 unused.

    A running mean uses weight 1/n while alpha * n < 1; the table holds exactly the values the
    division would give, so the lookup changes no bit of the output. Capped; past it, the kernel divides.
    """
    alphas = [a for a in (p[0], p[1], p[2], p[3], p[28]) if a > 0.0]
    n = int(min(1.0 / min(alphas), float(INV_TABLE_MAX))) + 2 if alphas else 2
    with np.errstate(divide="ignore"):
        return 1.0 / np.arange(n, dtype=np.float64)


def alarm_capacity(n: int | np.ndarray, p: np.ndarray) -> int | np.ndarray:
    """Room for a series' alarms (n its points; an int, or an array of them for many series): an
    alarm damps the next `suppress_points` scores by `suppress_factor`, and a damped score
    (< 1 * factor) cannot alarm when factor <= 0.5, so at most one alarm per suppress_points + 1
    points. Otherwise room for every point."""
    if p[11] <= 0.5:
        return np.minimum(n, n // (int(p[10]) + 1) + 1)
    return n
