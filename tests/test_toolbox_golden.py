"""The mirror against the original toolbox run under GNU Octave
(reference/dlt): every case replayed from its seed alone."""
import numpy as np
import pytest

from golden import CASES, cell, load_golden, replay

TOLERANCE = {"numpy": 1e-12, "numba": 1e-10}


def _max_diff(golden, mine):
    return max(float(np.max(np.abs(np.asarray(g).ravel() - np.asarray(m).ravel())))
               for g, m in zip(golden, mine))


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("case", CASES)
def test_replay_matches_octave(case, engine):
    g = load_golden(case)
    out = replay(case, engine=engine)
    tol = TOLERANCE[engine]
    # the data and initial weights are drawn, not computed: they must be exact
    for key in ("x", "y", "tx"):
        np.testing.assert_array_equal(out[key], g[key])
    assert _max_diff(cell(g, "W0"), out["W0"]) <= (0 if case != "case5_sae_then_finetune" else tol)
    np.testing.assert_allclose(out["L"], g["L"].ravel(), rtol=0, atol=tol)
    assert len(out["W"]) == g["W"].shape[1]
    assert _max_diff(cell(g, "W"), out["W"]) <= tol
    assert _max_diff(cell(g, "vW"), out["vW"]) <= tol
    assert _max_diff(cell(g, "p")[1:], out["p"]) <= tol
    np.testing.assert_array_equal(out["labels"], g["labels"].ravel() - 1)
    if case == "case5_sae_then_finetune":
        for key in ("sae_W0_1", "sae_W0_2"):
            assert _max_diff(cell(g, key), out[key]) == 0
        for key in ("sae_W_1", "sae_W_2"):
            assert _max_diff(cell(g, key), out[key]) <= tol


def test_training_changes_the_weights():
    # guards the replay: a no-op trainer would fail the comparison above too,
    # but say so plainly
    g = load_golden("case1_sigm_sparse")
    assert _max_diff(cell(g, "W0"), cell(g, "W")) > 1e-3
