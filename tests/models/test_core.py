"""The blocked batch path of ``fit_padded`` equals the straightforward one-analysis-at-a-time fit.

``fit_padded`` sorts the analyses by k and fits them in blocks trimmed to each block's largest k
(``_blocks``). Expected values here are ``fit_padded`` on each analysis alone (one row, no
padding: the path ``rma()`` takes, itself checked against metafor in test_goldens.py), on random
data with k from 1 to 40, every estimator and both tests; the block sizes are made tiny so that
a few hundred analyses give many blocks, including blocks cut by rows.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import metareview.models._core as core
from metareview.errors import ConvergenceError, ConvergenceWarning
from metareview.models._core import BatchFit, fit_padded

METHODS = ["EE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"]
ROW_FIELDS = [
    "beta", "se", "zval", "pval", "ci_lb", "ci_ub", "ddf", "tau2", "se_tau2", "tau2_ci_lb",
    "tau2_ci_ub", "I2_ci_lb", "I2_ci_ub", "H2_ci_lb", "H2_ci_ub", "QE", "QEp", "I2", "H2", "vt",
    "pi_lb", "pi_ub",
]  # fmt: skip


def random_batch(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` analyses, k from 1 to 40 (skewed towards small k), left-aligned padding."""
    rng = np.random.default_rng(seed)
    k = np.minimum(rng.geometric(0.08, size=n), 40)
    m = int(k.max())
    mask = np.arange(m)[None, :] < k[:, None]
    tau2 = rng.choice([0.0, 0.02, 0.3], size=n)
    v = rng.uniform(0.005, 0.6, size=(n, m))
    y = rng.normal(rng.normal(0, 0.5, size=n)[:, None], np.sqrt(v + tau2[:, None]))
    return np.where(mask, y, np.nan), np.where(mask, v, np.nan), mask


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "_BLOCK_OVERHEAD", 64)
    monkeypatch.setattr(core, "_BLOCK_MAX_CELLS", 256)


def one_by_one(y: np.ndarray, v: np.ndarray, mask: np.ndarray, **kw: Any) -> list[BatchFit]:
    out = []
    for i in range(y.shape[0]):
        cells = mask[i]
        out.append(fit_padded(y[i : i + 1, cells], v[i : i + 1, cells],
                              np.ones((1, int(cells.sum())), dtype=bool), **kw))  # fmt: skip
    return out


def assert_rows_equal(batch: BatchFit, single: list[BatchFit], mask: np.ndarray) -> None:
    for i, ref in enumerate(single):
        assert batch.k[i] == ref.k[0]
        assert batch.test[i] == ref.test[0]
        assert batch.converged[i] == ref.converged[0]
        for name in ROW_FIELDS:
            got, want = getattr(batch, name)[i], getattr(ref, name)[0]
            if np.isnan(want):
                assert np.isnan(got), (i, name)
            else:
                assert got == pytest.approx(want, rel=1e-10, abs=1e-13), (i, name)
        np.testing.assert_allclose(batch.weights[i][mask[i]], ref.weights[0], rtol=1e-10)
        assert np.isnan(batch.weights[i][~mask[i]]).all()


@pytest.mark.usefixtures("tiny_blocks")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_blocked_batch_equals_one_by_one(method: str, test: str) -> None:
    y, v, mask = random_batch(150, seed=METHODS.index(method))
    assert len(core._blocks(mask.sum(axis=1))) > 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = fit_padded(y, v, mask, method=method, test=test, level=90)
        single = one_by_one(y, v, mask, method=method, test=test, level=90)
    assert_rows_equal(batch, single, mask)


@pytest.mark.usefixtures("tiny_blocks")
def test_scattered_mask_and_fixed_tau2() -> None:
    """Studies need not be left-aligned (they are packed in order), and a per-row fixed tau^2
    follows its row through the sorting into blocks."""
    y, v, mask = random_batch(80, seed=11)
    rng = np.random.default_rng(5)
    cols = np.argsort(rng.random(mask.shape), axis=1)  # scatter the cells of each row
    rows = np.arange(mask.shape[0])[:, None]
    ys, vs, ms = y[rows, cols], v[rows, cols], mask[rows, cols]
    tau2 = np.asarray(rng.uniform(0, 0.2, size=mask.shape[0]), dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = fit_padded(ys, vs, ms, method="REML", test="knha")
        fixed = fit_padded(ys, vs, ms, method="DL", tau2=tau2)
        single = one_by_one(ys, vs, ms, method="REML", test="knha")
        single_fixed = [
            fit_padded(ys[i : i + 1, ms[i]], vs[i : i + 1, ms[i]],
                       np.ones((1, int(ms[i].sum())), dtype=bool), method="DL", tau2=float(tau2[i]))
            for i in range(ms.shape[0])
        ]  # fmt: skip
    assert_rows_equal(batch, single, ms)
    assert_rows_equal(fixed, single_fixed, ms)


def test_blocks_cover_every_row_once() -> None:
    rng = np.random.default_rng(2)
    for k in (rng.integers(1, 31, size=10_000), np.array([1000] + [5] * 9999), np.array([4] * 7)):
        blocks = core._blocks(k)
        if blocks[0][0] is None:
            assert len(blocks) == 1 and blocks[0][1] == k.max()
            continue
        rows = np.concatenate([b for b, _ in blocks if b is not None])
        assert np.array_equal(np.sort(rows), np.arange(k.size))
        for b, width in blocks:
            assert b is not None and k[b].max() == width
            assert b.size == 1 or b.size * width <= core._BLOCK_MAX_CELLS


def test_warnings_and_errors_are_counted_over_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """One warning for the whole batch with the total count, whatever the blocks; a
    ConvergenceError names the analyses by their original position."""
    y, v, mask = random_batch(300, seed=4)
    msgs = []
    for overhead in (1 << 30, 64):
        monkeypatch.setattr(core, "_BLOCK_OVERHEAD", overhead)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit_padded(y, v, mask, method="REML")
        msgs.append(sorted(str(w.message) for w in caught))
    assert msgs[0] == msgs[1]
    assert any("did not converge" in m for m in msgs[0])  # the oscillating-scoring path ran

    monkeypatch.setattr(
        core, "_solve_score",
        lambda d, m, c: (np.zeros(d.y.shape[0]), np.zeros(d.y.shape[0], dtype=bool)),
    )  # fmt: skip
    labels = [f"analysis-{i}" for i in range(y.shape[0])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        single = fit_padded(y, v, mask, method="REML", control={"maxiter": 3}, on_fail="nan")
        bad = np.flatnonzero(~single.converged)
        assert bad.size > 0 and np.isnan(single.beta[bad]).all()
        with pytest.raises(ConvergenceError, match=f"analysis {labels[bad[0]]}(,| )"):
            fit_padded(y, v, mask, method="REML", control={"maxiter": 3}, labels=labels)


def test_empty_batch_gives_empty_results() -> None:
    fit = fit_padded(np.zeros((0, 3)), np.ones((0, 3)), np.zeros((0, 3), dtype=bool))
    assert fit.beta.shape == (0,) and fit.weights.shape == (0, 3)
