"""Second opinions on the detector's alarms that only counts can give.

The detector sees a number per bucket and measures how unusual it is against the
spread of the series' past numbers. For two kinds of series that spread is the
wrong yardstick:

* An error rate is a count of failures among a count of requests. A model with a
  0.5 % error rate and 20 requests per bucket has no error in most buckets, so its
  robust spread is near zero and one failed request looks like a huge jump. Whether
  k failures among n requests are unusual is a binomial question: the alarm stands
  only if P(X >= k | n, p0) < `alpha`, where p0 is the series' own pooled failure
  rate over the trailing `window` buckets (past only, with a Jeffreys half-count so
  a series that never failed still has a rate). The same test also raises alarms the
  detector missed: on a mostly-zero series its calibrated threshold adapts to the
  frequent single-failure jumps and can sit above a real outage, while
  P(X >= k | n, p0) < `alpha` is an alarm whatever the detector's spread.
* A sum over requests (spend or tokens per bucket) moves by chance with the number
  and size of the requests that happen to land in the bucket: with Poisson arrivals
  its variance is the expected number of requests (at least one) times the mean
  squared request, both from the trailing `window` buckets. The alarm stands only
  if it departs from the expected value by at least `z` such standard deviations
  (z = the normal quantile of `alpha`). A few large requests of a quiet team do not
  page; eight times the traffic does.
* Per-request costs are skewed (a cheap model's requests and an expensive one's in one
  series), so on a quiet series one or two large requests pass that normal floor. A
  rise stands only if it is still beyond the floor without the bucket's two largest
  requests, or if its largest request is larger than any the series saw in the trailing
  `window`. Neither needs per-request data: for requests x1 >= x2 >= ... with squares
  summing to q, x1 + x2 <= sqrt(2 q) (so the rise less sqrt(2 q) is at most what the
  others carry), x1 >= q / sum x, and a past bucket's sqrt(q) bounds its largest request.
* A per-minute sum (tokens per minute) of a model that serves a few requests a
  minute is mostly zero, so one long request is a "spike". At that resolution an
  incident lasts: the alarm stands only if the next `persist - 1` buckets also lie
  beyond the alarm's own band, on the same side. The detector damps the scores after
  an alarm (one incident, one alarm), so the buckets after it never alarm themselves;
  the band is read from the alarm instead: a score s = z / (z + z_alarm) at departure
  d = |observed - expected| puts the alarm boundary (s = 1/2) at d (1 - s) / s in the
  same scale and calibration (for the CUSUM kinds, S / (S + h), a fraction <= 1 of d).
* A level-shift alarm claims the series left its level. While the series' season
  buckets are still learning (a GPU pool sampled every 10 minutes needs two days for
  its hour-of-day buckets), the midday rise of an ordinary day reads as a shift from the
  level. The same time a day earlier tells them apart: the alarm stands unless that
  value explains the observation much better than the expected level does,
  |observed - day before| <= `fraction` x |observed - expected|. A shift that starts
  today is still far from yesterday; a lasting shift pages on its first day, not again.

All are pure functions over the series' arrays; the job applies them between the
kernel and the `anomalies` table.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom, norm


def trailing_rate(events: np.ndarray, trials: np.ndarray, window: int) -> np.ndarray:
    """Per point, the pooled rate of the `window` points before it: (sum k + 1/2) / (sum n + 1)."""
    ck = np.concatenate(([0.0], np.cumsum(np.nan_to_num(events))))
    cn = np.concatenate(([0.0], np.cumsum(np.nan_to_num(trials))))
    i = np.arange(len(events))
    lo = np.maximum(i - window, 0)
    return (ck[i] - ck[lo] + 0.5) / (cn[i] - cn[lo] + 1.0)


def binomial_upper_p(events: np.ndarray, trials: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """P(X >= k) for X ~ Binomial(n, rate), elementwise."""
    k = np.round(events)
    return binom.sf(k - 1, np.round(trials), rate)


def binomial_lower_p(events: np.ndarray, trials: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """P(X <= k) for X ~ Binomial(n, rate), elementwise."""
    return binom.cdf(np.round(events), np.round(trials), rate)


def count_upper_p_all(events: np.ndarray, trials: np.ndarray, window: int) -> np.ndarray:
    """Per point, P(X >= k) against the trailing rate (1 where the bucket has no count)."""
    ok = np.isfinite(events) & np.isfinite(trials) & (trials > 0)
    p = np.ones(len(events))
    if ok.any():
        rate = trailing_rate(events, trials, window)
        p[ok] = binomial_upper_p(events[ok], trials[ok], rate[ok])
    return p


def count_significant(events: np.ndarray, trials: np.ndarray, index: np.ndarray, up: np.ndarray,
                      alpha: float, window: int) -> np.ndarray:
    """Which alarms at `index` (rising where `up`) are unusual as counts, at one-sided level `alpha`."""
    if len(index) == 0:
        return np.zeros(0, dtype=bool)
    rate = trailing_rate(events, trials, window)[index]
    k, n = events[index], trials[index]
    p = np.where(up, binomial_upper_p(k, n, rate), binomial_lower_p(k, n, rate))
    return p < alpha


def persisting(ts: np.ndarray, values: np.ndarray, index: np.ndarray, score: np.ndarray,
               expected: np.ndarray, step: int, persist: int) -> np.ndarray:
    """Which alarms at `index` (with their undamped `score` and `expected`) are followed by
    `persist - 1` buckets, each `step` after the previous one, departing from the alarm's
    expected value on the alarm's side by at least its boundary departure d (1 - s) / s."""
    keep = np.ones(len(index), dtype=bool)
    if persist <= 1 or len(index) == 0:
        return keep
    n = len(values)
    d = values[index] - expected
    side = np.where(d >= 0, 1.0, -1.0)
    s = np.clip(score, 0.5, 1.0)
    edge = np.abs(d) * (1.0 - s) / s
    for a in range(1, persist):
        j = index + a
        inside = j < n
        jj = np.minimum(j, n - 1)
        adjacent = inside & (ts[jj] - ts[np.minimum(j - 1, n - 1)] == step)
        dep = (values[jj] - expected) * side      # NaN (a gap) compares False
        keep &= adjacent & (dep >= edge) & (dep > 0)
    return keep


