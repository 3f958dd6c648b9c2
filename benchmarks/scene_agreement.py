"""How far the tiled map is from the whole-image map (``docs/scenes.md``).

Run from the repository root::

    python -m benchmarks.scene_agreement [--quick] [--write]

For each scene -- the synthetic scene (``synthetic_pair``, 4 change types)
and planted Taizhou (``plant_transitions`` on the first date of
``taizhou.npz``, 4 planted types) -- and each method, the whole-image map of
seed 0 is compared with

* the tiled map of seed 0 (fit on a sample, map tile by tile with the halo):
  the share of valid pixels with the same label after the best matching of
  the tiled map's types to the whole map's (``change_analysis_accuracy`` of
  one map against the other), the binary agreement, and the change-type
  kappa of both against the ground truth;
* the whole-image map of seed 1: the same figures, the scale of what a
  different draw of one random stream changes by itself.

``--write`` replaces the ``scene-agreement`` section of benchmarks/RESULTS.md.
"""
import argparse
import os
import time

import numpy as np

from benchmarks._common import REPOSITORY, header_markdown, write_section

TAIZHOU = os.path.join(REPOSITORY, "..", "shared", "data", "taizhou", "taizhou.npz")


def _scene(name, size):
    from drl_np.datasets import plant_transitions, synthetic_pair
    if name == "synthetic":
        t1, t2, gt = synthetic_pair(shape=(size, size))
        return t1, t2, gt
    image = np.load(TAIZHOU)["t1"]
    t1, t2, gt, _ = plant_transitions(image, n_types=4, seed=0)
    return t1, t2, gt


def _agreement(a, b):
    from drl_np.metrics import binary_change_accuracy, change_analysis_accuracy
    ref = np.where(a < 0, 255, a)
    return (change_analysis_accuracy(ref, b).acc,
            float(np.mean((a > 0)[a >= 0] == (b > 0)[a >= 0])),
            binary_change_accuracy(ref, b).kappa)


def seam_only(t1, t2, method, tile, halo=None):
    """Agreement of the whole-image map with the same fitted model mapped
    tile by tile: the effect of the tiles (regions cut at tile borders, SLIC
    on each read window) alone, without the sample's."""
    from drl_np.estimators import make_estimator
    from drl_np.frontend import BandStats, fit_front_end
    from drl_np.regions import PIXELS_PER_SEGMENT, build_regions, default_compactness
    from drl_np.rng import check_random_state
    from drl_np.scene import SceneModel, map_scene
    from drl_np.scene_regions import RegionSettings
    from drl_np.sources import ArraySource
    from drl_np.tiles import DEFAULT_HALO, tile_grid

    halo = DEFAULT_HALO if halo is None else halo
    regions = build_regions(t1, t2, scaling="auto")
    members = regions.members("interior")
    est = make_estimator(method, (25, 15, 8, 4), {}, check_random_state(0)).fit(regions.x1, regions.x2, members)
    whole = regions.paint(est.labels_)
    valid = regions.valid
    front_end = fit_front_end(BandStats.of(t1, t2, valid), t1[valid], t2[valid], "auto")
    settings = RegionSettings("superpixel", 3, PIXELS_PER_SEGMENT,
                              default_compactness(regions.t1s, regions.t2s, valid), "interior")
    model = SceneModel(method, front_end, settings, est, None, halo, int(est.centroids_.shape[0]))
    tiled = np.full(whole.shape, -1, dtype=np.int64)

    def keep(t, res):
        tiled[t.core_slices] = res.cda
    source = ArraySource(t1, t2)
    map_scene(model, source, tile_grid(source.shape, tile, halo), consume=keep)
    return _agreement(whole, tiled)[0]


def compare(scene, size, method, tile, sample_size=None, halo=None):
    """Agreement figures of one scene and method (a dict)."""
    import drl_np
    from drl_np.metrics import change_analysis_accuracy

    t1, t2, gt = _scene(scene, size)
    kw = {"method": method, "schedule": (25, 15, 8, 4)}
    out = {"scene": scene, "shape": list(t1.shape), "method": method, "tile": tile,
           "sample_size": sample_size, "halo": halo}
    tic = time.perf_counter()
    whole = drl_np.analyse(t1, t2, random_state=0, **kw)
    out["whole_seconds"] = time.perf_counter() - tic
    tic = time.perf_counter()
    tiled = drl_np.analyse(t1, t2, random_state=0, tile=tile, sample_size=sample_size, halo=halo, **kw)
    out["tiled_seconds"] = time.perf_counter() - tic
    other = drl_np.analyse(t1, t2, random_state=1, **kw)
    out["kappa_whole"] = change_analysis_accuracy(gt, whole.cda_map).kappa
    out["kappa_tiled"] = change_analysis_accuracy(gt, tiled.cda_map).kappa
    out["kappa_seed1"] = change_analysis_accuracy(gt, other.cda_map).kappa
    out["agree_tiled"], out["binary_agree_tiled"], _ = _agreement(whole.cda_map, tiled.cda_map)
    out["agree_seed1"], out["binary_agree_seed1"], _ = _agreement(whole.cda_map, other.cda_map)
    from drl_np.methods import REGISTRY
    out["agree_seams"] = seam_only(t1, t2, method, tile, halo) if REGISTRY[method].kind == "region" else None
    return out


