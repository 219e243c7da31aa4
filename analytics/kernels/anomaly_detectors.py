"""Streaming anomaly detector kernel (numba): one pass, O(1) state update per point.

Each point is scored from the state built on the points *before* it, then the state
is updated, so a score never looks at the future (the NAB rule and the alerting
rule are the same). Three models run side by side:

* a fast EWMA level with an EW mean-absolute-deviation scale (short-term "normal"),
* a seasonal baseline: per hour-of-week bucket (and per hour-of-day bucket, which
  warms up in a day instead of a week) an EWMA mean and EW abs-deviation, used
  once the bucket has seen `season_min_obs` points,
* a two-sided CUSUM on the standardized residual of a slow level (or of the
  seasonal mean where that is closer, so daily steps are not "shifts"), which catches
  sustained shifts (cost per request creeping up) and re-baselines after an alarm.
  A shift alarms only once it also shows against the series' own seasonal pattern:
  an EWMA (`confirm_alpha`; 1 = the point alone) of the residual against the nearer
  warm season bucket, in that bucket's own scale, must reach `shift_confirm_z`. A smooth
  daily ramp of a per-minute series drifts away from the slow level for hours, but stays
  inside the hour's seasonal spread; an unconfirmed CUSUM is halved, not alarmed.
  A confirmed shift moves every season bucket by the point's residual against it
  (`shift_season`): the pattern moved, and the buckets visited after it would otherwise
  report the same shift once an hour until they relearn it.
* a seasonal CUSUM (`season_cusum_k`, `season_cusum_h`) on the residual against the nearer
  warm season bucket in its own scale, less a slowly tracked offset (re-based at each of its
  alarms and each shift): a day that leaves the series' own pattern smoothly (a missing daily
  peak, a holiday) is an alarm though no point is a spike. It starts after a week of history.

A point is a spike only if it is far from *every* expectation (EWMA and seasonal):
the seasonal model covers the EWMA's lag on daily ramps, the EWMA covers seasonal
buckets that have not seen enough history yet. (`season_select = 1` instead uses the
model with the lowest running error; on NAB the "every model" rule scores higher.)
Two further checks: a value beyond the all-time range by `range_margin` of it, once
`range_min_obs` points were seen, is an alarm (HTM's "spatial anomaly"); and the spike
threshold is calibrated on the series' own history by peaks-over-threshold (SPOT/DSPOT,
Siffer et al. 2017): t is a streaming `pot_q0` quantile of spike z, the excesses over t of
points that did not alarm feed an EW method-of-moments GPD fit (refitted at each excess,
so the power costs one exp per excess, not per point), and so do those of alarms, censored
at `pot_alarm_excess` times the threshold's excess (spikes that recur are the series' own
tail: each raises the threshold a step, one outlier barely moves it), and the threshold is the GPD
quantile at `pot_risk` per point, at least `pot_z_min` (`z_alarm` until `pot_min_exc`
excesses). The older alternative divides spike z by a tracked tail quantile of z
(`tail_p`/`tail_eta`); either way heavy-tailed series need a bigger jump to alarm.

Robustness: every update clips the residual at `huber_k` scales (one spike cannot
drag the baseline; no clipping during warm-up), the EWMAs start as running means
(weight max(alpha, 1/n)) so an empty state does not under-estimate the scale, and
the scale has a floor (absolute, relative to the level, and half the series'
resolution = the smallest non-zero step seen), so flat and integer series never
divide by zero. Gaps in time let the EWMAs catch up by the number of missed steps
(capped at `max_gap_steps`); NaN values score 0 and leave the state untouched.

Scores: `z / (z + z_alarm)` for spikes and `S / (S + cusum_h)` for shifts, so 0.5 is
exactly the alarm boundary and every score is in [0, 1). After an alarm, scores are
multiplied by `suppress_factor` for `suppress_points` points (hysteresis): one
incident raises one alarm, not twenty.

Parameters travel as one float64 array (see `PARAM_NAMES`); the NumPy reference in
tests/reference/anomaly.py implements the same recurrence and a test proves they agree.

Speed: the loop is bound by instructions per point (about 40 live values for 16 registers, so
much of the state lives on the stack), not by memory. What helps and keeps every output bit:
the current hour's two season buckets stay in locals until the hour changes, data-dependent
choices are selects rather than branches, and the warm-up weights 1/n come from a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
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


@nb.njit(cache=True, inline="always", error_model="numpy")
def hour_of_week(ts: int) -> int:
    """Monday 00:00 UTC = 0 (1970-01-01 was a Thursday, hence the +3 days)."""
    days = ts // 86400
    return int(((days + 3) % 7) * 24 + (ts // 3600) % 24)


@nb.njit(cache=True, inline="always", error_model="numpy")
def _cusum_step(pos, neg, u, clip, k):
    """One step of a two-sided CUSUM of u clipped to [-clip, clip], with slack k."""
    u = clip if u > clip else u
    u = -clip if u < -clip else u
    pos = pos + u - k
    neg = neg - u - k
    return (0.0 if pos < 0.0 else pos), (0.0 if neg < 0.0 else neg)


@nb.njit(cache=True, inline="always", error_model="numpy")
def _season_step(m, dv, n, xi, slim, alpha, min_obs, inv):
    """Huber-clipped EWMA of a bucket's mean and abs deviation (returns the new mean, deviation,
    count); the first visit seeds the mean, and the clip applies once the bucket has `min_obs`
    observations. `inv[k]` is 1 / k (`reciprocals`): a lookup, not a division, while n is small."""
    if n < min_obs:
        slim = math.inf
    if n == 0.0:
        m = xi
    else:
        a = alpha
        if alpha * n < 1.0:
            a = inv[int(n)] if n < inv.shape[0] else 1.0 / n
        rb = xi - m
        arb = abs(rb)
        rb = slim if rb > slim else rb
        rb = -slim if rb < -slim else rb
        arb = slim if arb > slim else arb
        m = m + a * rb
        dv = dv + a * (arb - dv)
    return m, dv, n + 1.0


def season_buckets(ts: np.ndarray) -> np.ndarray:
    """Hour-of-week bucket indices; the hour-of-day bucket of b is N_BUCKETS + b % 24
    (one state array of 168 + 24 rows)."""
    hours = ts // 3600
    return (((hours // 24 + 3) % 7) * 24 + hours % 24).astype(np.int64)


@nb.njit(cache=True, error_model="numpy")
def score_one(ts, x, p, inv, out_score, out_expected, out_kind, full, a_idx, a_score, a_expected, a_kind):
    """Score one series. ts: int64 epoch seconds in arrival order, x: float64.

    full: write every point's score, expected value and kind to out_* (else they are not
    touched and may be empty). Either way the alarms (kind != none) are appended to
    a_idx / a_score / a_expected / a_kind while they have room; the return value is the number
    of alarms (more than the room means some were not recorded). The job needs only the alarms:
    writing 17 bytes per point that nobody reads costs more than the bookkeeping.

    inv: `reciprocals(p)`, the running-mean weights 1/n of the warm-up, looked up instead of
    divided (the divider is the busiest unit of this loop). A step back in time
    (out-of-order row) counts as one ordinary step.
    """
    alpha_fast = p[0]
    alpha_scale = p[1]
    alpha_slow = p[2]
    alpha_season = p[3]
    season_min_obs = p[4]
    huber_k = p[5]
    z_alarm = p[6]
    cusum_k = p[7]
    cusum_h = p[8]
    cusum_clip = p[9]
    suppress_points = int(p[10])
    suppress_factor = p[11]
    warmup = int(p[12])
    abs_floor = p[13]
    rel_floor = p[14]
    res_floor = p[15]
    max_gap = p[16]
    tail_p = p[17]
    tail_eta = p[18]
    tail_ref = p[19]
    range_margin = p[20]
    range_min_obs = p[21]
    season_select = p[22]
    shift_confirm = p[23]
    confirm_alpha = p[24]
    pot_q0 = p[25]
    pot_eta = p[26]
    pot_risk = p[27]
    pot_alpha = p[28]
    pot_min_exc = p[29]
    pot_z_min = p[30]
    season_k = p[31]
    season_h = p[32]
    shift_season = p[33] != 0.0
    pot_alarm_excess = p[34]
    # alpha * n >= alpha * (1 / alpha + 1) > 1 from here on, for each of the three weights
    warm_n = int(min(1.0 / min(alpha_fast, alpha_scale, alpha_slow), 1e18)) + 2
    t_up = math.exp(pot_eta * pot_q0)
    t_down = math.exp(-pot_eta * (1.0 - pot_q0))
    # t tracks the q0 quantile, so about (1 - q0) of the points exceed it: the GPD tail
    # quantile at `pot_risk` is t + sigma/gamma * ((risk / (1 - q0))^-gamma - 1)
    # (kept as its log: the power is then one exp per refit)
    log_pot_r = math.log(pot_risk / (1.0 - pot_q0)) if pot_risk > 0.0 else 0.0
    # the tail quantile q is tracked in log space by constant steps, i.e. multiplicatively
    q_up = math.exp(tail_eta * tail_p)
    q_down = math.exp(-tail_eta * (1.0 - tail_p))
    inv_q_up = 1.0 / q_up
    inv_q_down = 1.0 / q_down

    # season state, one row per bucket: (EWMA mean, EW abs deviation, observations).
    # The current hour's two rows live in locals (mw, dw, nw / md, dd, nd) and are written
    # back only when the hour changes: a 5-minute series visits the same buckets 12 times in
    # a row, and keeping them in registers takes a store and reload off every point's chain.
    st = np.zeros((N_BUCKETS + 24, 3))
    cap = a_idx.shape[0]
    n_alarm = 0
    cur_h = -(1 << 62)  # hour (epoch // 3600) of the current season buckets
    cur_w = -1
    cur_d = -1
    mw = 0.0
    dw = 0.0
    nw = 0.0
    md = 0.0
    dd = 0.0
    nd = 0.0
    level = 0.0
    dev = 0.0
    slow = 0.0
    sp = 0.0
    sn = 0.0
    step = math.inf
    resolution = math.inf
    prev_x = 0.0
    prev_t = 0
    seen = 0
    suppress_left = 0
    q = tail_ref  # tracked tail quantile of spike z (never below tail_ref)
    ratio = 1.0   # tail_ref / q, kept alongside q so no division per point
    lo = math.inf
    hi = -math.inf
    e_f = 0.0        # running abs error of each model's prediction (season_select = 1)
    e_w = math.inf
    e_d = math.inf
    cz = 0.0  # EWMA of the standardised seasonal residual (signed): confirms a shift
    pot_t = 1.0      # POT threshold: streaming q0 quantile of spike z
    pot_n = 0.0      # exceedances of t seen
    pot_m1 = 0.0     # EW mean of the excess z - t
    pot_m2 = 0.0     # EW mean of its square
    pot_mult = 1.0   # z_alarm / calibrated threshold: spike z is rescaled by it
    pot_thr = z_alarm  # the calibrated threshold itself (z)
    pot_on = pot_risk > 0.0
    gp = 0.0  # seasonal CUSUM (up / down) of the residual against the nearer warm season bucket
    gn = 0.0
    go = 0.0  # its baseline: the slowly tracked seasonal residual (a lasting shift is not news twice)
    zc = 0.0
    t_first = 0
    season_on = season_h > 0.0
    select_best = season_select != 0.0
    range_on = range_margin > 0.0
    tail_on = tail_eta != 0.0  # (0: q stays tail_ref, ratio 1, so the tracking is skipped)

    for i in range(x.shape[0]):
        xi = x[i]
        ti = ts[i]
        if not math.isfinite(xi):
            if full:
                out_score[i] = 0.0
                out_expected[i] = level if seen > 0 else math.nan
                out_kind[i] = KIND_NONE
            continue
        hr = ti // 3600
        bw = cur_w
        if hr != cur_h:
            cur_h = hr
            bw = ((hr // 24 + 3) % 7) * 24 + hr % 24  # hour of week, Monday 00:00 UTC = 0
        if bw != cur_w:
            # a new hour: both buckets change together (the day bucket is the week bucket's hour)
            if cur_w >= 0:
                st[cur_w, 0] = mw
                st[cur_w, 1] = dw
                st[cur_w, 2] = nw
                st[cur_d, 0] = md
                st[cur_d, 1] = dd
                st[cur_d, 2] = nd
            cur_w = bw
            cur_d = N_BUCKETS + bw % 24
            mw = st[cur_w, 0]
            dw = st[cur_w, 1]
            nw = st[cur_w, 2]
            md = st[cur_d, 0]
            dd = st[cur_d, 1]
            nd = st[cur_d, 2]
        if seen == 0:
            level = xi
            slow = xi
            prev_x = xi
            prev_t = ti
            t_first = ti
            lo = xi
            hi = xi
            mw = xi
            nw = 1.0
            md = xi
            nd = 1.0
            seen = 1
            if full:
                out_score[i] = 0.0
                out_expected[i] = xi
                out_kind[i] = KIND_NONE
            continue

        # time since the previous point: gaps let the EWMAs catch up by more than one step
        dt = ti - prev_t
        if dt > 0 and dt < step:
            step = float(dt)
        gap = 1.0
        if dt > 0 and step < math.inf and dt != step:  # (dt == step, the usual case: gap 1, no division)
            gap = dt / step
            if gap > max_gap:
                gap = max_gap
        if gap == 1.0:
            a_fast = alpha_fast
            a_scale = alpha_scale
            a_slow = alpha_slow
        else:
            a_fast = 1.0 - (1.0 - alpha_fast) ** gap
            a_scale = 1.0 - (1.0 - alpha_scale) ** gap
            a_slow = 1.0 - (1.0 - alpha_slow) ** gap
        # early on, a plain running mean (weight 1/n): an EWMA started at 0 would
        # underestimate the scale and alarm on the first ordinary wiggles
        # (alpha < 1/n written as alpha * n < 1: no division once warmed up)
        # (past warm_n points every weight is above 1/n, and a gap only raises it: one predictable test)
        if seen < warm_n:
            inv_seen = inv[seen] if seen < inv.shape[0] else 1.0 / seen
            if a_fast * seen < 1.0:
                a_fast = inv_seen
            if a_scale * seen < 1.0:
                a_scale = inv_seen
            if a_slow * seen < 1.0:
                a_slow = inv_seen

        # the hot path below is written as selects (x if c else y) rather than branches:
        # which model is nearest, the CUSUM's floor at 0 and the spike/shift choice flip
        # from point to point, and a mispredicted branch costs more than both sides
        floor = abs_floor
        f = rel_floor * abs(slow)
        floor = f if f > floor else floor
        f = res_floor * resolution
        floor = f if (resolution < math.inf and f > floor) else floor
        scale = dev * SIGMA_PER_MAD
        scale = floor if scale < floor else scale

        inv_scale = 1.0 / scale
        r = xi - level
        z = abs(r) * inv_scale
        expected = level
        # CUSUM residual: against the slow level, or a seasonal mean where that fits better
        rcus = xi - slow
        sw_scale = dw * SIGMA_PER_MAD
        sw_scale = floor if sw_scale < floor else sw_scale
        sd_scale = dd * SIGMA_PER_MAD
        sd_scale = floor if sd_scale < floor else sd_scale
        warm_w = nw >= season_min_obs
        warm_d = nd >= season_min_obs
        rw = xi - mw
        rd = xi - md
        # signed seasonal residuals in their buckets' scales: one division each, used by the
        # spike rule and the shift confirmation alike (only a warm bucket's value is read)
        zw = rw / sw_scale
        zw = zw if warm_w else 0.0
        zdd = rd / sd_scale
        zdd = zdd if warm_d else 0.0
        if not select_best:
            zs = abs(zw)
            c = warm_w & (zs < z)
            z = zs if c else z
            expected = mw if c else expected
            c = warm_w & (abs(rw) < abs(rcus))
            rcus = rw if c else rcus
            zs = abs(zdd)
            c = warm_d & (zs < z)
            z = zs if c else z
            expected = md if c else expected
            c = warm_d & (abs(rd) < abs(rcus))
            rcus = rd if c else rcus
        else:
            best = e_f
            if warm_w and e_w < best:
                best = e_w
                z = abs(zw)
                expected = mw
                rcus = rw
            if warm_d and e_d < best:
                z = abs(zdd)
                expected = md
                rcus = rd

        sp, sn = _cusum_step(sp, sn, rcus * inv_scale, cusum_clip, cusum_k)
        cs = sp if sp > sn else sn
        if warm_w or warm_d:
            # the residual against the season, in the bucket's own scale (the nearer bucket if both)
            zc = zw if warm_w else math.inf
            zc = zdd if (warm_d and abs(zdd) < abs(zc)) else zc
            cz = cz + confirm_alpha * (zc - cz)
            if season_on and ti - t_first >= SEASON_CUSUM_HISTORY_S:
                gp, gn = _cusum_step(gp, gn, zc - go, cusum_clip, season_k)
            if shift_confirm > 0.0 and cs >= cusum_h and abs(cz) < shift_confirm:
                # a daily ramp drifts from the slow level but stays inside the hour's seasonal
                # spread: a shift must also show against the series' own pattern
                # (halved, not cleared: a real shift soon shows and needs only a short refill)
                sp = 0.5 * sp
                sn = 0.5 * sn
                cs = 0.5 * cs

        # heavy-tailed series get a higher bar: z relative to its own tail quantile,
        # and to its own calibrated (POT) threshold at the target false-alarm rate
        zn = z * ratio * pot_mult
        # zn/(zn+z_alarm) >= cs/(cs+cusum_h), without the two divisions
        is_spike = zn * cusum_h >= cs * z_alarm
        num = zn if is_spike else cs
        score = num / (num + (z_alarm if is_spike else cusum_h))
        kind = KIND_SPIKE if is_spike else KIND_SHIFT
        expected = expected if is_spike else xi - rcus
        gs = gp if gp > gn else gn
        if season_on and gs * (num + (z_alarm if is_spike else cusum_h)) > num * (gs + season_h):
            # the series has left its own seasonal pattern for a while (a missing daily peak, a
            # holiday), though it moved too smoothly for the spike rule and the slow level
            score = gs / (gs + season_h)
            kind = KIND_SHIFT
            expected = mw if (warm_w and abs(zw) <= abs(zdd)) or not warm_d else md
        if range_on and seen >= range_min_obs and hi > lo:
            # a new extreme well outside everything seen so far (HTM's "spatial anomaly")
            width = hi - lo
            if xi > hi + range_margin * width or xi < lo - range_margin * width:
                excess = (xi - hi) / width if xi > hi else (lo - xi) / width
                s_range = 0.5 + 0.49 * (excess / (excess + 1.0))
                if s_range > score:
                    score = s_range
                    kind = KIND_SPIKE
        if seen < warmup:
            score = 0.0
        if suppress_left > 0:
            score = score * suppress_factor
            suppress_left -= 1
        elif score >= 0.5:
            suppress_left = suppress_points
        kind = KIND_NONE if score < 0.5 else kind
        if full:
            out_score[i] = score
            out_expected[i] = expected
            out_kind[i] = kind
        if kind != KIND_NONE:
            if n_alarm < cap:
                a_idx[n_alarm] = i
                a_score[n_alarm] = score
                a_expected[n_alarm] = expected
                a_kind[n_alarm] = kind
            n_alarm += 1

        # state update (after scoring: the score saw only the past)
        # no clipping while warming up: the scale is still being learnt
        lim = huber_k * scale if seen >= warmup else math.inf
        rc = lim if r > lim else r
        rc = -lim if r < -lim else rc
        level = level + a_fast * rc
        ar = abs(r)
        ar = lim if ar > lim else ar
        dev = dev + a_scale * (ar - dev)
        rs = xi - slow
        rs = lim if rs > lim else rs
        rs = -lim if rs < -lim else rs
        slow = slow + a_slow * rs
        if season_on and (warm_w or warm_d) and ti - t_first >= SEASON_CUSUM_HISTORY_S:
            if gs >= season_h or cs >= cusum_h:
                # re-baseline at the new offset from the season, as the level is below
                gp = 0.0
                gn = 0.0
                go = 0.0 if (cs >= cusum_h and shift_season) else zc
            else:
                v = zc - go
                v = cusum_clip if v > cusum_clip else v
                v = -cusum_clip if v < -cusum_clip else v
                go = go + a_slow * v
        if cs >= cusum_h:
            # a sustained shift: re-baseline at the new level and start the CUSUM afresh
            sp = 0.0
            sn = 0.0
            level = xi
            slow = xi
            if shift_season:
                # the whole pattern moved: every season bucket moves by this point's residual
                # against it, so the buckets not visited since do not report the shift again
                dwm = rw if warm_w else 0.0
                ddm = rd if warm_d else 0.0
                for b in range(N_BUCKETS):
                    st[b, 0] += dwm
                for b in range(N_BUCKETS, N_BUCKETS + 24):
                    st[b, 0] += ddm
                mw += dwm
                md += ddm
        if select_best:
            ar = abs(r)
            if ar > lim:
                ar = lim
            e_f = e_f + a_scale * (ar - e_f)
            if warm_w:
                ar = abs(rw)
                if ar > lim:
                    ar = lim
                e_w = ar if e_w == math.inf else e_w + a_scale * (ar - e_w)
            if warm_d:
                ar = abs(rd)
                if ar > lim:
                    ar = lim
                e_d = ar if e_d == math.inf else e_d + a_scale * (ar - e_d)
        mw, dw, nw = _season_step(mw, dw, nw, xi, huber_k * sw_scale, alpha_season, season_min_obs, inv)
        md, dd, nd = _season_step(md, dd, nd, xi, huber_k * sd_scale, alpha_season, season_min_obs, inv)
        if tail_on:
            up = z > q
            q = q * (q_up if up else q_down)
            ratio = ratio * (inv_q_up if up else inv_q_down)
            if q < tail_ref:
                q = tail_ref
                ratio = 1.0
        if pot_on and seen >= warmup:
            # about 1 - pot_q0 of the points exceed t, at random: the step of t is a select,
            # only the rarer refit (an exceedance) is a branch
            exc = z > pot_t
            if exc:
                # an exceedance refits the GPD by the method of moments; one beyond the threshold
                # (an alarm) only with pot_alarm_excess > 0, its excess censored at that multiple of
                # the threshold's own excess: spikes that recur raise the threshold step by step
                # (the series' tail is heavier than fitted), one outlier barely moves it
                y = z - pot_t
                fit = zn < z_alarm
                if not fit and pot_alarm_excess > 0.0:
                    y_cap = pot_alarm_excess * (pot_thr - pot_t)
                    fit = y_cap > 0.0
                    y = y_cap if y > y_cap else y
                if fit:
                    pot_n += 1.0
                    a = pot_alpha
                    if pot_alpha * pot_n < 1.0:
                        a = inv[int(pot_n)] if pot_n < inv.shape[0] else 1.0 / pot_n
                    pot_m1 = pot_m1 + a * (y - pot_m1)
                    pot_m2 = pot_m2 + a * (y * y - pot_m2)
                    if pot_n >= pot_min_exc:
                        var = pot_m2 - pot_m1 * pot_m1
                        if var > 0.0:
                            k2 = pot_m1 * pot_m1 / var
                            gam = 0.5 * (1.0 - k2)
                            sig = 0.5 * pot_m1 * (1.0 + k2)
                        else:
                            gam = 0.0
                            sig = pot_m1
                        if gam > POT_GAMMA_MAX:
                            gam = POT_GAMMA_MAX
                        elif gam < -POT_GAMMA_MAX:
                            gam = -POT_GAMMA_MAX
                        if abs(gam) > 1e-6:
                            ext = sig / gam * (math.exp(-gam * log_pot_r) - 1.0)
                        else:
                            ext = -sig * log_pot_r
                        thr = pot_t + ext
                        if thr < pot_z_min:
                            thr = pot_z_min
                        pot_mult = z_alarm / thr
                        pot_thr = thr
            pot_t = pot_t * (t_up if exc else t_down)
            pot_t = POT_T_MIN if (pot_t < POT_T_MIN and not exc) else pot_t  # the floor binds on the way down
        lo = xi if xi < lo else lo
        hi = xi if xi > hi else hi
        d = abs(xi - prev_x)
        resolution = d if (d > 0.0 and d < resolution) else resolution
        prev_x = xi
        prev_t = ti
        seen += 1
    return n_alarm


@nb.njit(cache=True, parallel=True, error_model="numpy")
def score_batch(ts, x, p, inv, out_score, out_expected, out_kind):
    """Score many series at once (rows), sharing one time axis; rows run in parallel."""
    no_i = np.empty(0, dtype=np.int64)
    no_f = np.empty(0, dtype=np.float64)
    no_k = np.empty(0, dtype=np.int8)
    for s in nb.prange(x.shape[0]):
        score_one(ts, x[s], p, inv, out_score[s], out_expected[s], out_kind[s], True, no_i, no_f, no_f, no_k)


@nb.njit(cache=True, parallel=True, error_model="numpy")
def score_list(ts_list, x_list, p, inv, full_off, full_score, full_expected, full_kind,
               a_off, a_idx, a_score, a_expected, a_kind, counts):
    """Score many series of any lengths and time axes in parallel, each exactly as alone.

    Series s writes its alarms to a_*[a_off[s]:a_off[s + 1]] and their number to counts[s];
    where full_off[s] >= 0 it also writes every point to full_*[full_off[s]:][:len]. Nothing is
    gridded or copied: each series is read where it lies.
    """
    for i in nb.prange(full_off.shape[0]):
        s = np.int64(i)
        x = x_list[s]
        n = x.shape[0]
        fo = full_off[s]
        full = fo >= 0
        lo = fo if full else 0
        hi = fo + n if full else 0
        a = a_off[s]
        b = a_off[s + 1]
        counts[s] = score_one(ts_list[s], x, p, inv, full_score[lo:hi], full_expected[lo:hi], full_kind[lo:hi],
                              full, a_idx[a:b], a_score[a:b], a_expected[a:b], a_kind[a:b])


def _check_series(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    x = np.ascontiguousarray(values, dtype=np.float64)
    if ts.shape != x.shape or ts.ndim != 1:
        raise ValueError(f"timestamps and values must be 1-D and equally long, got {ts.shape} and {x.shape}")
    return ts, x


_NO_I = np.empty(0, dtype=np.int64)
_NO_F = np.empty(0, dtype=np.float64)
_NO_K = np.empty(0, dtype=np.int8)


def score_series(ts: np.ndarray, values: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, expected values and alarm kinds for one series (kind 0 none, 1 spike, 2 shift)."""
    ts, x = _check_series(ts, values)
    p = _check_params(params)
    score = np.empty_like(x)
    expected = np.empty_like(x)
    kind = np.empty(x.shape, dtype=np.int8)
    score_one(ts, x, p, reciprocals(p), score, expected, kind, True, _NO_I, _NO_F, _NO_F, _NO_K)
    return score, expected, kind


