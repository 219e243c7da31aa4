"""Plain NumPy reference of the streaming detector in `analytics/kernels/anomaly_loop.py`.

Same recurrence, written the obvious way: a Python loop over time, NumPy over the
series axis. It exists to prove the numba kernel right (tests compare them to
1e-12) and as the baseline the benchmark reports next to the kernel.
"""

from __future__ import annotations

import numpy as np

from inferledger.analytics.kernels.anomaly_params import (
    KIND_NONE,
    KIND_SHIFT,
    KIND_SPIKE,
    N_BUCKETS,
    POT_GAMMA_MAX,
    POT_T_MIN,
    SEASON_CUSUM_HISTORY_S,
    SIGMA_PER_MAD,
    check_params,
)


def hour_of_week_np(ts: np.ndarray) -> np.ndarray:
    days = ts // 86400
    return (((days + 3) % 7) * 24 + (ts // 3600) % 24).astype(np.int64)


def score_matrix_reference(ts: np.ndarray, values: np.ndarray, params: np.ndarray):
    """(scores, expected, kind) for `values` shaped (series, time) on shared `ts`."""
    p = check_params(params)
    (alpha_fast, alpha_scale, alpha_slow, alpha_season, season_min_obs, huber_k, z_alarm,
     cusum_k, cusum_h, cusum_clip, suppress_points, suppress_factor, warmup, abs_floor,
     rel_floor, res_floor, max_gap, tail_p, tail_eta, tail_ref, range_margin, range_min_obs, season_select, shift_confirm, confirm_alpha,
     pot_q0, pot_eta, pot_risk, pot_alpha, pot_min_exc, pot_z_min, season_k, season_h, shift_season,
     pot_alarm_excess) = p
    suppress_points = int(suppress_points)
    warmup = int(warmup)
    ts = np.asarray(ts, dtype=np.int64)
    x = np.asarray(values, dtype=np.float64)
    S, T = x.shape
    rows = np.arange(S)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # np.where evaluates both branches
        return _run(ts, x, S, T, rows, alpha_fast, alpha_scale, alpha_slow, alpha_season, season_min_obs, huber_k,
                    z_alarm, cusum_k, cusum_h, cusum_clip, suppress_points, suppress_factor, warmup, abs_floor,
                    rel_floor, res_floor, max_gap, tail_p, tail_eta, tail_ref, range_margin, range_min_obs, season_select, shift_confirm, confirm_alpha,
                    (pot_q0, pot_eta, pot_risk, pot_alpha, pot_min_exc, pot_z_min, pot_alarm_excess),
                    (season_k, season_h, shift_season))


def _run(ts, x, S, T, rows, alpha_fast, alpha_scale, alpha_slow, alpha_season, season_min_obs, huber_k,
         z_alarm, cusum_k, cusum_h, cusum_clip, suppress_points, suppress_factor, warmup, abs_floor,
         rel_floor, res_floor, max_gap, tail_p, tail_eta, tail_ref, range_margin, range_min_obs, season_select, shift_confirm, confirm_alpha, pot, season):
    pot_q0, pot_eta, pot_risk, pot_alpha, pot_min_exc, pot_z_min, pot_alarm_excess = pot
    season_k, season_h, shift_season = season
    gp = np.zeros(S)
    gn = np.zeros(S)
    go = np.zeros(S)
    t_first = np.zeros(S, dtype=np.int64)
    t_up = np.exp(pot_eta * pot_q0)
    t_down = np.exp(-pot_eta * (1.0 - pot_q0))
    log_pot_r = np.log(pot_risk / (1.0 - pot_q0)) if pot_risk > 0.0 else 0.0
    pot_t = np.ones(S)
    pot_n = np.zeros(S)
    pot_m1 = np.zeros(S)
    pot_m2 = np.zeros(S)
    pot_mult = np.ones(S)
    pot_thr = np.full(S, z_alarm)
    out_score = np.empty((S, T))
    out_expected = np.empty((S, T))
    out_kind = np.empty((S, T), dtype=np.int8)
    s_mean = np.zeros((S, N_BUCKETS + 24))
    s_dev = np.zeros((S, N_BUCKETS + 24))
    s_n = np.zeros((S, N_BUCKETS + 24))
    level = np.zeros(S)
    dev = np.zeros(S)
    slow = np.zeros(S)
    sp = np.zeros(S)
    sn = np.zeros(S)
    step = np.full(S, np.inf)
    resolution = np.full(S, np.inf)
    prev_x = np.zeros(S)
    prev_t = np.zeros(S, dtype=np.int64)
    seen = np.zeros(S, dtype=np.int64)
    suppress_left = np.zeros(S, dtype=np.int64)
    q_up = np.exp(tail_eta * tail_p)
    q_down = np.exp(-tail_eta * (1.0 - tail_p))
    inv_q_up = 1.0 / q_up
    inv_q_down = 1.0 / q_down
    q = np.full(S, tail_ref)
    ratio = np.ones(S)
    lo = np.full(S, np.inf)
    e_f = np.zeros(S)
    e_w = np.full(S, np.inf)
    e_d = np.full(S, np.inf)
    cz = np.zeros(S)
    hi = np.full(S, -np.inf)
    how = hour_of_week_np(ts)
    hod = (ts // 3600) % 24
    for i in range(T):
        xi = x[:, i]
        ti = ts[i]
        bw = how[i]
        bd = N_BUCKETS + hod[i]
        finite = np.isfinite(xi)
        first = finite & (seen == 0)
        act = finite & (seen > 0)
        # missing points
        miss = ~finite
        out_score[miss, i] = 0.0
        out_expected[miss, i] = np.where(seen[miss] > 0, level[miss], np.nan)
        out_kind[miss, i] = KIND_NONE
        # first point of a series
        level[first] = xi[first]
        lo[first] = xi[first]
        hi[first] = xi[first]
        slow[first] = xi[first]
        prev_x[first] = xi[first]
        prev_t[first] = ti
        t_first[first] = ti
        for bk in (bw, bd):
            s_mean[first, bk] = xi[first]
            s_n[first, bk] = 1.0
        out_score[first, i] = 0.0
        out_expected[first, i] = xi[first]
        out_kind[first, i] = KIND_NONE
        seen[first] = 1
        if not act.any():
            continue

        dt = ti - prev_t
        step = np.where(act & (dt > 0) & (dt < step), dt.astype(np.float64), step)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.where((dt > 0) & (step < np.inf), dt / step, 1.0)
        gap = np.minimum(gap, max_gap)
        one = gap == 1.0
        a_fast = np.where(one, alpha_fast, 1.0 - (1.0 - alpha_fast) ** gap)
        a_scale = np.where(one, alpha_scale, 1.0 - (1.0 - alpha_scale) ** gap)
        a_slow = np.where(one, alpha_slow, 1.0 - (1.0 - alpha_slow) ** gap)
        inv_seen = 1.0 / seen
        a_fast = np.where(a_fast * seen < 1.0, inv_seen, a_fast)
        a_scale = np.where(a_scale * seen < 1.0, inv_seen, a_scale)
        a_slow = np.where(a_slow * seen < 1.0, inv_seen, a_slow)

        floor = np.maximum(abs_floor, rel_floor * np.abs(slow))
        floor = np.where(resolution < np.inf, np.maximum(floor, res_floor * resolution), floor)
        scale = np.maximum(dev * SIGMA_PER_MAD, floor)

        inv_scale = 1.0 / scale
        r = xi - level
        z = np.abs(r) * inv_scale
        expected = level.copy()
        rcus = xi - slow
        smw = s_mean[:, bw]
        smd = s_mean[:, bd]
        sw_scale = np.maximum(s_dev[:, bw] * SIGMA_PER_MAD, floor)
        sd_scale = np.maximum(s_dev[:, bd] * SIGMA_PER_MAD, floor)
        warm_w = s_n[:, bw] >= season_min_obs
        warm_d = s_n[:, bd] >= season_min_obs
        rw = xi - smw
        rd = xi - smd
        if season_select == 0.0:
            for rs_, sm, s_scale, warm in ((rw, smw, sw_scale, warm_w), (rd, smd, sd_scale, warm_d)):
                zs = np.abs(rs_) / s_scale
                better = warm & (zs < z)
                z = np.where(better, zs, z)
                expected = np.where(better, sm, expected)
                rcus = np.where(warm & (np.abs(rs_) < np.abs(rcus)), rs_, rcus)
        else:
            best = e_f.copy()
            use_w = warm_w & (e_w < best)
            best = np.where(use_w, e_w, best)
            z = np.where(use_w, np.abs(rw) / sw_scale, z)
            expected = np.where(use_w, smw, expected)
            rcus = np.where(use_w, rw, rcus)
            use_d = warm_d & (e_d < best)
            z = np.where(use_d, np.abs(rd) / sd_scale, z)
            expected = np.where(use_d, smd, expected)
            rcus = np.where(use_d, rd, rcus)

        u = np.clip(rcus * inv_scale, -cusum_clip, cusum_clip)
        sp_new = np.maximum(sp + u - cusum_k, 0.0)
        sn_new = np.maximum(sn - u - cusum_k, 0.0)
        cs = np.where(sp_new > sn_new, sp_new, sn_new)
        warm_any = warm_w | warm_d
        zc = np.where(warm_w, rw / sw_scale, np.inf)
        zd = rd / sd_scale
        zc = np.where(warm_d & (np.abs(zd) < np.abs(zc)), zd, zc)
        cz_new = np.where(warm_any, cz + confirm_alpha * (zc - cz), cz)
        v = np.clip(zc - go, -cusum_clip, cusum_clip)
        season_live = warm_any & (season_h > 0.0) & (ti - t_first >= SEASON_CUSUM_HISTORY_S)
        gp_new = np.where(season_live, np.maximum(gp + v - season_k, 0.0), gp)
        gn_new = np.where(season_live, np.maximum(gn - v - season_k, 0.0), gn)
        unconfirmed = warm_any & (shift_confirm > 0.0) & (cs >= cusum_h) & (np.abs(cz_new) < shift_confirm)
        sp_new = np.where(unconfirmed, 0.5 * sp_new, sp_new)
        sn_new = np.where(unconfirmed, 0.5 * sn_new, sn_new)
        cs = np.where(unconfirmed, 0.5 * cs, cs)

        zn = z * ratio * pot_mult
        spike = zn * cusum_h >= cs * z_alarm
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(spike, zn / (zn + z_alarm), cs / (cs + cusum_h))
        kind = np.where(spike, KIND_SPIKE, KIND_SHIFT).astype(np.int8)
        expected = np.where(spike, expected, xi - rcus)
        if season_h > 0.0:
            # the seasonal CUSUM wins where its score is higher
            gs = np.maximum(gp_new, gn_new)
            s_season = gs / (gs + season_h)
            take = s_season > score
            score = np.where(take, s_season, score)
            kind = np.where(take, KIND_SHIFT, kind).astype(np.int8)
            near_w = (warm_w & (np.abs(rw / sw_scale) <= np.abs(np.where(warm_d, rd / sd_scale, 0.0)))) | ~warm_d
            expected = np.where(take, np.where(near_w, smw, smd), expected)
            season_reset = season_live & ((gs >= season_h) | (cs >= cusum_h))
            gp_new = np.where(season_reset, 0.0, gp_new)
            gn_new = np.where(season_reset, 0.0, gn_new)
            go_reset = np.where((cs >= cusum_h) & (shift_season != 0.0), 0.0, zc)
            go_new = np.where(season_reset, go_reset, np.where(season_live, go + a_slow * v, go))
        if range_margin > 0.0:
            width = hi - lo
            ok = (hi > lo) & (seen >= range_min_obs)
            excess = np.where(ok & (xi > hi + range_margin * width), (xi - hi) / width,
                              np.where(ok & (xi < lo - range_margin * width), (lo - xi) / width, 0.0))
            s_range = 0.5 + 0.49 * (excess / (excess + 1.0))
            take = (excess > 0.0) & (s_range > score)
            score = np.where(take, s_range, score)
            kind = np.where(take, KIND_SPIKE, kind).astype(np.int8)
        score = np.where(seen < warmup, 0.0, score)
        suppressing = suppress_left > 0
        score = np.where(suppressing, score * suppress_factor, score)
        new_alarm = ~suppressing & (score >= 0.5)
        sl_new = np.where(suppressing, suppress_left - 1, np.where(new_alarm, suppress_points, suppress_left))
        kind = np.where(score < 0.5, KIND_NONE, kind).astype(np.int8)
        out_score[act, i] = score[act]
        out_expected[act, i] = expected[act]
        out_kind[act, i] = kind[act]

        lim = np.where(seen >= warmup, huber_k * scale, np.inf)
        rc = np.clip(r, -lim, lim)
        level_new = level + a_fast * rc
        dev_new = dev + a_scale * (np.minimum(np.abs(r), lim) - dev)
        slow_new = slow + a_slow * np.clip(xi - slow, -lim, lim)
        reset = cs >= cusum_h
        sp_new = np.where(reset, 0.0, sp_new)
        sn_new = np.where(reset, 0.0, sn_new)
        level_new = np.where(reset, xi, level_new)
        slow_new = np.where(reset, xi, slow_new)
        level = np.where(act, level_new, level)
        dev = np.where(act, dev_new, dev)
        slow = np.where(act, slow_new, slow)
        sp = np.where(act, sp_new, sp)
        sn = np.where(act, sn_new, sn)
        cz = np.where(act, cz_new, cz)
        gp = np.where(act, gp_new, gp)
        if season_h > 0.0:
            go = np.where(act, go_new, go)
        gn = np.where(act, gn_new, gn)
        suppress_left = np.where(act, sl_new, suppress_left)
        if season_select != 0.0:
            e_f = np.where(act, e_f + a_scale * (np.minimum(np.abs(r), lim) - e_f), e_f)
            for e_arr, rs_, warm in ((e_w, rw, warm_w), (e_d, rd, warm_d)):
                val = np.minimum(np.abs(rs_), lim)
                upd = np.where(e_arr == np.inf, val, e_arr + a_scale * (val - e_arr))
                e_arr[:] = np.where(act & warm, upd, e_arr)
        if shift_season != 0.0:
            moved = act & reset
            s_mean[:, :N_BUCKETS] += np.where(moved & warm_w, rw, 0.0)[:, None]
            s_mean[:, N_BUCKETS:] += np.where(moved & warm_d, rd, 0.0)[:, None]
        for bk, s_scale in ((bw, sw_scale), (bd, sd_scale)):
            sm = s_mean[:, bk].copy()
            fresh = s_n[:, bk] == 0.0
            slim = np.where(s_n[:, bk] < season_min_obs, np.inf, huber_k * s_scale)
            rb = xi - sm
            a_b = np.where(alpha_season * s_n[:, bk] < 1.0, 1.0 / s_n[:, bk], alpha_season)
            sm_new = np.where(fresh, xi, sm + a_b * np.clip(rb, -slim, slim))
            sd_new = np.where(fresh, s_dev[:, bk],
                              s_dev[:, bk] + a_b * (np.minimum(np.abs(rb), slim) - s_dev[:, bk]))
            s_mean[rows, bk] = np.where(act, sm_new, sm)
            s_dev[rows, bk] = np.where(act, sd_new, s_dev[:, bk])
            s_n[rows, bk] = np.where(act, s_n[:, bk] + 1.0, s_n[:, bk])
        up = z > q
        q_new = np.where(up, q * q_up, q * q_down)
        ratio_new = np.where(up, ratio * inv_q_up, ratio * inv_q_down)
        low = q_new < tail_ref
        q = np.where(act, np.where(low, tail_ref, q_new), q)
        ratio = np.where(act, np.where(low, 1.0, ratio_new), ratio)
        if pot_risk > 0.0:
            on = act & (seen >= warmup)
            exc = on & (z > pot_t)
            y = z - pot_t
            # an alarmed exceedance is fitted too (pot_alarm_excess > 0), its excess censored
            y_cap = pot_alarm_excess * (pot_thr - pot_t)
            censored = exc & (zn >= z_alarm) & (pot_alarm_excess > 0.0) & (y_cap > 0.0)
            fit = (exc & (zn < z_alarm)) | censored
            y = np.where(censored, np.minimum(y, y_cap), y)
            n_new = pot_n + 1.0
            a = np.where(pot_alpha * n_new < 1.0, 1.0 / n_new, pot_alpha)
            m1 = pot_m1 + a * (y - pot_m1)
            m2 = pot_m2 + a * (y * y - pot_m2)
            var = m2 - m1 * m1
            k2 = m1 * m1 / var
            gam = np.clip(np.where(var > 0.0, 0.5 * (1.0 - k2), 0.0), -POT_GAMMA_MAX, POT_GAMMA_MAX)
            sig = np.where(var > 0.0, 0.5 * m1 * (1.0 + k2), m1)
            ext = np.where(np.abs(gam) > 1e-6, sig / gam * (np.exp(-gam * log_pot_r) - 1.0), -sig * log_pot_r)
            thr = np.maximum(pot_t + ext, pot_z_min)
            refit = fit & (n_new >= pot_min_exc)
            pot_mult = np.where(refit, z_alarm / thr, pot_mult)
            pot_thr = np.where(refit, thr, pot_thr)
            pot_n = np.where(fit, n_new, pot_n)
            pot_m1 = np.where(fit, m1, pot_m1)
            pot_m2 = np.where(fit, m2, pot_m2)
            pot_t = np.where(exc, pot_t * t_up, np.where(on, np.maximum(pot_t * t_down, POT_T_MIN), pot_t))
        lo = np.where(act & (xi < lo), xi, lo)
        hi = np.where(act & (xi > hi), xi, hi)
        d = np.abs(xi - prev_x)
        resolution = np.where(act & (d > 0.0) & (d < resolution), d, resolution)
        prev_x = np.where(act, xi, prev_x)
        prev_t = np.where(act, ti, prev_t)
        seen = np.where(act, seen + 1, seen)
    return out_score, out_expected, out_kind