def seed_spread(scene, size, method, tile, seeds):
    """Change-type kappa against the ground truth of the whole-image and the
    tiled map over several seeds, and the agreement of the two per seed."""
    import drl_np
    from drl_np.metrics import change_analysis_accuracy

    t1, t2, gt = _scene(scene, size)
    kw = {"method": method, "schedule": (25, 15, 8, 4)}
    out = {"scene": scene, "shape": list(t1.shape), "method": method, "tile": tile, "seeds": list(seeds),
           "kappa_whole": [], "kappa_tiled": [], "agree": []}
    for seed in seeds:
        whole = drl_np.analyse(t1, t2, random_state=seed, **kw)
        tiled = drl_np.analyse(t1, t2, random_state=seed, tile=tile, **kw)
        out["kappa_whole"].append(change_analysis_accuracy(gt, whole.cda_map).kappa)
        out["kappa_tiled"].append(change_analysis_accuracy(gt, tiled.cda_map).kappa)
        out["agree"].append(_agreement(whole.cda_map, tiled.cda_map)[0])
        print(scene, seed, out["kappa_whole"][-1], out["kappa_tiled"][-1], out["agree"][-1], flush=True)
    return out


def seed_table(rows):
    from benchmarks._common import mean_std
    lines = ["| scene | method | tile | seeds | kappa, whole image | kappa, tiled | agreement per seed |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scene']} {r['shape'][0]}² | {r['method']} | {r['tile']} | "
                     f"{','.join(map(str, r['seeds']))} | {mean_std(r['kappa_whole'], '{:.4f}')} | "
                     f"{mean_std(r['kappa_tiled'], '{:.4f}')} | "
                     f"{', '.join(f'{a:.3f}' for a in r['agree'])} |")
    return lines


def table(rows):
    lines = ["| scene | method | tile / halo / sample | agree, tiled | agree, same model tiled | agree, "
             "seed 1 | binary agree, tiled / seed 1 | kappa whole / tiled / seed 1 | Δkappa tiled | "
             "seconds whole / tiled |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['scene']} {r['shape'][0]}² | {r['method']} | {r['tile']} / {r['halo']} / "
            f"{r['sample_size']} | {r['agree_tiled']:.4f} | "
            f"{'–' if r['agree_seams'] is None else format(r['agree_seams'], '.4f')} | {r['agree_seed1']:.4f} | "
            f"{r['binary_agree_tiled']:.4f} / {r['binary_agree_seed1']:.4f} | {r['kappa_whole']:.4f} / "
            f"{r['kappa_tiled']:.4f} / {r['kappa_seed1']:.4f} | {r['kappa_tiled'] - r['kappa_whole']:+.4f} | "
            f"{r['whole_seconds']:.0f} / {r['tiled_seconds']:.0f} |")
    return lines


def main(argv=None):
    from drl_np.scene import DEFAULT_SAMPLE_SIZE
    from drl_np.tiles import DEFAULT_HALO

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scenes, one method")
    parser.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    parser.add_argument("--methods", help="only the rows of these methods, e.g. pca-kmeans")
    parser.add_argument("--seeds", help="instead: DRLnet2's kappa over these seeds (e.g. 0,1,2), "
                                        "whole image and tiled")
    args = parser.parse_args(argv)
    if args.seeds:
        seeds = [int(v) for v in args.seeds.split(",")]
        rows = [seed_spread("synthetic", 1024, "drlnet2", 512, seeds),
                seed_spread("taizhou", 400, "drlnet2", 200, seeds)]
        text = "\n".join([header_markdown("DRLnet2 over seeds, whole image and tiled"), ""]
                         + seed_table(rows)) + "\n"
        print(text)
        if args.write:
            write_section(REPOSITORY / "benchmarks" / "RESULTS.md", "scene-seeds", text)
        return
    if args.quick:
        plan = [("synthetic", 256, "raw-km", 128, None, None)]
    else:
        plan = []
        for method in ("drlnet2", "cva", "irmad", "pca-kmeans"):
            plan.append(("synthetic", 1024, method, 512, None, None))
            plan.append(("taizhou", 400, method, 200, None, None))
        # the sample: fewer regions than the scene holds (taizhou has ~3000)
        plan.append(("taizhou", 400, "drlnet2", 200, 1500, None))
        # the halo: none, a small one and the default
        for halo in (0, 8, None):
            plan.append(("synthetic", 1024, "raw-km", 256, None, halo))
    if args.methods:
        plan = [p for p in plan if p[2] in args.methods.split(",")]
    rows = []
    for scene, size, method, tile, sample, halo in plan:
        r = compare(scene, size, method, tile, sample, halo)
        r["sample_size"] = r["sample_size"] or DEFAULT_SAMPLE_SIZE
        r["halo"] = DEFAULT_HALO if r["halo"] is None else r["halo"]
        rows.append(r)
        print(table([r])[-1], flush=True)
    text = "\n".join([header_markdown("Tiled maps against whole-image maps"), ""] + table(rows)) + "\n"
    print(text)
    if args.write:
        write_section(REPOSITORY / "benchmarks" / "RESULTS.md", "scene-agreement", text)


if __name__ == "__main__":
    main()