def score_matrix(ts: np.ndarray, values: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch form: `values` is (series, time) on the shared time axis `ts`."""
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    x = np.ascontiguousarray(values, dtype=np.float64)
    if x.ndim != 2 or ts.ndim != 1 or ts.shape[0] != x.shape[1]:
        raise ValueError(f"values must be (series, time) matching ts; got {x.shape} and {ts.shape}")
    p = _check_params(params)
    score = np.empty_like(x)
    expected = np.empty_like(x)
    kind = np.empty(x.shape, dtype=np.int8)
    score_batch(ts, x, p, reciprocals(p), score, expected, kind)
    return score, expected, kind


@dataclass(frozen=True)
class SeriesAlarms:
    """One series' alarms (positions in the series, ascending) and, where asked for, every point."""

    index: np.ndarray     # int64
    score: np.ndarray     # float64
    expected: np.ndarray  # float64
    kind: np.ndarray      # int8, never KIND_NONE
    full: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (score, expected, kind) of every point


def alarm_capacity(n: int, p: np.ndarray) -> int:
    """Room for a series' alarms: an alarm damps the next `suppress_points` scores by
    `suppress_factor`, and a damped score (< 1 * factor) cannot alarm when factor <= 0.5,
    so at most one alarm per suppress_points + 1 points. Otherwise room for every point."""
    if p[11] <= 0.5:
        return min(n, n // (int(p[10]) + 1) + 1)
    return n


# series per scheduling chunk of the parallel loop: threads take chunks as they finish, so a
# thread slowed by a busy neighbour does not hold the others up
PARALLEL_CHUNK = 16


def score_alarms(ts_list: list[np.ndarray], values_list: list[np.ndarray], params: np.ndarray,
                 full: list[bool] | None = None) -> list[SeriesAlarms]:
    """Score many series (any lengths, any time axes) in one parallel call; each gets exactly
    what `score_series` gives it alone, but only its alarms come back, plus every point's
    output for the series flagged in `full`."""
    p = _check_params(params)
    n = len(values_list)
    if len(ts_list) != n or (full is not None and len(full) != n):
        raise ValueError("one time axis (and one full flag) per series")
    checked = [_check_series(t, v) for t, v in zip(ts_list, values_list)]
    tl = nb.typed.List()
    xl = nb.typed.List()
    for t, v in checked:
        tl.append(t)
        xl.append(v)
    lens = np.fromiter((len(v) for _, v in checked), dtype=np.int64, count=n)
    want = np.zeros(n, dtype=bool) if full is None else np.asarray(full, dtype=bool)
    full_off = np.where(want, np.cumsum(np.where(want, lens, 0)) - lens, -1).astype(np.int64)
    n_full = int(lens[want].sum())
    caps = np.fromiter((alarm_capacity(int(k), p) for k in lens), dtype=np.int64, count=n)
    a_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(caps, out=a_off[1:])
    m = int(a_off[-1])
    fs, fe, fk = np.empty(n_full), np.empty(n_full), np.empty(n_full, dtype=np.int8)
    a_idx, a_s, a_e, a_k = np.empty(m, dtype=np.int64), np.empty(m), np.empty(m), np.empty(m, dtype=np.int8)
    counts = np.zeros(n, dtype=np.int64)
    if n:
        with nb.parallel_chunksize(PARALLEL_CHUNK):
            score_list(tl, xl, p, reciprocals(p), full_off, fs, fe, fk, a_off, a_idx, a_s, a_e, a_k, counts)
    out = []
    for s in range(n):
        c = int(counts[s])
        f = None
        if want[s]:
            lo, hi = int(full_off[s]), int(full_off[s]) + int(lens[s])
            f = (fs[lo:hi], fe[lo:hi], fk[lo:hi])
        if c > caps[s]:  # more alarms than room (not possible with the damping above): score it alone
            sc, ex, kd = score_series(checked[s][0], checked[s][1], p)
            idx = np.flatnonzero(kd != KIND_NONE)
            out.append(SeriesAlarms(idx, sc[idx], ex[idx], kd[idx], f))
            continue
        a = int(a_off[s])
        out.append(SeriesAlarms(a_idx[a:a + c], a_s[a:a + c], a_e[a:a + c], a_k[a:a + c], f))
    return out


def reciprocals(p: np.ndarray) -> np.ndarray:
    """1 / k for every k below the longest running-mean phase (1 / smallest EWMA weight), k = 0 unused.

    A running mean uses weight 1/n while alpha * n < 1; the table holds exactly the values the
    division would give, so the lookup changes no bit of the output. Capped; past it, the kernel divides.
    """
    alphas = [a for a in (p[0], p[1], p[2], p[3], p[28]) if a > 0.0]
    n = int(min(1.0 / min(alphas), float(INV_TABLE_MAX))) + 2 if alphas else 2
    with np.errstate(divide="ignore"):
        return 1.0 / np.arange(n, dtype=np.float64)


def _check_params(params: np.ndarray) -> np.ndarray:
    p = np.ascontiguousarray(params, dtype=np.float64)
    if p.shape != (N_PARAMS,):
        raise ValueError(f"params must have {N_PARAMS} entries ({', '.join(PARAM_NAMES)}), got {p.shape}")
    return p
