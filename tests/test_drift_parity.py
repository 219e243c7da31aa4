"""Parity with Evidently 0.7: the same data through both, values equal to a relative 1e-9."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest

from inferledger.analytics.drift.compare import compare_frames
from inferledger.analytics.drift.methods import METHODS, compare_column
from inferledger.analytics.drift.profile import categorical_sample, numeric_sample

# Every test here runs Evidently beside our kernels; importing it takes ~10 s, so these
# run in `make test` (slow) and the import waits until a test needs it.
pytestmark = pytest.mark.slow

RTOL = 1e-9
DISPLAY_TO_NAME = {m.display_name: m.name for m in METHODS.values()}


def evidently_drift(ref: pd.DataFrame, cur: pd.DataFrame, num: list[str], cat: list[str],
                    per_column_method: dict[str, str] | None = None) -> dict[str, dict]:
    """Evidently's DataDriftPreset on the same frames: column -> method, score, threshold, drifted."""
    pytest.importorskip("evidently")
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    dd = DataDefinition(numerical_columns=num, categorical_columns=cat)
    report = Report([DataDriftPreset(per_column_method=per_column_method)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snap = report.run(Dataset.from_pandas(cur, data_definition=dd), Dataset.from_pandas(ref, data_definition=dd))
    out = {}
    for m in snap.dict()["metrics"]:
        cfg = m.get("config", {})
        if cfg.get("type") != "evidently:metric_v2:ValueDrift":
            continue
        method = cfg["method"]
        name = DISPLAY_TO_NAME.get(method, method)
        out[cfg["column"]] = {"method": name, "score": float(m["value"]), "threshold": cfg["threshold"]}
    return out


def evidently_drifted(method: str, ref: pd.Series, cur: pd.Series, kind: str, threshold: float) -> bool:
    pytest.importorskip("evidently")
    from evidently.legacy.calculations.stattests.registry import get_registered_stattest
    from evidently.legacy.core import ColumnType

    ctype = ColumnType.Numerical if kind == "numeric" else ColumnType.Categorical
    ref = ref.replace([-np.inf, np.inf], np.nan).dropna()
    cur = cur.replace([-np.inf, np.inf], np.nan).dropna()
    test = get_registered_stattest(method, ColumnType.Categorical if method in ("chisquare", "z") else ctype)
    return bool(test(ref, cur, ctype, threshold).drifted)


def ours(ref: pd.DataFrame, cur: pd.DataFrame, num: list[str], cat: list[str], methods=None) -> dict[str, dict]:
    kinds = {**{c: "numeric" for c in num}, **{c: "categorical" for c in cat}}
    res = compare_frames(pl.from_pandas(ref), pl.from_pandas(cur), columns=num + cat, kinds=kinds, methods=methods)
    return {r.column: r.as_dict() for r in res}


def assert_parity(ref, cur, num, cat, methods=None, expect_methods=None):
    ev = evidently_drift(ref, cur, num, cat, methods)
    us = ours(ref, cur, num, cat, methods)
    for col in num + cat:
        e, o = ev[col], us[col]
        assert o["method"] == e["method"], (col, o, e)
        assert o["threshold"] == pytest.approx(e["threshold"]), (col, o, e)
        if math.isinf(e["score"]):
            assert math.isinf(o["score"])
        else:
            assert o["score"] == pytest.approx(e["score"], rel=RTOL, abs=1e-300), (col, o["score"], e["score"])
        kind = "numeric" if col in num else "categorical"
        assert o["drifted"] == evidently_drifted(o["method"], ref[col], cur[col], kind, o["threshold"]), col
        if expect_methods:
            assert o["method"] == expect_methods[col]
    return us


def _frames(n_ref: int, n_cur: int, seed: int, shift: float = 0.2):
    rng = np.random.default_rng(seed)

    def make(n, s):
        return pd.DataFrame({
            "normal": rng.normal(s, 1.0, n),
            "tokens": rng.poisson(300 * (1 + s), n).astype(np.int64),
            "heavy": rng.pareto(1.5, n) * (1 + s),
            "few_int": rng.integers(0, 4, n).astype(np.int64),
            "binary_num": rng.integers(0, 2, n).astype(np.int64),
            "model": rng.choice(["gpt-4o", "claude", "llama", "mistral"], n, p=[0.4, 0.3, 0.2 + s / 4, 0.1 - s / 4]),
            "finish": rng.choice(["stop", "length"], n, p=[0.9 - s / 2, 0.1 + s / 2]),
        })

    return make(n_ref, 0.0), make(n_cur, shift)


NUM = ["normal", "tokens", "heavy", "few_int", "binary_num"]
CAT = ["model", "finish"]


@pytest.mark.parametrize("n_ref,n_cur", [(300, 400), (1000, 700), (1001, 900), (5000, 20000),
                                         (20000, 15000)])
def test_default_selection_and_values_match_evidently(n_ref, n_cur):
    ref, cur = _frames(n_ref, n_cur, seed=n_ref)
    small = n_ref <= 1000
    expect = {
        "normal": "ks" if small else "wasserstein",
        "tokens": "ks" if small else "wasserstein",
        "heavy": "ks" if small else "wasserstein",
        "few_int": "chisquare" if small else "jensenshannon",
        "binary_num": "z" if small else "jensenshannon",
        "model": "chisquare" if small else "jensenshannon",
        "finish": "z" if small else "jensenshannon",
    }
    assert_parity(ref, cur, NUM, CAT, expect_methods=expect)


@pytest.mark.parametrize("method", ["ks", "wasserstein", "psi", "jensenshannon"])
@pytest.mark.parametrize("n", [200, 3000, 12000])
def test_every_numeric_method_matches_evidently(method, n):
    ref, cur = _frames(n, n + 37, seed=n)
    cols = ["normal", "tokens", "heavy"] + (["few_int"] if method in ("psi", "jensenshannon") else [])
    assert_parity(ref, cur, cols, [], methods={c: method for c in cols})


@pytest.mark.parametrize("method", ["psi", "jensenshannon", "chisquare", "z"])
@pytest.mark.parametrize("n", [150, 5000])
def test_every_categorical_method_matches_evidently(method, n):
    ref, cur = _frames(n, 2 * n, seed=n + 1)
    cols = ["finish"] if method == "z" else ["model", "finish"]
    assert_parity(ref, cur, [], cols, methods={c: method for c in cols})


def test_category_only_in_current_matches_evidently():
    ref = pd.DataFrame({"c": ["a"] * 500 + ["b"] * 300 + ["c"] * 200})
    cur = pd.DataFrame({"c": ["a"] * 400 + ["b"] * 300 + ["c"] * 200 + ["new"] * 100})
    for method in ("psi", "jensenshannon", "chisquare"):
        assert_parity(ref, cur, [], ["c"], methods={"c": method})


def test_ks_exact_and_asymptotic_modes_match_scipy_through_evidently():
    # scipy's ks_2samp(method='auto') is exact up to 10000 rows per side, asymptotic above
    for n_ref, n_cur in [(50, 80), (800, 800), (10000, 9000), (10001, 300)]:
        ref, cur = _frames(n_ref, n_cur, seed=7, shift=0.05)
        assert_parity(ref, cur, ["normal", "tokens"], [], methods={"normal": "ks", "tokens": "ks"})


def test_nan_and_inf_are_dropped_like_evidently():
    ref, cur = _frames(2000, 2000, seed=3)
    ref.loc[::7, "normal"] = np.nan
    cur.loc[::5, "normal"] = np.inf
    cur.loc[::11, "heavy"] = -np.inf
    ref.loc[::13, "model"] = None
    us = assert_parity(ref, cur, ["normal", "heavy"], ["model"])
    assert us["normal"]["reference_rows"] == 2000 - len(range(0, 2000, 7))


def test_constant_columns():
    ref = pd.DataFrame({"x": np.full(2000, 3.0), "c": ["a"] * 2000})
    cur_same = pd.DataFrame({"x": np.full(1500, 3.0), "c": ["a"] * 1500})
    us = assert_parity(ref, cur_same, ["x"], ["c"])
    assert us["x"]["drifted"] is False and us["x"]["score"] == 0.0
    cur_moved = pd.DataFrame({"x": np.full(1500, 4.0), "c": ["b"] * 1500})
    us = assert_parity(ref, cur_moved, ["x"], ["c"])
    assert us["x"]["drifted"] is True and us["c"]["drifted"] is True
    small = assert_parity(ref.head(500), cur_same.head(500), ["x"], ["c"])
    assert small["x"]["method"] == "z" and small["x"]["score"] == 1.0
    # Wasserstein on a constant reference: Evidently floors the std at 0.001
    us = assert_parity(ref, cur_moved, ["x"], [], methods={"x": "wasserstein"})
    assert us["x"]["score"] == pytest.approx(1000.0)


def test_all_nan_or_empty_side_is_a_clear_result_not_a_crash():
    ref = pd.DataFrame({"x": np.full(100, np.nan), "c": [None] * 100})
    cur = pd.DataFrame({"x": np.arange(100, dtype=float), "c": ["a"] * 100})
    res = {r.column: r for r in compare_frames(pl.from_pandas(ref), pl.from_pandas(cur),
                                                kinds={"x": "numeric", "c": "categorical"})}
    for col in ("x", "c"):
        r = res[col]
        assert r.drifted is False and math.isnan(r.score)
        assert "reference has no values" in r.detail
        assert r.as_dict()["score"] is None
    empty_cur = compare_column("x", numeric_sample([1.0, 2.0, 3.0]), numeric_sample([]))
    assert "current has no values" in empty_cur.detail and empty_cur.drifted is False
    empty_cat = compare_column("c", categorical_sample(["a"]), categorical_sample([]), method="psi")
    assert empty_cat.method == "psi" and empty_cat.threshold == 0.1 and not empty_cat.drifted
    # Evidently raises on the same input; we answer instead
    with pytest.raises(ValueError, match="empty column"):
        evidently_drift(ref, cur, ["x"], [])


def test_cardinality_boundaries_of_default_selection():
    rng = np.random.default_rng(11)
    cases = {
        # (reference rows, distinct values pooled) -> expected method
        (1000, 2): "z", (1000, 3): "chisquare", (1000, 5): "chisquare", (1000, 6): "ks",
        (1001, 5): "jensenshannon", (1001, 6): "wasserstein",
    }
    for (n_ref, k), expected in cases.items():
        ref = pd.DataFrame({"v": rng.integers(0, k, n_ref).astype(np.int64)})
        ref.loc[: k - 1, "v"] = np.arange(k)  # every value present
        cur = pd.DataFrame({"v": rng.integers(0, k, 600).astype(np.int64)})
        assert_parity(ref, cur, ["v"], [], expect_methods={"v": expected})
    # a value only in the current window counts toward the pooled distinct values
    ref = pd.DataFrame({"v": rng.integers(0, 5, 1000).astype(np.int64)})
    cur = pd.DataFrame({"v": np.r_[rng.integers(0, 5, 500), [7]].astype(np.int64)})
    assert_parity(ref, cur, ["v"], [], expect_methods={"v": "ks"})


def test_psi_numeric_boundary_of_twenty_reference_values():
    # > 20 distinct reference values: Sturges bins; <= 20: one bin per value
    rng = np.random.default_rng(5)
    for k in (20, 21):
        ref = pd.DataFrame({"v": rng.integers(0, k, 3000).astype(np.int64)})
        ref.loc[: k - 1, "v"] = np.arange(k)
        cur = pd.DataFrame({"v": rng.integers(0, k + 3, 2500).astype(np.int64)})
        assert_parity(ref, cur, ["v"], [], methods={"v": "psi"})
        assert_parity(ref, cur, ["v"], [], methods={"v": "jensenshannon"})
