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
  a series that never failed still has a rate).
* A per-minute sum (tokens per minute) of a model that serves a few requests a
  minute is mostly zero, so one long request is a "spike". At that resolution an
  incident lasts: the alarm stands only if the series alarmed in at least `persist`
  consecutive buckets.

Both are pure functions over the series' arrays; the job applies them between the
kernel and the `anomalies` table.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom


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


def count_significant(events: np.ndarray, trials: np.ndarray, index: np.ndarray, up: np.ndarray,
                      alpha: float, window: int) -> np.ndarray:
    """Which alarms at `index` (rising where `up`) are unusual as counts, at one-sided level `alpha`."""
    if len(index) == 0:
        return np.zeros(0, dtype=bool)
    rate = trailing_rate(events, trials, window)[index]
    k, n = events[index], trials[index]
    p = np.where(up, binomial_upper_p(k, n, rate), binomial_lower_p(k, n, rate))
    return p < alpha


def persistent(ts: np.ndarray, alarm: np.ndarray, step: int, persist: int) -> np.ndarray:
    """Alarms that belong to a run of at least `persist` alarmed buckets in a row (no gap)."""
    out = np.zeros(len(alarm), dtype=bool)
    if persist <= 1:
        return alarm.copy()
    i = 0
    n = len(alarm)
    while i < n:
        if not alarm[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and alarm[j + 1] and ts[j + 1] - ts[j] == step:
            j += 1
        if j - i + 1 >= persist:
            out[i:j + 1] = True
        i = j + 1
    return out
