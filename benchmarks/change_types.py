"""Change types on real imagery: planted transitions in real scenes, every
method, change-type ACC/kappa after matching and binary kappa; and the
DRLnet2 ablations of the front end and the learning choices.

Run from the repository root::

    python -m benchmarks.change_types table     [--data DIR] [--seeds 0,1,2] [--scenes ...]
    python -m benchmarks.change_types ablations [--data DIR] [--seeds 0] [--binary-seeds 0]
    python -m benchmarks.change_types representations [--seeds 0,1,2] [--scenes ...]
    python -m benchmarks.change_types render                       # tables from the cache

* Planted scenes: :func:`drl_np.datasets.plant_transitions` on the first date
  of every pair in the data directory with at least 3 bands, 4 transitions,
  one planting per seed (the seed is also the analysis's ``random_state``).
  Schedule (25, 15, 8, 4), so every method maps 4 change types.
* The ablations run DRLnet2 with one choice changed at a time, on the
  planted scenes (change-type kappa) and on the real binary pairs (binary
  kappa, schedule (25, 15, 8, 5)).
* ``representations`` asks which sample representation carries the planted
  types at all: every region gets its majority planted class, the regions
  truly changed are given (no threshold), and K-means into 4 types runs on
  each representation of the methods (the raw difference of Raw+KM, the
  autoencoder features of SAE+KM, DRLnet2's g and DR, at the default learning
  rate and the paper's); scored as the table, after matching.
* Every finished run is appended to ``--cache`` (JSON lines; a run already
  there is not repeated), so two processes can share the work and an
  interrupted run can be finished; the tables go to ``--out``
  (``benchmarks/RESULTS.md``), sections ``change-types``, ``ablations`` and
  ``representations``; each record keeps the commit and source digest it
  was run at, and the headers name those.
  Seconds are those of ``drl_np.analyse`` in one process, the CPU shared.
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from drl_np.methods import METHODS, REGISTRY

from benchmarks._common import header_markdown, machine_info, mean_std, write_section

PLANTED_SCHEDULE = (25, 15, 8, 4)
BINARY_SCHEDULE = (25, 15, 8, 5)
#: name -> analyse() keyword arguments of DRLnet2 (method overrides allowed)
ABLATIONS = {
    "default": {},
    "scaling='joint' (paper)": {"scaling": "joint"},
    "region_statistic='centre' (paper)": {"region_statistic": "centre"},
    "region_statistic='interior'": {"region_statistic": "interior"},
    "region_statistic='mean'": {"region_statistic": "mean"},
    "region_sample='centre' (paper)": {"region_sample": "centre"},
    "region_weight='none' (paper)": {"region_weight": "none"},
    "threshold_statistic='squared' (paper)": {"threshold_statistic": "squared"},
    "input_scaling='none' (paper)": {"input_scaling": "none"},
    "learning_rate=0.005 (paper)": {"learning_rate": 0.005},
    "learning_rate=0.1": {"learning_rate": 0.1},
    "network_sparsity_penalty=0.1 (paper)": {"network_sparsity_penalty": 0.1},
    "alpha=0": {"alpha": 0.0},
    "alpha=1": {"alpha": 1.0},
    "one jump K0 -> KT": {"schedule": "jump"},
    "DRLnet1": {"method": "drlnet1"},
    "finetune_epochs=5": {"finetune_epochs": 5},
    "finetune_epochs=20": {"finetune_epochs": 20},
    "change_space='features' (paper), region_statistic='interior'": {"change_space": "features",
                                                                     "region_statistic": "interior"},
    "preset='paper'": {"preset": "paper"},
}


def data_root(arg):
    return Path(arg or os.environ.get("DRL_NP_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


def multiband_pairs(root):
    from drl_np.datasets import available_datasets, load_pair
    out = []
    for name, path in sorted(available_datasets(root).items()):
        if load_pair(path).t1.ndim == 3 and load_pair(path).t1.shape[2] >= 3:
            out.append((name, path))
    return out


def planted(name, path, seed, cache_dir):
    """(t1, t2, gt) of the pair's first date with 4 planted transitions."""
    from drl_np.datasets import load_pair, plant_transitions
    f = Path(cache_dir) / f"{name}_{seed}.npz"
    if not f.exists():
        t1, t2, gt, _ = plant_transitions(load_pair(path).t1, n_types=4, seed=seed)
        tmp = f.with_name(f".{f.name}.{os.getpid()}.npz")
        np.savez(tmp, t1=t1, t2=t2, gt=gt)
        os.replace(tmp, f)
    z = np.load(f)
    return z["t1"], z["t2"], z["gt"]


