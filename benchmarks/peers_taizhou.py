"""Peers (CVA, PCA-KMeans, MAD, IRMAD, ISFA) on Taizhou against published maps.

Run from the repository root::

    python -m benchmarks.peers_taizhou [--data PATH] [--all-rules]

Each peer runs with default settings on the whole 400 x 400 image (no mask);
OA, kappa and F1 are scored on the labelled pixels only (gt 0/1, 255 =
unlabelled), as the published figures are. Published: the result maps of
ChenHongruixuan/ChangeDetectionRepository scored on the same pixels
(docs/peers.md). ``--all-rules`` adds a row for every decision rule.
Prints a markdown table.
"""
import argparse
import os
import time

import numpy as np

from drl_np.metrics import binary_change_accuracy
from drl_np.peers import DECISION_RULES, PEER_METHODS, detect_changes

DEFAULT_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                            "data", "taizhou", "taizhou.npz")
PUBLISHED = {"irmad": (0.979, 0.932, 0.945), "isfa": (0.978, 0.928, 0.942),
             "cva": (0.968, 0.892, 0.912)}                    # OA, kappa, F1


def run(path, all_rules=False):
    """Markdown table lines for every peer on the pair at ``path``."""
    data = np.load(path)
    t1, t2, gt = data["t1"], data["t2"], data["gt"]
    rows = ["| method | rule | OA | kappa | F1 | published kappa | Δkappa | seconds |",
            "|---|---|---|---|---|---|---|---|"]
    for method in PEER_METHODS:
        rules = [None] + ([r for r in DECISION_RULES] if all_rules else [])
        for rule in rules:
            start = time.perf_counter()
            try:
                res = detect_changes(t1, t2, method, threshold=rule, random_state=0)
            except Exception as exc:             # a rule module missing etc.
                rows.append(f"| {method} | {rule} | failed: {exc} | | | | | |")
                continue
            secs = time.perf_counter() - start
            if rule is not None and rule == _default_rule(method):
                continue                          # same as the default row
            score = binary_change_accuracy(gt, res.change_map.astype(np.int64))
            pub = PUBLISHED.get(method)
            pub_k = f"{pub[1]:.3f}" if pub and rule is None else "–"
            delta = f"{score.kappa - pub[1]:+.3f}" if pub and rule is None else "–"
            label = res.rule + (" (default)" if rule is None else "")
            rows.append(f"| {method} | {label} | {score.oa:.3f} | {score.kappa:.3f} | "
                        f"{score.f1:.3f} | {pub_k} | {delta} | {secs:.1f} |")
    return rows


def _default_rule(method):
    from drl_np.peers import _DEFAULT_RULE
    return _DEFAULT_RULE[method]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_PATH, help="taizhou.npz path")
    parser.add_argument("--all-rules", action="store_true",
                        help="also score every decision rule, not only the default")
    args = parser.parse_args(argv)
    if not os.path.exists(args.data):
        print(f"Taizhou data not found at {os.path.normpath(args.data)}; "
              "nothing to benchmark (pass --data PATH).")
        return 0
    print("\n".join(run(args.data, args.all_rules)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
