"""Smoke test of the benchmark scripts: one scored run per method kind on a
tiny pair, the table row format, the run plan and the isolated runner."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # the repository root

import drl_np  # noqa: E402
from benchmarks import compare  # noqa: E402
from benchmarks._common import mean_std, run_isolated  # noqa: E402
from drl_np.datasets import save_pair, synthetic_pair  # noqa: E402
from drl_np.metrics import binary_change_accuracy, change_analysis_accuracy  # noqa: E402

SHAPE = (96, 96)


def _cells(row):
    assert row.startswith("| ") and row.endswith(" |")
    return [c.strip() for c in row[1:-1].split("|")]


def test_run_one_synthetic_raw_km_matches_direct_scoring():
    rec = compare.run_one("synthetic", "raw-km", seed=0, synthetic_shape=SHAPE)
    assert rec["kind"] == "analysis" and rec["shape"] == [*SHAPE, 4]
    assert rec["seconds"] > 0 and "regions" in rec["timings"]
    # the same run by hand, scored by hand: two routes, one result
    t1, t2, gt = synthetic_pair(shape=SHAPE)
    res = drl_np.analyse(t1, t2, method="raw-km", random_state=0, schedule=compare.SYNTHETIC_SCHEDULE)
    cda = change_analysis_accuracy(gt, res.cda_map)
    binary = binary_change_accuracy(gt, res.cda_map)
    assert rec["scores"]["acc"] == pytest.approx(cda.acc)
    assert rec["scores"]["kappa"] == pytest.approx(cda.kappa)
    assert rec["scores"]["f1"] == pytest.approx(binary.f1)
    assert rec["scores"]["kappa_binary"] == pytest.approx(binary.kappa)

    group = compare.summarise([dict(rec, ok=True, peak_rss_mib=321.0)])[("raw-km", "")]
    row = compare.table_row("raw-km", "", group, "analysis")
    header = _cells(compare.table_header("analysis").splitlines()[0])
    cells = _cells(row)
    assert len(cells) == len(header)
    assert cells[0] == "Raw+KM" and cells[2] == "0"
    assert cells[header.index("ACC")] == f"{cda.acc:.3f}"
    assert cells[header.index("peak RSS MiB")] == "321"


def test_run_one_binary_pair_cva(tmp_path):
    t1, t2, gt = synthetic_pair(shape=SHAPE, seed=1)
    gt = (gt > 0).astype(np.uint8)
    gt[:10] = 255                                          # an unlabelled strip
    path = save_pair(tmp_path / "tiny.npz", t1, t2, gt=gt)
    rec = compare.run_one("tiny", "cva", seed=0, path=str(path))
    assert rec["kind"] == "binary"
    res = drl_np.analyse(t1, t2, method="cva", random_state=0, schedule=compare.DEFAULT_SCHEDULE)
    binary = binary_change_accuracy(gt, res.cda_map)
    assert binary.n_pixels == 86 * 96                      # labelled pixels only
    assert rec["scores"]["acc"] == pytest.approx(binary.oa)
    assert rec["scores"]["kappa"] == pytest.approx(binary.kappa)
    assert rec["scores"]["f1"] == pytest.approx(binary.f1)

    failed = {"dataset": "tiny", "method": "cva", "seed": 1, "params": {}, "ok": False, "error": "boom"}
    groups = compare.summarise([dict(rec, ok=True, peak_rss_mib=100.0), failed])
    cells = _cells(compare.table_row("cva", "", groups[("cva", "")], "binary"))
    assert len(cells) == len(_cells(compare.table_header("binary").splitlines()[0]))
    assert "1 failed" in cells[2] and "boom" in cells[2]


def test_mean_std_hand_worked():
    assert mean_std([0.9, 0.8]) == "0.850 ± 0.050"
    assert mean_std([2.0], "{:.1f}") == "2.0"
    assert mean_std([]) == "–"


def test_plan_seeds_per_method_kind():
    runs = compare.plan(["synthetic"], ["drlnet2", "cva", "pca-kmeans"], [0, 1, 2], [0])
    by_method = {}
    for _, method, seed, params in runs:
        by_method.setdefault((method, params.get("preset")), []).append(seed)
    assert by_method == {("drlnet2", None): [0, 1, 2], ("drlnet2", "paper"): [0],
                         ("cva", None): [0], ("pca-kmeans", None): [0, 1, 2]}


def test_run_isolated_reports_memory_and_failures():
    ok = run_isolated("benchmarks._common:mean_std", {"values": [1.0, 3.0]}, timeout=60)
    assert ok["ok"] and ok["result"] == "2.000 ± 1.000"
    assert ok["peak_rss_mib"] >= ok["rss_before_mib"] > 0
    bad = run_isolated("benchmarks._common:mean_std", {}, timeout=60)
    assert not bad["ok"] and bad["error"].startswith("TypeError")


def _group(kappas):
    return {"seeds": list(range(len(kappas))), "failed": [], "acc": kappas, "kappa": kappas,
            "f1": kappas, "kappa_binary": kappas, "seconds": [1.0] * len(kappas),
            "peak_rss_mib": [1.0] * len(kappas)}


@pytest.mark.parametrize("drlnet2, raw, expected", [
    ([0.90, 0.92, 0.88], [0.50], "ranking holds"),        # 0.90 - 0.50 > max(0.02, 2 * 0.016)
    ([0.50, 0.52, 0.48], [0.90], "does not hold"),        # Raw+KM 0.40 ahead
    ([0.70, 0.70, 0.70], [0.71], "beyond the seed noise"),  # |diff| 0.01 <= 0.02
])
def test_verdict_reads_the_numbers(drlnet2, raw, expected):
    groups = {("drlnet2", ""): _group(drlnet2),
              ("drlnet1", ""): _group([0.1]),
              ("sae-km", ""): _group([0.1]), ("raw-km", ""): _group(raw)}
    text = compare.verdict("tiny", groups, "binary")
    assert expected in text
    assert ("Likely why" in text) == (expected != "ranking holds")


def test_write_section_replaces_only_its_own_section(tmp_path):
    from benchmarks._common import write_section
    path = tmp_path / "RESULTS.md"
    path.write_text("# Results\n\nkept text\n")
    write_section(path, "compare", "# Compare\n\nfirst")
    write_section(path, "scaling", "# Scaling\n\ntable")
    write_section(path, "compare", "# Compare\n\nsecond")
    text = path.read_text()
    assert text.count("<!-- compare:start -->") == 1 and "first" not in text and "second" in text
    assert "kept text" in text and "## Scaling" in text and "## Compare" in text
    assert text.index("second") < text.index("## Scaling")     # replaced in place