def run(t1, t2, gt, method, seed, schedule, kw, kind):
    import drl_np
    from drl_np.metrics import binary_change_accuracy, change_analysis_accuracy
    kw = dict(kw)
    method = kw.pop("method", method)
    if kw.get("schedule") == "jump":
        kw["schedule"] = (schedule[0], schedule[-1])
    schedule = kw.pop("schedule", schedule)
    tic = time.perf_counter()
    res = drl_np.analyse(t1, t2, method=method, random_state=seed, schedule=schedule, **kw)
    seconds = time.perf_counter() - tic
    scores = {"kappa_binary": binary_change_accuracy(gt, res.cda_map).kappa, "seconds": seconds}
    if kind == "planted":
        cda = change_analysis_accuracy(gt, res.cda_map)
        scores.update(acc=cda.acc, kappa=cda.kappa)
    return scores


def _load_cache(path):
    done = {}
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done[r["key"]] = r
    return done


def _append(path, record):
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")


def jobs_table(root, seeds, scenes, methods):
    for name, path in multiband_pairs(root):
        if scenes and name not in scenes:
            continue
        for seed in seeds:
            for m in methods:
                yield {"key": f"table|{name}|{seed}|{m}", "mode": "table", "scene": name, "path": str(path),
                       "seed": seed, "method": m, "kind": "planted", "kw": {}}


def jobs_ablations(root, seeds, binary_seeds, scenes):
    from drl_np.datasets import available_datasets
    for abl, kw in ABLATIONS.items():
        for name, path in multiband_pairs(root):
            if scenes and name not in scenes:
                continue
            for seed in seeds:
                yield {"key": f"abl|{abl}|planted|{name}|{seed}", "mode": "ablations", "ablation": abl,
                       "scene": name, "path": str(path), "seed": seed, "method": "drlnet2",
                       "kind": "planted", "kw": kw}
        for name, path in sorted(available_datasets(root).items()):
            for seed in binary_seeds:
                yield {"key": f"abl|{abl}|binary|{name}|{seed}", "mode": "ablations", "ablation": abl,
                       "scene": name, "path": str(path), "seed": seed, "method": "drlnet2",
                       "kind": "binary", "kw": kw}


def jobs_representations(root, seeds, scenes):
    for name, path in multiband_pairs(root):
        if scenes and name not in scenes:
            continue
        for seed in seeds:
            yield {"key": f"repr|{name}|{seed}", "mode": "representations", "scene": name, "path": str(path),
                   "seed": seed, "method": "-", "kind": "representations", "kw": {}}


#: name -> how a representation is made: (estimator keyword arguments or None
#: for the raw samples, which part of the fitted model is clustered)
REPRESENTATIONS = {
    "x1 - x2 (Raw+KM)": (None, "raw difference"),
    "[x1, x2]": (None, "raw joint"),
    "u1 - u2 (SAE+KM)": ("sae", "difference"),
    "g(x1) - g(x2), DRLnet2": ({}, "branch difference"),
    "DR, DRLnet2": ({}, "dr"),
    "DR, DRLnet2, the paper's learning rate": ({"learning_rate": 0.005}, "dr"),
}


