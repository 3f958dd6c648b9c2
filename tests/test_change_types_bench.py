"""Smoke test of benchmarks/change_types.py: one scored run, the cache and
the tables made from it."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # the repository root

from benchmarks import change_types as ct  # noqa: E402
from drl_np.datasets import synthetic_pair  # noqa: E402
from drl_np.metrics import change_analysis_accuracy  # noqa: E402


def test_run_scores_as_the_metrics_do_and_tables_render(tmp_path):
    import drl_np
    t1, t2, gt = synthetic_pair(shape=(80, 80), seed=1)
    scores = ct.run(t1, t2, gt, "raw-km", 0, (12, 6, 4), {}, "planted")
    res = drl_np.analyse(t1, t2, method="raw-km", random_state=0, schedule=(12, 6, 4))
    assert scores["kappa"] == pytest.approx(change_analysis_accuracy(gt, res.cda_map).kappa)
    jump = ct.run(t1, t2, gt, "drlnet2", 0, (12, 6, 4),
                  {"schedule": "jump", "method": "raw-km"}, "binary")
    assert "kappa" not in jump and 0 <= jump["kappa_binary"] <= 1
    cache = tmp_path / "c.jsonl"
    recs = []
    for scene, m, k in (("a", "drlnet2", 0.6), ("a", "cva", 0.7), ("b", "drlnet2", 0.8), ("b", "cva", 0.5)):
        rec = {"key": f"table|{scene}|0|{m}", "mode": "table", "scene": scene, "seed": 0, "method": m,
               "kind": "planted", "kw": {}, "kappa": k, "acc": 0.9, "kappa_binary": 0.8, "seconds": 1.0}
        ct._append(cache, rec); recs.append(rec)
    assert len(ct._load_cache(cache)) == 4
    text = ct.render_table(list(ct._load_cache(cache).values()))
    assert "| DRLnet2 | 0.600 | 0.800 | 0.700 |" in text
    assert "**a**: best CVA (0.700); DRLnet2 0.600, rank 2 of 2, trails CVA by 0.100." in text
    abl = [dict(r, mode="ablations", ablation=a, kind=kind, scene="s") for r in recs[:1]
           for a, kind in (("default", "planted"), ("alpha=0", "planted"), ("default", "binary"))]
    abl[1]["kappa"] = 0.5
    assert "| alpha=0 | 0.500 | -0.100 |" in ct.render_ablations(abl)


def test_representation_scores_cluster_the_truly_changed_regions():
    t1, t2, gt = synthetic_pair(shape=(80, 80), seed=1)
    gt = gt.copy()
    gt[gt > 4] = 4                                 # the probe asks for 4 types
    scores = ct.representation_scores(t1, t2, gt, seed=0)
    assert set(scores) == set(ct.REPRESENTATIONS)
    assert all(-1 <= v <= 1 for v in scores.values())
    # the synthetic types differ in their spectra: the raw difference separates them
    assert scores["x1 - x2 (Raw+KM)"] > 0.6
    recs = [{"mode": "representations", "scene": "s", "seed": 0, "representations": scores}]
    text = ct.render_representations(recs)
    assert f"| x1 - x2 (Raw+KM) | {scores['x1 - x2 (Raw+KM)']:.3f} |" in text
    assert ct._run_info([{"commit": "abc"}])["commit"] == "abc"
