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

Parameters travel as one float64 array (see `anomaly_params.PARAM_NAMES`); the NumPy reference in
tests/reference/anomaly.py implements the same recurrence and a test proves they agree. The
per-point steps are in `anomaly_steps` (inlined), the parallel entry points in `anomaly_batch`.

Speed: the loop is bound by instructions per point (about 40 live values for 16 registers, so
much of the state lives on the stack), not by memory. What helps and keeps every output bit:
the current hour's two season buckets stay in locals until the hour changes, data-dependent
choices are selects rather than branches, and the warm-up weights 1/n come from a table.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from inferledger.analytics.kernels.anomaly_params import (
    KIND_NONE,
    KIND_SHIFT,
    KIND_SPIKE,
    N_BUCKETS,
    POT_T_MIN,
    SEASON_CUSUM_HISTORY_S,
    SIGMA_PER_MAD,
)
from inferledger.analytics.kernels.anomaly_steps import (
    cusum_step,
    gap_weights,
    loop_constants,
    model_errors,
    move_season,
    nearer_season,
    pot_moments,
    pot_threshold,
    range_score,
    scale_floor,
    season_residual,
    season_step,
    tail_step,
    warmup_weights,
)


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
    tail_eta = p[18]
    tail_ref = p[19]
    range_margin = p[20]
    range_min_obs = p[21]
    season_select = p[22]
    shift_confirm = p[23]
    confirm_alpha = p[24]
    pot_risk = p[27]
    pot_alpha = p[28]
    pot_min_exc = p[29]
    pot_z_min = p[30]
    season_k = p[31]
    season_h = p[32]
    shift_season = p[33] != 0.0
    pot_alarm_excess = p[34]
    warm_n, t_up, t_down, log_pot_r, q_up, q_down, inv_q_up, inv_q_down = loop_constants(p)

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
                st[cur_w, 0], st[cur_w, 1], st[cur_w, 2] = mw, dw, nw
                st[cur_d, 0], st[cur_d, 1], st[cur_d, 2] = md, dd, nd
            cur_w = bw
            cur_d = N_BUCKETS + bw % 24
            mw, dw, nw = st[cur_w, 0], st[cur_w, 1], st[cur_w, 2]
            md, dd, nd = st[cur_d, 0], st[cur_d, 1], st[cur_d, 2]
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
        step, a_fast, a_scale, a_slow = gap_weights(ti - prev_t, step, max_gap, alpha_fast, alpha_scale, alpha_slow)
        # early on, a plain running mean (weight 1/n): an EWMA started at 0 would
        # underestimate the scale and alarm on the first ordinary wiggles
        # (alpha < 1/n written as alpha * n < 1: no division once warmed up)
        # (past warm_n points every weight is above 1/n, and a gap only raises it: one predictable test)
        if seen < warm_n:
            a_fast, a_scale, a_slow = warmup_weights(a_fast, a_scale, a_slow, seen, inv)

        # the hot path below is written as selects (x if c else y) rather than branches:
        # which model is nearest, the CUSUM's floor at 0 and the spike/shift choice flip
        # from point to point, and a mispredicted branch costs more than both sides
        floor = scale_floor(abs_floor, rel_floor, res_floor, slow, resolution)
        scale = dev * SIGMA_PER_MAD
        scale = floor if scale < floor else scale

        inv_scale = 1.0 / scale
        r = xi - level
        z = abs(r) * inv_scale
        expected = level
        # CUSUM residual: against the slow level, or a seasonal mean where that fits better
        rcus = xi - slow
        sw_scale, warm_w, rw, zw = season_residual(xi, mw, dw, nw, floor, season_min_obs)
        sd_scale, warm_d, rd, zdd = season_residual(xi, md, dd, nd, floor, season_min_obs)
        if not select_best:
            z, expected, rcus = nearer_season(z, expected, rcus, zw, mw, rw, warm_w)
            z, expected, rcus = nearer_season(z, expected, rcus, zdd, md, rd, warm_d)
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

        sp, sn = cusum_step(sp, sn, rcus * inv_scale, cusum_clip, cusum_k)
        cs = sp if sp > sn else sn
        if warm_w or warm_d:
            # the residual against the season, in the bucket's own scale (the nearer bucket if both)
            zc = zw if warm_w else math.inf
            zc = zdd if (warm_d and abs(zdd) < abs(zc)) else zc
            cz = cz + confirm_alpha * (zc - cz)
            if season_on and ti - t_first >= SEASON_CUSUM_HISTORY_S:
                gp, gn = cusum_step(gp, gn, zc - go, cusum_clip, season_k)
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
            # a new extreme well outside everything seen so far (0.0 inside it, which never beats a score)
            s_range = range_score(xi, lo, hi, range_margin)
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
                move_season(st, dwm, ddm)
                mw += dwm
                md += ddm
        if select_best:
            e_f, e_w, e_d = model_errors(e_f, e_w, e_d, r, rw, rd, warm_w, warm_d, lim, a_scale)
        mw, dw, nw = season_step(mw, dw, nw, xi, huber_k * sw_scale, alpha_season, season_min_obs, inv)
        md, dd, nd = season_step(md, dd, nd, xi, huber_k * sd_scale, alpha_season, season_min_obs, inv)
        if tail_on:
            q, ratio = tail_step(q, ratio, z, q_up, q_down, inv_q_up, inv_q_down, tail_ref)
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
                    pot_n, pot_m1, pot_m2 = pot_moments(pot_n, pot_m1, pot_m2, y, pot_alpha, inv)
                    if pot_n >= pot_min_exc:
                        pot_mult, pot_thr = pot_threshold(pot_m1, pot_m2, pot_t, log_pot_r, z_alarm, pot_z_min)
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