def representation_scores(t1, t2, gt, seed):
    """Change-type kappa of K-means (4 types) on each representation of
    :data:`REPRESENTATIONS`, the truly changed regions given; regions,
    samples and weights of the default front end."""
    from drl_np import DRLnet, SAEKM
    from drl_np.clustering import change_types
    from drl_np.drlnet import forward_all
    from drl_np.metrics import change_analysis_accuracy
    from drl_np.regions import build_regions, region_sample_weight
    from drl_np.rng import check_random_state
    regions = build_regions(t1, t2, scaling="auto", sample="mean")
    members, weight = regions.members("pixels"), region_sample_weight(regions.sizes, "pixels")
    inside = regions.labels >= 0
    votes = np.zeros((regions.n_regions, int(gt.max()) + 1))
    np.add.at(votes, (regions.labels[inside], gt[inside].astype(np.int64)), 1)
    changed = votes.argmax(axis=1) > 0          # the region's majority planted class
    x1, x2 = regions.x1, regions.x2
    scores, fitted = {}, {}
    for name, (kw, part) in REPRESENTATIONS.items():
        if kw is None:
            rep = x1 - x2 if part == "raw difference" else np.hstack([x1, x2])
        elif kw == "sae":
            sae = SAEKM(n_types=4, random_state=seed).fit(x1, x2, members, weight)
            rep = sae._encode(x1) - sae._encode(x2)
        else:
            key = tuple(sorted(kw.items()))
            if key not in fitted:
                model = DRLnet(schedule=PLANTED_SCHEDULE, random_state=seed, **kw).fit(x1, x2, members, weight)
                scale = model.input_scaler_.apply
                fitted[key] = forward_all(model.network_, scale(x1), scale(x2))
            dr, h1, h2 = fitted[key]
            rep = dr if part == "dr" else h1 - h2
        labels, _ = change_types(rep, changed, 4, check_random_state(seed), weight)
        scores[name] = change_analysis_accuracy(gt, regions.paint(labels)).kappa
    return scores


def execute(jobs, cache, cache_dir, worker=0, n_workers=1):
    from drl_np.datasets import load_pair
    info = machine_info()
    done = _load_cache(cache)
    for i, job in enumerate(jobs):
        if i % n_workers != worker or job["key"] in _load_cache(cache) or job["key"] in done:
            continue
        if job["kind"] in ("planted", "representations"):
            t1, t2, gt = planted(job["scene"], job["path"], job["seed"], cache_dir)
            schedule = PLANTED_SCHEDULE
        else:
            p = load_pair(job["path"]); t1, t2, gt = p.t1, p.t2, p.gt
            schedule = BINARY_SCHEDULE
        try:
            if job["kind"] == "representations":
                scores = {"representations": representation_scores(t1, t2, gt, job["seed"])}
            else:
                scores = run(t1, t2, gt, job["method"], job["seed"], schedule, job["kw"], job["kind"])
        except Exception as exc:       # recorded, so the table says which run failed
            scores = {"error": f"{type(exc).__name__}: {exc}"}
        record = {k: v for k, v in job.items() if k != "path"}
        record.update(scores, commit=info["commit"], source=info.get("source"))
        _append(cache, record)
        print(json.dumps(record), flush=True)


