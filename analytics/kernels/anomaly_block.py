"""The scoring loop of `anomaly_loop.score_one`, run on a block of series that share one time axis,
across the series: the CPU's vector units score `LANES` series per instruction.

`score_one` is bound by instructions per point (a dependent chain of EWMA, scale, z, CUSUM and
season steps per point, which no compiler can vectorise along time). Series of one time axis (the
job's dense spend and token series, a fleet's per-model latency; series that end together are laid
on their union axis by `score_blocks`, NaN where one has no point) are independent, so the same
recurrence over a block of them, time outer and series inner, is a loop LLVM turns into SIMD code:
every per-point choice is a select, every state value an array over the block's lanes, and the
work that is rare and does not vectorise (the power of a gap's EWMA weight, the POT refit's exp,
a level shift moving every season bucket, recording an alarm) runs after the vector pass of each
time step, for the lanes that need it.

Each lane runs the same floating-point operations in the same order as `score_one` on that series
alone, so every alarm (index, score, expected value, kind) is bit-identical to it; the tests
compare the two on every branch of the parameter space. The per-point steps shared with
`score_one` come from `anomaly_steps`.
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
    loop_constants,
    nearer_season,
    pot_threshold,
    scale_floor,
    season_residual,
)

LANES = 16  # series per block: four AVX2 vectors of doubles, enough independent work to hide latency
STRIDE = 64  # distance of two state slots in S: past any vector width times unroll, so never a dependence

# the state slots of S, one per value `score_one` keeps per series, and the per-step scratch
(_LEVEL, _DEV, _SLOW, _SP, _SN, _STEP, _RESOLUTION, _PREV_X, _PREV_T, _T_FIRST, _SEEN,
 _SUPPRESS_LEFT, _Q, _RATIO, _LO, _HI, _E_F, _E_W, _E_D, _CZ, _POT_T, _POT_N, _POT_M1, _POT_M2,
 _POT_MULT, _POT_THR, _GP, _GN, _GO, _GAP, _W_FAST, _W_SCALE, _W_SLOW, _O_KIND, _O_SCORE,
 _O_EXPECTED, _REFIT, _T_BEFORE, _MOVE, _MOVE_W, _MOVE_D, _FLAG, _MW_R, _DW_R, _NW_R, _MD_R,
 _DD_R, _ND_R) = (k * STRIDE for k in range(48))
N_SLOTS = 48


@nb.njit(cache=True, inline="always", error_model="numpy")
def _clip(v, lim):
    v = lim if v > lim else v
    return -lim if v < -lim else v


@nb.njit(cache=True, inline="always", error_model="numpy")
def _season_step(m, dv, n, xi, slim, alpha, min_obs):
    """`anomaly_steps.season_step` as selects, its weight 1/n divided (the bits of the table's
    value): the bucket's new mean and abs deviation (its count goes up by one)."""
    slim = slim if n >= min_obs else math.inf
    a = 1.0 / n if alpha * n < 1.0 else alpha
    rb = xi - m
    arb = abs(rb)
    arb = slim if arb > slim else arb
    m_n = xi if n == 0.0 else m + a * _clip(rb, slim)
    dv_n = dv if n == 0.0 else dv + a * (arb - dv)
    return m_n, dv_n