def _trailing_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Per point, the sum of x over the `window` points before it."""
    c = np.concatenate(([0.0], np.cumsum(np.nan_to_num(x))))
    i = np.arange(len(x))
    return c[i] - c[np.maximum(i - window, 0)]


def _trailing_max_request(squares: np.ndarray, index: np.ndarray, window: int) -> np.ndarray:
    """Per alarm, the largest bucket root sum of squares of the `window` buckets before it: an upper
    bound on the largest single request of that window (0 with no history)."""
    root = np.sqrt(np.nan_to_num(np.maximum(squares, 0.0)))
    return np.array([root[max(int(i) - window, 0):int(i)].max() if i > 0 else 0.0 for i in index])


def sampling_noise_significant(values: np.ndarray, expected: np.ndarray, requests: np.ndarray,
                               squares: np.ndarray, index: np.ndarray, alpha: float, window: int) -> np.ndarray:
    """Which alarms at `index` on a sum over requests exceed its compound-Poisson noise at level `alpha`;
    a rise must also not be explained by the bucket's one or two largest ordinary requests."""
    if len(index) == 0:
        return np.zeros(0, dtype=bool)
    n = _trailing_sum(requests, window)[index]
    total = _trailing_sum(values, window)[index]
    sq = _trailing_sum(squares, window)[index]
    mean = total / np.maximum(n, 1.0)             # mean request
    mean_sq = sq / np.maximum(n, 1.0)             # mean squared request
    lam = np.maximum(np.abs(expected[index]) / np.where(mean > 0, mean, np.inf), 1.0)
    floor = norm.isf(alpha) * np.sqrt(lam * mean_sq)
    dep = values[index] - expected[index]
    q = np.nan_to_num(np.maximum(squares[index], 0.0))
    beyond_two = dep - np.sqrt(2.0 * q) >= floor
    largest_low = q / np.where(values[index] > 0, values[index], np.inf)
    unseen = largest_low > _trailing_max_request(squares, index, window)
    return (np.abs(dep) >= floor) & ((dep < 0) | beyond_two | unseen)


DAY_SECONDS = 86400


def day_before_explains(ts: np.ndarray, values: np.ndarray, index: np.ndarray, expected: np.ndarray,
                        step: int, fraction: float) -> np.ndarray:
    """Which alarms at `index` the same time a day earlier explains: the median of the points
    within half a `step` of it is closer to the observation than `fraction` x its departure from
    `expected` (False where there is no such point, or `fraction` is 0)."""
    out = np.zeros(len(index), dtype=bool)
    if fraction <= 0.0 or len(index) == 0:
        return out
    target = ts[index] - DAY_SECONDS
    lo = np.searchsorted(ts, target - step // 2, side="left")
    hi = np.searchsorted(ts, target + step // 2, side="right")
    for a, (i, j0, j1) in enumerate(zip(index, lo, hi)):
        day_before = values[j0:j1]
        day_before = day_before[np.isfinite(day_before)]
        if len(day_before):
            x = values[i]
            out[a] = abs(x - np.median(day_before)) <= fraction * abs(x - expected[i])
    return out