# -- tables -------------------------------------------------------------------
def render_table(records):
    rows = [r for r in records if r["mode"] == "table" and "error" not in r]
    scenes = sorted({r["scene"] for r in rows})
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    seeds = sorted({r["seed"] for r in rows})
    out = [f"Planted scenes: 4 transitions planted into the first date of each pair "
           f"(`plant_transitions`, seeds {','.join(map(str, seeds))}); mean ± std over the seeds.", ""]
    summary = {}
    for scene in scenes:
        out += [f"### {scene}", "", "| method | change-type ACC | change-type kappa | binary kappa | seconds |",
                "|---|---|---|---|---|"]
        for m in methods:
            rs = [r for r in rows if r["scene"] == scene and r["method"] == m]
            if not rs:
                continue
            summary[(scene, m)] = float(np.mean([r["kappa"] for r in rs]))
            out.append(f"| {REGISTRY[m].label} | {mean_std([r['acc'] for r in rs])} | "
                       f"{mean_std([r['kappa'] for r in rs])} | {mean_std([r['kappa_binary'] for r in rs])} | "
                       f"{np.mean([r['seconds'] for r in rs]):.1f} |")
        out.append("")
    out += ["### Summary: mean change-type kappa", "",
            "| method | " + " | ".join(scenes) + " | mean |", "|---" * (len(scenes) + 2) + "|"]
    for m in methods:
        vals = [summary.get((s, m)) for s in scenes]
        mean = np.mean([v for v in vals if v is not None])
        out.append(f"| {REGISTRY[m].label} | " + " | ".join("–" if v is None else f"{v:.3f}" for v in vals)
                   + f" | {mean:.3f} |")
    out += ["", _table_words(summary, scenes, methods)]
    failed = [r for r in records if r["mode"] == "table" and "error" in r]
    if failed:
        out += ["", "Failed runs: " + "; ".join(f"{r['scene']} s{r['seed']} {r['method']}: {r['error']}"
                                               for r in failed)]
    return "\n".join(out) + "\n"


def _table_words(summary, scenes, methods):
    means = {m: float(np.mean([summary[(s, m)] for s in scenes if (s, m) in summary])) for m in methods}
    order = sorted(means, key=means.get, reverse=True)
    words = [f"Over all scenes the planted types are recovered best by {REGISTRY[order[0]].label} "
             f"(mean kappa {means[order[0]]:.3f}), then {REGISTRY[order[1]].label} ({means[order[1]]:.3f})"
             + (f"; DRLnet2 is rank {order.index('drlnet2') + 1} of {len(order)} ({means['drlnet2']:.3f})."
                if "drlnet2" in means else ".")]
    for s in scenes:
        ranked = sorted((summary[(s, m)], m) for m in methods if (s, m) in summary)[::-1]
        best_v, best = ranked[0]
        if "drlnet2" in methods and (s, "drlnet2") in summary:
            d = summary[(s, "drlnet2")]
            rank = [m for _, m in ranked].index("drlnet2") + 1
            other_v, other = next((v, m) for v, m in ranked if m != "drlnet2")
            rel = (f"leads the next method ({REGISTRY[other].label}) by {d - other_v:.3f}" if rank == 1
                   else f"trails {REGISTRY[best].label} by {best_v - d:.3f}")
            words.append(f"**{s}**: best {REGISTRY[best].label} ({best_v:.3f}); DRLnet2 {d:.3f}, "
                         f"rank {rank} of {len(ranked)}, {rel}.")
    return " ".join(words)


