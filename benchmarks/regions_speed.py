"""Speed and memory of drl_np.regions on a 1000 x 1000 x 4 pair.

Run from the repository root::

    python -m benchmarks.regions_speed [--size 1000] [--repeats 3]

Times each stage of superpixels-to-samples (median of the repeats) and the
whole of ``build_regions``; memory is the tracemalloc peak of one extra,
untimed ``build_regions`` run (NumPy and scikit-image allocate through the
traced allocator), beside the process's ru_maxrss. Prints markdown tables.
"""
import argparse
import resource
import time
import tracemalloc

import numpy as np
from scipy import ndimage as ndi

from drl_np._regions_geometry import _centres, _mean_windows, _overlay, _windows
from drl_np._validation import valid_pixels
from drl_np.regions import (PIXELS_PER_SEGMENT, COMPACTNESS, _scale_pair,
                            _segment_pair, build_regions)


def make_pair(size=1000, bands=4, seed=0):
    """Deterministic parcels (random rectangles of 20-80 px) with their own
    spectra and smooth texture; date 2 has gain/offset, noise and a quarter
    of the parcels with new spectra. Returns t1, t2 float64 (size, size, B)."""
    rng = np.random.default_rng(seed)
    edges = [np.cumsum(rng.integers(20, 80, size)) for _ in range(2)]
    rows = np.searchsorted(edges[0], np.arange(size), side="right")
    cols = np.searchsorted(edges[1], np.arange(size), side="right")
    parcel = rows[:, None] * (cols.max() + 1) + cols[None, :]      # (M, N)
    n_parcels = parcel.max() + 1
    texture = ndi.gaussian_filter(rng.standard_normal((size, size, bands)),
                                  (3, 3, 0))                        # (M, N, B)
    t1 = rng.random((n_parcels, bands))[parcel] + 0.5 * texture
    new = rng.random((n_parcels, bands))
    changed = rng.random(n_parcels) < 0.25
    spectra2 = np.where(changed[:, None], new, 0.0)
    t2 = 0.9 * t1 + 0.05 + spectra2[parcel] * changed[parcel][:, :, None]
    t2 += 0.02 * rng.standard_normal(t2.shape)
    return t1, t2


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def run(size=1000, repeats=3):
    t1, t2 = make_pair(size)
    mask = np.ones((size, size), bool)
    mask[size // 10:size // 10 + size // 20, size // 5:size // 2] = False
    n_seg = int(round(size * size / PIXELS_PER_SEGMENT))
    rows = []

    def stage(name, fn):
        sec, out = _median_time(fn, repeats)
        rows.append((name, sec))
        return out

    valid = stage("validity mask", lambda: valid_pixels(t1, t2))
    t1s, t2s = stage("scale", lambda: _scale_pair(t1, t2, valid))
    l1, l2 = stage("SLIC, both dates",
                   lambda: _segment_pair(t1s, t2s, valid, n_seg, COMPACTNESS))
    labels = stage("overlay + connected components", lambda: _overlay(l1, l2))
    n = int(labels.max()) + 1
    sizes, centres = stage("centres", lambda: _centres(labels, n))
    stage("windows (both dates)",
          lambda: (_windows(t1s, centres, 3), _windows(t2s, centres, 3)))
    for engine in ("numpy", "numba"):                  # region_sample='mean', one thread
        stage(f"mean windows of the members (both dates, {engine})",
              lambda engine=engine: [_mean_windows(t, labels, n, 3, engine) for t in (t1s, t2s)])
    total, reg = _median_time(lambda: build_regions(t1, t2), repeats)
    rows.append(("**build_regions, all valid**", total))
    masked, reg_m = _median_time(lambda: build_regions(t1, t2, mask=mask),
                                 repeats)
    rows.append((f"build_regions, {100 * (~mask).mean():.1f} % masked", masked))

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    build_regions(t1, t2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print(f"regions on a {size} x {size} x 4 pair, {n_seg} SLIC segments per "
          f"date, compactness {COMPACTNESS}, window 3; median of {repeats}\n")
    print("| stage | seconds |\n|---|---|")
    for name, sec in rows:
        print(f"| {name} | {sec:.3f} |")
    print("\n| quantity | value |\n|---|---|")
    print(f"| regions (all valid) | {reg.n_regions} |")
    print(f"| regions (masked) | {reg_m.n_regions} |")
    print(f"| region size median / mean / max (px) | {np.median(reg.sizes):.0f} "
          f"/ {reg.sizes.mean():.1f} / {reg.sizes.max()} |")
    print(f"| one-pixel regions | {100 * (reg.sizes == 1).mean():.1f} % |")
    print(f"| input pair (t1 + t2, float64) | {(t1.nbytes + t2.nbytes) / 2**20:.0f} MiB |")
    print(f"| tracemalloc peak of one build_regions | {peak / 2**20:.0f} MiB |")
    print(f"| process ru_maxrss (whole run) | {rss1 / 2**10:.0f} MiB "
          f"(grew {(rss1 - rss0) / 2**10:.0f} MiB in the traced run) |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    run(args.size, args.repeats)


if __name__ == "__main__":
    main()
