"""Whole scenes end to end: a Sentinel-2-sized GeoTIFF pair mapped tile by
tile, its seconds and the peak memory of every process (``docs/scenes.md``).

Run from the repository root::

    python -m benchmarks.scene [--sizes 2048,4096,8192,10980] [--methods drlnet2,cva,irmad]
        [--speedup 4096] [--cache DIR] [--write] [--stop-after 2400]
    python -m benchmarks.scene --sample-sizes 5000,10000,20000,40000 [--write]

The scene is built once on disk (``--cache``, default ``../cache/scene``
beside the repository): a 10980 x 10980 x 4 uint16 pair (and its ground
truth) tiled from 10 x 10 synthetic scenes (``synthetic_pair(shape=(1098,
1098), seed=s)``, s = 0..99, reflectance x 10000), written window by window
as tiled, deflate-compressed GeoTIFFs in UTM 50N at 10 m. The smaller scenes
are its upper-left windows. Each run is ``drl-np run T1 T2 --out DIR --method
M --tile 512 --schedule 25,15,8,4 -q`` in a fresh process (the scene has
4 change types); its seconds are the wall clock of that
process and the peak RSS of every process is read from report.json (the run
itself: its own high-water mark, ``report.peak_memory_mib``; Dask workers:
the same, on each worker). ``--speedup
S`` runs the S x S scene with ``--workers 1`` and ``--workers 2``. Sizes run
in increasing order; once a run takes longer than ``--stop-after`` seconds
the larger sizes of that method are not started. Every map's change types
are scored against the scene's ground truth after the run (in this process,
not the run's). ``--sample-sizes`` runs
DRLnet2 on the 2048² scene with each sample size and scores the map's
change types against the scene's ground truth.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._common import REPOSITORY, THREAD_VARIABLES, header_markdown, write_section

FULL = 10980
BLOCK = 1098
#: the scene holds the synthetic scene's 4 change types, so the maps end at K_T = 4
SCHEDULE = "25,15,8,4"


def _profile(size, count, dtype):
    from affine import Affine
    from rasterio.crs import CRS
    return {"driver": "GTiff", "height": size, "width": size, "count": count, "dtype": dtype,
            "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate",
            "BIGTIFF": "IF_SAFER", "crs": CRS.from_epsg(32650),
            "transform": Affine(10.0, 0.0, 600000.0, 0.0, -10.0, 3400000.0)}


def build_full(cache):
    """The 10980 x 10980 pair and ground truth in ``cache`` (built once)."""
    import rasterio
    from rasterio.windows import Window

    from drl_np.datasets import synthetic_pair

    paths = {k: cache / f"scene_{FULL}_{k}.tif" for k in ("t1", "t2", "gt")}
    if all(p.exists() for p in paths.values()):
        return paths
    cache.mkdir(parents=True, exist_ok=True)
    tmp = {k: p.with_name(p.name + ".part") for k, p in paths.items()}
    dss = {k: rasterio.open(tmp[k], "w", **_profile(FULL, 1 if k == "gt" else 4,
                                                    "uint8" if k == "gt" else "uint16"))
           for k in tmp}
    tic = time.perf_counter()
    try:
        for s in range(100):
            r, c = divmod(s, 10)
            t1, t2, gt = synthetic_pair(shape=(BLOCK, BLOCK), seed=s)
            win = Window(c * BLOCK, r * BLOCK, BLOCK, BLOCK)
            for k, a in (("t1", t1), ("t2", t2)):
                dss[k].write(np.moveaxis(np.round(a * 10000).astype(np.uint16), -1, 0), window=win)
            dss["gt"].write(gt.astype(np.uint8)[None], window=win)
            print(f"built block {s + 1}/100 ({time.perf_counter() - tic:.0f} s)", flush=True)
    finally:
        for ds in dss.values():
            ds.close()
    for k in tmp:
        os.replace(tmp[k], paths[k])
    return paths


def crop(cache, full, size):
    """The upper-left ``size`` x ``size`` window of the full scene, as files."""
    import rasterio
    from rasterio.windows import Window

    if size == FULL:
        return full
    paths = {k: cache / f"scene_{size}_{k}.tif" for k in full}
    for k, p in paths.items():
        if p.exists():
            continue
        with rasterio.open(full[k]) as src:
            prof = _profile(size, src.count, src.dtypes[0])
            with rasterio.open(p.with_name(p.name + ".part"), "w", **prof) as dst:
                for r in range(0, size, 2048):
                    win = Window(0, r, size, min(2048, size - r))
                    dst.write(src.read(window=win), window=win)
        os.replace(p.with_name(p.name + ".part"), p)
    return paths


def kappa_of(out, gt_path, rows=1024):
    """Change-type kappa of a run's cda_map.tif against the scene's ground
    truth, from (truth, map) pair counts read in strips: this process stays
    small, and the runs it starts inherit nothing from it."""
    import rasterio
    from rasterio.windows import Window

    from drl_np.metrics import PairCounts, change_analysis_accuracy
    pairs = PairCounts()
    with rasterio.open(Path(out) / "cda_map.tif") as a, rasterio.open(gt_path) as b:
        for r in range(0, a.height, rows):
            win = Window(0, r, a.width, min(rows, a.height - r))
            cda = a.read(1, window=win).astype(np.int64)
            pairs.add(b.read(1, window=win), np.where(cda == 255, -1, cda))
    t, p, n = pairs.arrays()
    return change_analysis_accuracy(t, p, counts=n).kappa


def run(paths, method, out, workers=None, tile=512, threads=1, extra=()):
    """One ``drl-np run`` in a fresh process; its report's figures."""
    env = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    cmd = [sys.executable, "-m", "drl_np", "run", str(paths["t1"]), str(paths["t2"]), "--out", str(out),
           "--method", method, "--tile", str(tile), "--schedule", SCHEDULE, "-q"]
    if workers:
        cmd += ["--workers", str(workers)]
    cmd += list(extra)
    tic = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPOSITORY, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - tic
    if proc.returncode != 0:
        return {"ok": False, "error": (proc.stderr.strip().splitlines() or ["?"])[-1], "seconds": wall}
    rep = json.loads((Path(out) / "report.json").read_text())
    t = rep["timings"]
    return {"ok": True, "seconds": wall, "fit": t.get("fit_total"), "map": t.get("map"),
            "statistics": t.get("statistics"), "tiles": rep["scene"]["tiles"],
            "regions": rep.get("regions"), "peak": rep["peak_memory_mib"],
            "sample_regions": rep["scene"]["fit"].get("sample_regions"),
            "changed": rep["totals"]["changed_pixels"] / max(rep["totals"]["valid_pixels"], 1)}