@nb.njit(cache=True, error_model="numpy")
def score_block(ts, X, P, lane_series, p, a_off, a_idx, a_score, a_expected, a_kind, counts):
    """Score the series of one block: X is (time, LANES) on the shared axis `ts`; lane j holds
    series lane_series[j] (-1: an empty lane, all NaN), P[t, j] is that series' own position of
    axis point t (P empty: every series is on this axis, position t). The alarms of series s are appended to
    a_*[a_off[s]:a_off[s + 1]] (their number, even past that room, in counts[s]), as `score_one`
    appends them. The running means' weights 1/n are divided, which gives the bits of
    `score_one`'s table lookup (a lookup would be an indirect load, which stops vectorisation)."""
    T = X.shape[0]
    L = LANES
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
    suppress_points = np.int64(p[10])
    suppress_factor = p[11]
    warmup = np.int64(p[12])
    abs_floor = p[13]
    rel_floor = p[14]
    res_floor = p[15]
    max_gap = p[16]
    tail_eta = p[18]
    tail_ref = p[19]
    range_margin = p[20]
    range_min_obs = p[21]
    select_best = p[22] != 0.0
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
    season_on = season_h > 0.0
    range_on = range_margin > 0.0
    tail_on = tail_eta != 0.0
    pot_on = pot_risk > 0.0

    # every per-lane value lives in one array, S[slot + lane] (slots STRIDE apart): loads and stores
    # off one base at constant distances need no run-time alias checks, which would stop vectorisation
    S = np.zeros(N_SLOTS * STRIDE)
    for j in range(STRIDE):  # the values that do not start at 0
        S[_STEP + j] = math.inf
        S[_RESOLUTION + j] = math.inf
        S[_Q + j] = tail_ref
        S[_RATIO + j] = 1.0
        S[_LO + j] = math.inf
        S[_HI + j] = -math.inf
        S[_E_W + j] = math.inf
        S[_E_D + j] = math.inf
        S[_POT_T + j] = 1.0
        S[_POT_MULT + j] = 1.0
        S[_POT_THR + j] = z_alarm
        S[_GAP + j] = 1.0
    st = np.zeros((N_BUCKETS + 24, 3, L))  # per bucket: mean, abs deviation, observations; lanes last
    cur_w = -1  # the buckets cached in S (_MW_R .. _ND_R)
    cur_d = -1

    for t in range(T):
        ti = ts[t]
        hr = ti // 3600
        bw = ((hr // 24 + 3) % 7) * 24 + hr % 24
        bd = N_BUCKETS + bw % 24
        xr = X[t]
        if bw != cur_w:
            for j in range(L):
                if cur_w >= 0:
                    st[cur_w, 0, j] = S[_MW_R + j]
                    st[cur_w, 1, j] = S[_DW_R + j]
                    st[cur_w, 2, j] = S[_NW_R + j]
                    st[cur_d, 0, j] = S[_MD_R + j]
                    st[cur_d, 1, j] = S[_DD_R + j]
                    st[cur_d, 2, j] = S[_ND_R + j]
                S[_MW_R + j] = st[bw, 0, j]
                S[_DW_R + j] = st[bw, 1, j]
                S[_NW_R + j] = st[bw, 2, j]
                S[_MD_R + j] = st[bd, 0, j]
                S[_DD_R + j] = st[bd, 1, j]
                S[_ND_R + j] = st[bd, 2, j]
            cur_w = bw
            cur_d = bd

        # pass 1: each lane's time step and gap (gap_weights); the power only where a gap is not 1
        n_gap = 0
        for j in range(L):
            xi = xr[j]
            live = math.isfinite(xi) & (S[_SEEN + j] > 0)
            dt = ti - S[_PREV_T + j]
            s = S[_STEP + j]
            s = dt if ((dt > 0) & (dt < s)) else s
            g = dt / s
            g = max_gap if g > max_gap else g
            g = g if ((dt > 0) & (s < math.inf) & (dt != s) & live) else 1.0
            S[_STEP + j] = s if live else S[_STEP + j]
            S[_GAP + j] = g
            n_gap += g != 1.0
        if n_gap:
            for j in range(L):
                if S[_GAP + j] != 1.0:
                    S[_W_FAST + j] = 1.0 - (1.0 - alpha_fast) ** S[_GAP + j]
                    S[_W_SCALE + j] = 1.0 - (1.0 - alpha_scale) ** S[_GAP + j]
                    S[_W_SLOW + j] = 1.0 - (1.0 - alpha_slow) ** S[_GAP + j]

        # pass 2: score and update every lane (selects only)
        n_flag = 0
        for j in range(L):
            xi = xr[j]
            fin = math.isfinite(xi)
            sj = S[_SEEN + j]
            first = sj == 0
            one = S[_GAP + j] == 1.0
            a_fast = alpha_fast if one else S[_W_FAST + j]
            a_scale = alpha_scale if one else S[_W_SCALE + j]
            a_slow = alpha_slow if one else S[_W_SLOW + j]
            inv_seen = 1.0 / sj
            warming = sj < warm_n
            a_fast = inv_seen if (warming & (a_fast * sj < 1.0)) else a_fast
            a_scale = inv_seen if (warming & (a_scale * sj < 1.0)) else a_scale
            a_slow = inv_seen if (warming & (a_slow * sj < 1.0)) else a_slow

            lv = S[_LEVEL + j]
            dv = S[_DEV + j]
            sl = S[_SLOW + j]
            floor = scale_floor(abs_floor, rel_floor, res_floor, sl, S[_RESOLUTION + j])
            scale = dv * SIGMA_PER_MAD
            scale = floor if scale < floor else scale
            inv_scale = 1.0 / scale
            r = xi - lv
            z = abs(r) * inv_scale
            expected = lv
            rcus = xi - sl
            mw = S[_MW_R + j]
            dw = S[_DW_R + j]
            nw = S[_NW_R + j]
            md = S[_MD_R + j]
            dd = S[_DD_R + j]
            nd = S[_ND_R + j]
            sw_scale, warm_w, rw, zw = season_residual(xi, mw, dw, nw, floor, season_min_obs)
            sd_scale, warm_d, rd, zdd = season_residual(xi, md, dd, nd, floor, season_min_obs)
            # the nearer model (season_select = 0), or the one of lowest running error (= 1)
            z0, ex0, rc0 = nearer_season(z, expected, rcus, zw, mw, rw, warm_w)
            z0, ex0, rc0 = nearer_season(z0, ex0, rc0, zdd, md, rd, warm_d)
            ew = S[_E_W + j]
            ed = S[_E_D + j]
            c1 = warm_w & (ew < S[_E_F + j])
            best = ew if c1 else S[_E_F + j]
            z1 = abs(zw) if c1 else z
            ex1 = mw if c1 else expected
            rc1 = rw if c1 else rcus
            c2 = warm_d & (ed < best)
            z1 = abs(zdd) if c2 else z1
            ex1 = md if c2 else ex1
            rc1 = rd if c2 else rc1
            z = z1 if select_best else z0
            expected = ex1 if select_best else ex0
            rcus = rc1 if select_best else rc0

            spj, snj = cusum_step(S[_SP + j], S[_SN + j], rcus * inv_scale, cusum_clip, cusum_k)
            cs = spj if spj > snj else snj
            warm_any = warm_w | warm_d
            zc = zw if warm_w else math.inf
            zc = zdd if (warm_d & (abs(zdd) < abs(zc))) else zc
            czj = S[_CZ + j] + confirm_alpha * (zc - S[_CZ + j])
            czj = czj if warm_any else S[_CZ + j]
            history = ti - S[_T_FIRST + j] >= SEASON_CUSUM_HISTORY_S
            season_run = season_on & warm_any & history
            goj = S[_GO + j]
            gpj, gnj = cusum_step(S[_GP + j], S[_GN + j], zc - goj, cusum_clip, season_k)
            gpj = gpj if season_run else S[_GP + j]
            gnj = gnj if season_run else S[_GN + j]
            unconfirmed = warm_any & (shift_confirm > 0.0) & (cs >= cusum_h) & (abs(czj) < shift_confirm)
            spj = 0.5 * spj if unconfirmed else spj
            snj = 0.5 * snj if unconfirmed else snj
            cs = 0.5 * cs if unconfirmed else cs

            zn = z * S[_RATIO + j] * S[_POT_MULT + j]
            is_spike = zn * cusum_h >= cs * z_alarm
            num = zn if is_spike else cs
            den = num + (z_alarm if is_spike else cusum_h)
            score = num / den
            kind = KIND_SPIKE if is_spike else KIND_SHIFT
            expected = expected if is_spike else xi - rcus
            gs = gpj if gpj > gnj else gnj
            off_season = season_on & (gs * den > num * (gs + season_h))
            score = gs / (gs + season_h) if off_season else score
            kind = KIND_SHIFT if off_season else kind
            ex_s = mw if ((warm_w & (abs(zw) <= abs(zdd))) | (not warm_d)) else md
            expected = ex_s if off_season else expected
            lo_j = S[_LO + j]
            hi_j = S[_HI + j]
            width = hi_j - lo_j
            beyond = (xi > hi_j + range_margin * width) | (xi < lo_j - range_margin * width)
            excess = (xi - hi_j) / width if xi > hi_j else (lo_j - xi) / width
            s_range = 0.5 + 0.49 * (excess / (excess + 1.0))
            s_range = s_range if beyond else 0.0
            take = range_on & (sj >= range_min_obs) & (hi_j > lo_j) & (s_range > score)
            score = s_range if take else score
            kind = KIND_SPIKE if take else kind
            score = 0.0 if sj < warmup else score
            left = S[_SUPPRESS_LEFT + j]
            damped = left > 0
            score = score * suppress_factor if damped else score
            left = left - 1 if damped else (suppress_points if score >= 0.5 else left)
            kind = KIND_NONE if score < 0.5 else kind

            lim = huber_k * scale if sj >= warmup else math.inf
            level_n = lv + a_fast * _clip(r, lim)
            ar = abs(r)
            ar = lim if ar > lim else ar
            dev_n = dv + a_scale * (ar - dv)
            slow_n = sl + a_slow * _clip(xi - sl, lim)
            shift = cs >= cusum_h
            rebase = (gs >= season_h) | shift
            go_n = goj + a_slow * _clip(zc - goj, cusum_clip)
            go_r = 0.0 if (shift & shift_season) else zc
            go_n = go_r if rebase else go_n
            gpj = 0.0 if (season_run & rebase) else gpj
            gnj = 0.0 if (season_run & rebase) else gnj
            goj = go_n if season_run else goj
            spj = 0.0 if shift else spj
            snj = 0.0 if shift else snj
            level_n = xi if shift else level_n
            slow_n = xi if shift else slow_n
            moved = shift & shift_season
            dwm = rw if warm_w else 0.0
            ddm = rd if warm_d else 0.0
            mw = mw + dwm if moved else mw
            md = md + ddm if moved else md
            # model errors (read only with season_select = 1; stored unconditionally: no branch)
            ef_n = S[_E_F + j] + a_scale * (ar - S[_E_F + j])
            aw = abs(rw)
            aw = lim if aw > lim else aw
            ew_n = aw if ew == math.inf else ew + a_scale * (aw - ew)
            ew = ew_n if warm_w else ew
            ad = abs(rd)
            ad = lim if ad > lim else ad
            ed_n = ad if ed == math.inf else ed + a_scale * (ad - ed)
            ed = ed_n if warm_d else ed
            errors = select_best & fin & (sj != 0)
            S[_E_F + j] = ef_n if errors else S[_E_F + j]
            S[_E_W + j] = ew if errors else S[_E_W + j]
            S[_E_D + j] = ed if errors else S[_E_D + j]
            # season_step, for the week and the day bucket
            mw_n, dw_n = _season_step(mw, dw, nw, xi, huber_k * sw_scale, alpha_season, season_min_obs)
            md_n, dd_n = _season_step(md, dd, nd, xi, huber_k * sd_scale, alpha_season, season_min_obs)
            # the tail quantile, and the POT threshold t and its moments
            up = z > S[_Q + j]
            q_n = S[_Q + j] * (q_up if up else q_down)
            ratio_n = S[_RATIO + j] * (inv_q_up if up else inv_q_down)
            low_q = q_n < tail_ref
            q_n = tail_ref if low_q else q_n
            ratio_n = 1.0 if low_q else ratio_n
            pt = S[_POT_T + j]
            pot_run = pot_on & (sj >= warmup)
            exc = z > pt
            y = z - pt
            fit = zn < z_alarm
            censored = (not fit) & (pot_alarm_excess > 0.0)
            y_cap = pot_alarm_excess * (S[_POT_THR + j] - pt)
            fit = (y_cap > 0.0) if censored else fit
            y = y_cap if (censored & (y > y_cap)) else y
            fitted = pot_run & exc & fit
            pn = S[_POT_N + j] + 1.0
            a = 1.0 / pn if pot_alpha * pn < 1.0 else pot_alpha
            m1 = S[_POT_M1 + j] + a * (y - S[_POT_M1 + j])
            m2 = S[_POT_M2 + j] + a * (y * y - S[_POT_M2 + j])
            pt_n = pt * (t_up if exc else t_down)
            pt_n = POT_T_MIN if ((pt_n < POT_T_MIN) & (not exc)) else pt_n
            d = abs(xi - S[_PREV_X + j])
            res_n = d if ((d > 0.0) & (d < S[_RESOLUTION + j])) else S[_RESOLUTION + j]

            # write back: a NaN leaves the lane untouched; the first point only seeds it
            go_on = fin & (sj != 0)
            S[_LEVEL + j] = (xi if first else level_n) if fin else lv
            S[_SLOW + j] = (xi if first else slow_n) if fin else sl
            S[_DEV + j] = dev_n if go_on else dv
            S[_SP + j] = spj if go_on else S[_SP + j]
            S[_SN + j] = snj if go_on else S[_SN + j]
            S[_CZ + j] = czj if go_on else S[_CZ + j]
            S[_GP + j] = gpj if go_on else S[_GP + j]
            S[_GN + j] = gnj if go_on else S[_GN + j]
            S[_GO + j] = goj if go_on else S[_GO + j]
            S[_SUPPRESS_LEFT + j] = left if go_on else S[_SUPPRESS_LEFT + j]
            S[_MW_R + j] = (xi if first else mw_n) if fin else S[_MW_R + j]
            S[_DW_R + j] = dw_n if go_on else dw
            S[_NW_R + j] = (1.0 if first else nw + 1.0) if fin else nw
            S[_MD_R + j] = (xi if first else md_n) if fin else S[_MD_R + j]
            S[_DD_R + j] = dd_n if go_on else dd
            S[_ND_R + j] = (1.0 if first else nd + 1.0) if fin else nd
            S[_Q + j] = q_n if (go_on & tail_on) else S[_Q + j]
            S[_RATIO + j] = ratio_n if (go_on & tail_on) else S[_RATIO + j]
            pot_fit = go_on & fitted
            S[_POT_N + j] = pn if pot_fit else S[_POT_N + j]
            S[_POT_M1 + j] = m1 if pot_fit else S[_POT_M1 + j]
            S[_POT_M2 + j] = m2 if pot_fit else S[_POT_M2 + j]
            S[_POT_T + j] = pt_n if (go_on & pot_run) else pt
            S[_T_BEFORE + j] = pt
            S[_LO + j] = xi if (fin & ((xi < lo_j) | first)) else lo_j
            S[_HI + j] = xi if (fin & ((xi > hi_j) | first)) else hi_j
            S[_RESOLUTION + j] = res_n if go_on else S[_RESOLUTION + j]
            S[_PREV_X + j] = xi if fin else S[_PREV_X + j]
            S[_PREV_T + j] = float(ti) if fin else S[_PREV_T + j]
            S[_T_FIRST + j] = float(ti) if (fin & first) else S[_T_FIRST + j]
            S[_SEEN + j] = sj + 1 if fin else sj
            kind = kind if go_on else KIND_NONE
            S[_O_KIND + j] = kind
            S[_O_SCORE + j] = score
            S[_O_EXPECTED + j] = expected
            rf = pot_fit & (pn >= pot_min_exc)
            mv = go_on & moved
            S[_REFIT + j] = 1.0 if rf else 0.0
            S[_MOVE + j] = 1.0 if mv else 0.0
            S[_MOVE_W + j] = dwm
            S[_MOVE_D + j] = ddm
            fl = (kind != KIND_NONE) | rf | mv
            S[_FLAG + j] = 1.0 if fl else 0.0
            n_flag += fl

        # pass 3, rare: alarms, POT refits, a shift moving the buckets not visited now
        if n_flag:
            for j in range(L):
                if S[_FLAG + j] == 0.0:
                    continue
                s = lane_series[j]
                if S[_O_KIND + j] != KIND_NONE:
                    c = counts[s]
                    if c < a_off[s + 1] - a_off[s]:
                        k = a_off[s] + c
                        a_idx[k] = P[t, j] if P.shape[0] else t
                        a_score[k] = S[_O_SCORE + j]
                        a_expected[k] = S[_O_EXPECTED + j]
                        a_kind[k] = np.int8(S[_O_KIND + j])
                    counts[s] = c + 1
                if S[_REFIT + j] != 0.0:
                    S[_POT_MULT + j], S[_POT_THR + j] = pot_threshold(S[_POT_M1 + j], S[_POT_M2 + j], S[_T_BEFORE + j], log_pot_r,
                                                            z_alarm, pot_z_min)
                if S[_MOVE + j] != 0.0:
                    for b in range(N_BUCKETS):
                        if b != bw:
                            st[b, 0, j] += S[_MOVE_W + j]
                    for b in range(N_BUCKETS, N_BUCKETS + 24):
                        if b != bd:
                            st[b, 0, j] += S[_MOVE_D + j]


@nb.njit(cache=True, parallel=True, error_model="numpy")
def score_blocks(axes, ts_list, x_list, blocks, p, a_off, a_idx, a_score, a_expected, a_kind, counts, rejected):
    """Score blocks of series in parallel: blocks[b] lists up to LANES series (-1 pads) on the time
    axis axes[b], which is each one's own axis or holds it (ascending); each block's values are
    copied time-major onto it, NaN where a series has no point (a NaN leaves a series' state as it
    was, so it scores as alone), then scored by `score_block`.

    A series as long as its block's axis is checked against it point by point as it is copied (in
    parallel, in the pass that reads it anyway): one that differs is marked in `rejected`, left
    NaN (no alarms, no state) and is the caller's to score alone."""
    L = blocks.shape[1]
    for i in nb.prange(blocks.shape[0]):
        b = np.int64(i)
        row = blocks[b]
        axis = axes[b]
        T = axis.shape[0]
        X = np.empty((T, L))
        mapped = False  # some series is not on its own axis: P maps axis points to its positions
        for j in range(L):
            s = row[j]
            mapped = mapped or (s >= 0 and ts_list[s].shape[0] != T)
        P = np.zeros((T if mapped else 0, L), dtype=np.int64)
        for j in range(L):
            s = row[j]
            if s < 0:
                for t in range(T):
                    X[t, j] = np.nan
                continue
            x = x_list[s]
            ts = ts_list[s]
            if ts.shape[0] == T:  # its own axis, if every point agrees
                same = True
                for t in range(T):
                    X[t, j] = x[t]
                    same &= ts[t] == axis[t]
                    if mapped:
                        P[t, j] = t
                if not same:
                    rejected[s] = True
                    for t in range(T):
                        X[t, j] = np.nan
            else:
                k = 0
                for t in range(T):
                    X[t, j] = np.nan
                    if k < ts.shape[0] and ts[k] == axis[t]:
                        X[t, j] = x[k]
                        P[t, j] = k
                        k += 1
        score_block(axis, X, P, row, p, a_off, a_idx, a_score, a_expected, a_kind, counts)