def render_ablations(records):
    rows = [r for r in records if r["mode"] == "ablations" and "error" not in r]
    names = [a for a in ABLATIONS if any(r["ablation"] == a for r in rows)]
    out = ["DRLnet2 with one choice changed at a time. Planted: mean change-type kappa over the "
           "planted scenes and seeds; binary: mean binary kappa over the real pairs and seeds; "
           "Δ against the default.", "",
           "| ablation | planted type kappa | Δ | real binary kappa | Δ | runs | mean seconds |",
           "|---|---|---|---|---|---|---|"]
    base = {}
    for a in names:
        p = [r["kappa"] for r in rows if r["ablation"] == a and r["kind"] == "planted"]
        b = [r["kappa_binary"] for r in rows if r["ablation"] == a and r["kind"] == "binary"]
        mp, mb = (float(np.mean(p)) if p else float("nan")), (float(np.mean(b)) if b else float("nan"))
        if a == "default":
            base = {"p": mp, "b": mb}
        sec = np.mean([r["seconds"] for r in rows if r["ablation"] == a])
        out.append(f"| {a} | {mp:.3f} | {mp - base.get('p', mp):+.3f} | {mb:.3f} | "
                   f"{mb - base.get('b', mb):+.3f} | {len(p)} + {len(b)} | {sec:.1f} |")
    scenes = sorted({r["scene"] for r in rows if r["kind"] == "binary"})
    out += ["", "Binary kappa per real pair:", "",
            "| ablation | " + " | ".join(scenes) + " |", "|---" * (len(scenes) + 1) + "|"]
    for a in names:
        cells = []
        for s in scenes:
            v = [r["kappa_binary"] for r in rows if r["ablation"] == a and r["kind"] == "binary" and r["scene"] == s]
            cells.append(f"{np.mean(v):.3f}" if v else "–")
        out.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def render_representations(records):
    rows = [r for r in records if r["mode"] == "representations" and "error" not in r]
    scenes = sorted({r["scene"] for r in rows})
    seeds = sorted({r["seed"] for r in rows})
    out = ["Which representation carries the planted types: the truly changed regions given (each "
           "region's majority planted class), K-means into 4 types on each representation, change-type "
           f"kappa after matching; mean over seeds {','.join(map(str, seeds))}. A method's types can be "
           "no better than its representation allows.", "",
           "| representation | " + " | ".join(scenes) + " | mean |", "|---" * (len(scenes) + 2) + "|"]
    for name in REPRESENTATIONS:
        cells = [np.mean([r["representations"][name] for r in rows if r["scene"] == s]) for s in scenes]
        out.append(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {np.mean(cells):.3f} |")
    return "\n".join(out) + "\n"


def _run_info(records):
    """machine_info() with the commit and source digest the records were run at."""
    info = machine_info()
    for field in ("commit", "source"):
        seen = sorted({str(r[field]) for r in records if r.get(field)})
        if seen:
            info[field] = ", ".join(seen)
        else:
            info[field] = f"{info[field]} (rendered; the runs predate per-run records)"
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("table", "ablations", "representations", "render"))
    ap.add_argument("--data")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--binary-seeds", default="0")
    ap.add_argument("--scenes", default="")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "drl_np_change_types.jsonl"))
    ap.add_argument("--planted-dir", default=str(Path(tempfile.gettempdir()) / "drl_np_planted"))
    ap.add_argument("--worker", type=int, default=0, help="this process's share: worker W of N")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).with_name("RESULTS.md")))
    args = ap.parse_args(argv)
    root = data_root(args.data)
    if not root.is_dir():
        print(f"no data directory at {root}; give --data DIR or DRL_NP_DATA"); return 0
    Path(args.planted_dir).mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    scenes = [s for s in args.scenes.split(",") if s]
    if args.mode == "table":
        execute(jobs_table(root, seeds, scenes, args.methods.split(",")), args.cache, args.planted_dir,
                args.worker, args.workers)
    elif args.mode == "ablations":
        execute(jobs_ablations(root, seeds, [int(s) for s in args.binary_seeds.split(",")], scenes),
                args.cache, args.planted_dir, args.worker, args.workers)
    elif args.mode == "representations":
        execute(jobs_representations(root, seeds, scenes), args.cache, args.planted_dir,
                args.worker, args.workers)
    records = list(_load_cache(args.cache).values())
    sections = {"table": ("change-types", "Change types on real imagery: planted transitions", render_table),
                "ablations": ("ablations", "DRLnet2 ablations", render_ablations),
                "representations": ("representations", "Which representation carries the change types",
                                    render_representations)}
    for mode, (section, title, render) in sections.items():
        mine = [r for r in records if r["mode"] == mode]
        if mine:
            write_section(args.out, section, header_markdown(
                title, _run_info(mine), command=f"python -m benchmarks.change_types {mode}")
                + "\n" + render(records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