def _peak_text(peak):
    main = peak.get("main")
    workers = [v for k, v in peak.items() if k != "main"]
    text = f"{main / 1024:.2f}"
    if workers:
        text += " + workers " + ", ".join(f"{w / 1024:.2f}" for w in workers)
    return text


def render_samples(rows):
    lines = ["| scene | method | sample size | seconds (fit / map) | peak RSS GiB | kappa vs ground truth |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        if not r["ok"]:
            lines.append(f"| {r['size']}² | {r['method']} | {r['sample']} | failed: {r['error']} | | |")
            continue
        lines.append(f"| {r['size']}² | {r['method']} | {r['sample']} | {r['seconds']:.0f} "
                     f"({r['fit']:.0f} / {r['map']:.0f}) | {_peak_text(r['peak'])} | {r['kappa']:.4f} |")
    return lines


def render(rows, speed, notes):
    lines = ["| scene | method | tiles | seconds (fit / map) | peak RSS GiB, every process | regions mapped "
             "| change-type kappa |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if not r["ok"]:
            lines.append(f"| {r['size']}² | {r['method']} | – | failed: {r['error']} | | | |")
            continue
        lines.append(f"| {r['size']}² | {r['method']} | {r['tiles']} | {r['seconds']:.0f} "
                     f"({r['fit']:.0f} / {r['map']:.0f}) | {_peak_text(r['peak'])} | "
                     f"{r['regions'] if r['regions'] is not None else '–'} | {r['kappa']:.4f} |")
    if speed:
        lines += ["", "| scene | method | workers | seconds (fit / map) | peak RSS GiB | speed-up of the map "
                  "| change-type kappa |",
                  "|---|---|---|---|---|---|---|"]
        base = speed[0]["map"] if speed and speed[0]["ok"] else None
        for r in speed:
            if not r["ok"]:
                lines.append(f"| {r['size']}² | {r['method']} | {r['workers']} | failed: {r['error']} | | | |")
                continue
            lines.append(f"| {r['size']}² | {r['method']} | {r['workers']} | {r['seconds']:.0f} "
                         f"({r['fit']:.0f} / {r['map']:.0f}) | {_peak_text(r['peak'])} | "
                         f"{base / r['map']:.2f}× | {r['kappa']:.4f} |")
    return "\n".join([header_markdown("Whole scenes, tile by tile", notes=notes), ""] + lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2048,4096,8192,10980")
    parser.add_argument("--methods", default="drlnet2,cva,irmad")
    parser.add_argument("--speedup", type=int, default=None, metavar="S")
    parser.add_argument("--speedup-method", default="drlnet2")
    parser.add_argument("--cache", default=str(REPOSITORY.parent / "cache" / "scene"))
    parser.add_argument("--stop-after", type=float, default=2400)
    parser.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    parser.add_argument("--sample-sizes", help="instead: DRLnet2 on the 2048² scene with these "
                                               "sample sizes (e.g. 5000,10000,20000,40000), scored")
    args = parser.parse_args(argv)
    cache = Path(args.cache)
    full = build_full(cache)
    if args.sample_sizes:
        paths, rows = crop(cache, full, 2048), []
        for n in [int(v) for v in args.sample_sizes.split(",")]:
            out = cache / "out" / f"sample_{n}"
            r = run(paths, "drlnet2", out, extra=("--sample-size", str(n)))
            r.update(size=2048, method="drlnet2", sample=n)
            if r["ok"]:
                r["kappa"] = kappa_of(out, paths["gt"])
            rows.append(r)
            text = "\n".join([header_markdown("DRLnet2 on a scene against the sample size"), ""]
                             + render_samples(rows)) + "\n"
            print(text, flush=True)
        if args.write:
            write_section(REPOSITORY / "benchmarks" / "RESULTS.md", "scene-sample", text)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows, speed = [], []
    notes = ["Each run: `drl-np run T1 T2 --out DIR --method M --tile 512 --schedule 25,15,8,4 -q` in a "
             "fresh process (the scene's 4 change types), "
             "one thread (OMP/OpenBLAS/MKL/Numba threads = 1), default sample (20000 regions) and "
             "halo (32); scenes tiled from 100 synthetic 1098² scenes, uint16, 4 bands, deflate GeoTIFF."]

    def flush():
        text = render(rows, speed, notes)
        print(text, flush=True)
        if args.write:
            write_section(REPOSITORY / "benchmarks" / "RESULTS.md", "scene", text)

    for method in args.methods.split(","):
        for size in sizes:
            paths = crop(cache, full, size)
            out = cache / "out" / f"{method}_{size}"
            r = run(paths, method, out)
            r.update(size=size, method=method)
            if r["ok"]:
                r["kappa"] = kappa_of(out, paths["gt"])
            rows.append(r)
            flush()
            if not r["ok"] or r["seconds"] > args.stop_after:
                how = "failed" if not r["ok"] else "took {:.0f} s".format(r["seconds"])
                notes.append(f"{method}: sizes above {size}² not run (the {size}² run {how}).")
                break
    if args.speedup:
        paths = crop(cache, full, args.speedup)
        for workers in (1, 2):
            out = cache / "out" / f"speed_{workers}"
            r = run(paths, args.speedup_method, out, workers=workers)
            r.update(size=args.speedup, method=args.speedup_method, workers=workers)
            if r["ok"]:
                r["kappa"] = kappa_of(out, paths["gt"])
            speed.append(r)
        flush()
    flush()


if __name__ == "__main__":
    main()
