"""The per-point update steps of the anomaly scoring loop, one small numba function each.

Every jitted helper here is `inline="always"`: numba splices it into the loop at IR level,
before type inference, so the loop runs the same floating-point operations in the same order
as if the step were written out in place (no call, no output bit changes), while each step
can be read, and checked, on its own.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from inferledger.analytics.kernels.anomaly_params import N_BUCKETS, POT_GAMMA_MAX, SIGMA_PER_MAD


@nb.njit(cache=True, inline="always", error_model="numpy")
def hour_of_week(ts: int) -> int:
    """Monday 00:00 UTC = 0 (1970-01-01 was a Thursday, hence the +3 days)."""
    days = ts // 86400
    return int(((days + 3) % 7) * 24 + (ts // 3600) % 24)


@nb.njit(cache=True, inline="always", error_model="numpy")
def loop_constants(p):
    """What a scoring loop derives from the parameters once.

    warm_n: past this many points every EWMA weight is above 1/n (alpha * n >= alpha * (1 / alpha
    + 1) > 1). t_up / t_down: the POT threshold t's multiplicative steps up and down, so it tracks
    the q0 quantile; about (1 - q0) of the points exceed it, so the GPD tail quantile at
    `pot_risk` is t + sigma/gamma * ((risk / (1 - q0))^-gamma - 1), kept as log_pot_r (the power
    is then one exp per refit). q_up / q_down and their reciprocals: the tail quantile's steps
    (tracked in log space by constant steps, i.e. multiplicatively).
    Returns (warm_n, t_up, t_down, log_pot_r, q_up, q_down, inv_q_up, inv_q_down).
    """
    warm_n = int(min(1.0 / min(p[0], p[1], p[2]), 1e18)) + 2
    pot_q0 = p[25]
    pot_eta = p[26]
    pot_risk = p[27]
    t_up = math.exp(pot_eta * pot_q0)
    t_down = math.exp(-pot_eta * (1.0 - pot_q0))
    log_pot_r = math.log(pot_risk / (1.0 - pot_q0)) if pot_risk > 0.0 else 0.0
    q_up = math.exp(p[18] * p[17])
    q_down = math.exp(-p[18] * (1.0 - p[17]))
    return warm_n, t_up, t_down, log_pot_r, q_up, q_down, 1.0 / q_up, 1.0 / q_down


@nb.njit(cache=True, inline="always", error_model="numpy")
def season_residual(xi, mean, dev, n, floor, min_obs):
    """A season bucket's view of the point: (its scale, whether it is warm, the residual xi - mean,
    and that residual in the bucket's own scale, 0 while the bucket is cold). One division, read
    by the spike rule and the shift confirmation alike."""
    scale = dev * SIGMA_PER_MAD
    scale = floor if scale < floor else scale
    warm = n >= min_obs
    r = xi - mean
    z = r / scale
    z = z if warm else 0.0
    return scale, warm, r, z


@nb.njit(cache=True, inline="always", error_model="numpy")
def nearer_season(z, expected, rcus, zb, mean, rb, warm):
    """A warm season bucket takes over the spike z and expected value where its z is lower, and
    the CUSUM residual where its residual `rb` is smaller (selects, not branches: which model is
    nearer flips from point to point). Returns (z, expected, rcus)."""
    zs = abs(zb)
    c = warm & (zs < z)
    z = zs if c else z
    expected = mean if c else expected
    c = warm & (abs(rb) < abs(rcus))
    rcus = rb if c else rcus
    return z, expected, rcus


@nb.njit(cache=True, inline="always", error_model="numpy")
def gap_weights(dt, step, max_gap, alpha_fast, alpha_scale, alpha_slow):
    """The series' time step (the smallest positive dt seen) and this point's EWMA weights.

    A gap of g steps (capped at `max_gap`) weighs a point as g missed ones, 1 - (1 - alpha)^g,
    so the EWMAs catch up; dt == step, the usual case, takes no division and no power.
    Returns (step, a_fast, a_scale, a_slow).
    """
    if dt > 0 and dt < step:
        step = float(dt)
    gap = 1.0
    if dt > 0 and step < math.inf and dt != step:
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
    return step, a_fast, a_scale, a_slow


@nb.njit(cache=True, inline="always", error_model="numpy")
def warmup_weights(a_fast, a_scale, a_slow, seen, inv):
    """Each weight below 1 / seen becomes 1 / seen (looked up in `inv` while the table reaches):
    a plain running mean until the EWMA has seen enough points. Returns (a_fast, a_scale, a_slow)."""
    inv_seen = inv[seen] if seen < inv.shape[0] else 1.0 / seen
    if a_fast * seen < 1.0:
        a_fast = inv_seen
    if a_scale * seen < 1.0:
        a_scale = inv_seen
    if a_slow * seen < 1.0:
        a_slow = inv_seen
    return a_fast, a_scale, a_slow


@nb.njit(cache=True, inline="always", error_model="numpy")
def scale_floor(abs_floor, rel_floor, res_floor, slow, resolution):
    """The least scale: absolute, relative to |slow level|, and relative to the series' resolution
    (once one is seen), whichever is largest; flat and integer series never divide by zero."""
    floor = abs_floor
    f = rel_floor * abs(slow)
    floor = f if f > floor else floor
    f = res_floor * resolution
    return f if (resolution < math.inf and f > floor) else floor


@nb.njit(cache=True, inline="always", error_model="numpy")
def cusum_step(pos, neg, u, clip, k):
    """One step of a two-sided CUSUM of u clipped to [-clip, clip], with slack k."""
    u = clip if u > clip else u
    u = -clip if u < -clip else u
    pos = pos + u - k
    neg = neg - u - k
    return (0.0 if pos < 0.0 else pos), (0.0 if neg < 0.0 else neg)


@nb.njit(cache=True, inline="always", error_model="numpy")
def season_step(m, dv, n, xi, slim, alpha, min_obs, inv):
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


@nb.njit(cache=True, inline="always", error_model="numpy")
def model_errors(e_f, e_w, e_d, r, rw, rd, warm_w, warm_d, lim, a):
    """EW mean abs error of each model's prediction (fast level, week bucket, day bucket), each
    residual clipped at `lim`; a season error starts (math.inf) at its bucket's first warm residual.
    Only `season_select = 1` reads them."""
    ar = abs(r)
    if ar > lim:
        ar = lim
    e_f = e_f + a * (ar - e_f)
    if warm_w:
        ar = abs(rw)
        if ar > lim:
            ar = lim
        e_w = ar if e_w == math.inf else e_w + a * (ar - e_w)
    if warm_d:
        ar = abs(rd)
        if ar > lim:
            ar = lim
        e_d = ar if e_d == math.inf else e_d + a * (ar - e_d)
    return e_f, e_w, e_d


@nb.njit(cache=True, inline="always", error_model="numpy")
def tail_step(q, ratio, z, q_up, q_down, inv_q_up, inv_q_down, tail_ref):
    """One step of the streaming log-space quantile q of spike z (never below `tail_ref`) and of
    ratio = tail_ref / q, kept alongside so no point divides. Returns (q, ratio)."""
    up = z > q
    q = q * (q_up if up else q_down)
    ratio = ratio * (inv_q_up if up else inv_q_down)
    if q < tail_ref:
        q = tail_ref
        ratio = 1.0
    return q, ratio


@nb.njit(cache=True, inline="always", error_model="numpy")
def range_score(xi, lo, hi, margin):
    """The score of a value beyond the range [lo, hi] seen so far by more than `margin` of its
    width (HTM's "spatial anomaly"): from 0.5 just past the margin towards 0.99; 0.0 inside it."""
    width = hi - lo
    if xi > hi + margin * width or xi < lo - margin * width:
        excess = (xi - hi) / width if xi > hi else (lo - xi) / width
        return 0.5 + 0.49 * (excess / (excess + 1.0))
    return 0.0


@nb.njit(cache=True, inline="always", error_model="numpy")
def pot_moments(pot_n, pot_m1, pot_m2, y, alpha, inv):
    """Add the excess y to the EW mean and mean square of the POT excesses (a running mean while
    alpha * n < 1, its weights 1/n looked up in `inv`). Returns (count, mean, mean square)."""
    pot_n += 1.0
    a = alpha
    if alpha * pot_n < 1.0:
        a = inv[int(pot_n)] if pot_n < inv.shape[0] else 1.0 / pot_n
    pot_m1 = pot_m1 + a * (y - pot_m1)
    pot_m2 = pot_m2 + a * (y * y - pot_m2)
    return pot_n, pot_m1, pot_m2


@nb.njit(cache=True, inline="always", error_model="numpy")
def pot_threshold(pot_m1, pot_m2, pot_t, log_pot_r, z_alarm, pot_z_min):
    """Refit the POT tail and return (z_alarm / threshold, threshold).

    A method-of-moments GPD fit to the EW mean `pot_m1` and mean square `pot_m2` of the excesses
    over t (the shape clamped to +-POT_GAMMA_MAX), and its quantile at the risk whose log relative
    to the exceedance rate is `log_pot_r`, never below `pot_z_min`.
    """
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
    return z_alarm / thr, thr


@nb.njit(cache=True, inline="always", error_model="numpy")
def move_season(st, week_by, day_by):
    """Move the mean of every hour-of-week bucket by `week_by` and of every hour-of-day bucket
    by `day_by` (rows of `st` as in `season_buckets`), in place."""
    for b in range(N_BUCKETS):
        st[b, 0] += week_by
    for b in range(N_BUCKETS, N_BUCKETS + 24):
        st[b, 0] += day_by


def season_buckets(ts: np.ndarray) -> np.ndarray:
    """Hour-of-week bucket indices; the hour-of-day bucket of b is N_BUCKETS + b % 24
    (one state array of 168 + 24 rows)."""
    hours = ts // 3600
    return (((hours // 24 + 3) % 7) * 24 + hours % 24).astype(np.int64)
