"""Seconds of IRMAD's pixel passes: the NumPy twins against the compiled passes.

The pixels are those of the 1024 x 1024 x 4 synthetic scene (seed 0), the
input of the invariant-pixel step of every default DRLnet run at that size:
IRMAD with 30 iterations, as ``normalise.invariant_pixels`` runs it. Each
configuration (engine x threads, the thread count set with
``numba.set_num_threads``, which :func:`drl_np._threads.map_two` follows)
runs once to warm up (Numba loads its cache), then the engines alternate and
the median of ``--repeats`` is reported. A second table times one
iteration's passes alone; a third, on one thread, the two passes whose
compiled form depends on the band count (1-4 bands in one vector register,
5-8 in two, more in loops), on 1 M random pixels of 3, 6, 8 and 13 bands.
Run with ``python -m benchmarks.irmad_speed``.
"""
import argparse
import statistics
import time

import numba
import numpy as np

from drl_np.datasets import synthetic_pair
from drl_np.normalise import _MAX_ITER
from drl_np.peers.mad import _PASSES, irmad

ENGINES = ("numpy", "numba")


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_irmad(x1, x2, threads, repeats):
    """{engine: median seconds of a whole IRMAD} at ``threads`` threads."""
    numba.set_num_threads(threads)
    runs = {engine: (lambda engine=engine: irmad(x1, x2, max_iter=_MAX_ITER, engine=engine))
            for engine in ENGINES}
    for run in runs.values():
        run()                                              # warm-up
    times = {engine: [] for engine in ENGINES}
    for _ in range(repeats):
        for engine, run in runs.items():
            times[engine].append(_seconds(run))
    return {engine: statistics.median(t) for engine, t in times.items()}


def time_passes(x1, x2, threads, repeats):
    """{pass: {engine: median seconds}} of one iteration's passes."""
    numba.set_num_threads(threads)
    fit = irmad(x1, x2, max_iter=3)
    w = fit["weights"]
    zero = np.zeros(x1.shape[1], bool)
    out = {}
    for engine in ENGINES:
        p = _PASSES[engine]
        m1, m2, sw = p.weighted_means(x1, x2, w)
        steps = {
            "weighted means": lambda: p.weighted_means(x1, x2, w),
            "covariances": lambda: p.weighted_moments(x1, x2, w, m1, m2, sw),
            "Z (variates not kept)": lambda: p.mad_scores(x1, x2, m1, m2, fit["a"], fit["b"], zero,
                                                            fit["sigma2"], with_mad=False),
            "chi-square tail (next weights)": lambda: p.no_change_probability(fit["chi2"], x1.shape[1]),
        }
        for name, step in steps.items():
            step()
            out.setdefault(name, {})[engine] = statistics.median(_seconds(step) for _ in range(repeats))
    return out


def time_band_counts(counts, repeats, n_pixels=1 << 20):
    """{bands: {pass: {engine: median seconds}}} of the covariances and Z on
    random pixels, one thread."""
    numba.set_num_threads(1)
    rng = np.random.default_rng(0)
    out = {}
    for bands in counts:
        x1 = rng.random((n_pixels, bands))
        x2 = x1 + 0.1 * rng.random((n_pixels, bands))
        w = rng.random(n_pixels)
        a, b = rng.random((2, bands, bands))
        zero, sigma2 = np.zeros(bands, bool), rng.uniform(0.5, 1.5, bands)
        for engine in ENGINES:
            p = _PASSES[engine]
            m1, m2, sw = p.weighted_means(x1, x2, w)
            steps = {"covariances": lambda: p.weighted_moments(x1, x2, w, m1, m2, sw),
                     "Z": lambda: p.mad_scores(x1, x2, m1, m2, a, b, zero, sigma2, with_mad=False)}
            for name, step in steps.items():
                step()
                out.setdefault(bands, {}).setdefault(name, {})[engine] = statistics.median(
                    _seconds(step) for _ in range(repeats))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2", help="thread counts to time, comma-separated")
    args = parser.parse_args(argv)
    t1, t2, _ = synthetic_pair(shape=(args.size, args.size), seed=0)
    x1 = np.ascontiguousarray(t1.reshape(-1, t1.shape[2]), np.float64)
    x2 = np.ascontiguousarray(t2.reshape(-1, t2.shape[2]), np.float64)
    counts = [int(t) for t in args.threads.split(",")]
    counts = [t for t in counts if t <= numba.config.NUMBA_NUM_THREADS]
    print(f"IRMAD, {_MAX_ITER} iterations, on the {x1.shape[0]:,} pixels x {x1.shape[1]} bands of "
          f"synthetic_pair({args.size}², seed 0); median of {args.repeats}, engines alternating\n")
    print("| threads | numpy (s) | numba (s) | speed-up |")
    print("|---:|---:|---:|---:|")
    for threads in counts:
        t = time_irmad(x1, x2, threads, args.repeats)
        print(f"| {threads} | {t['numpy']:.2f} | {t['numba']:.2f} | {t['numpy'] / t['numba']:.1f}x |", flush=True)
    print(f"\nOne iteration's passes, milliseconds (median of {max(args.repeats, 5)}):\n")
    print("| pass | " + " | ".join(f"{e}, {t} thr." for t in counts for e in ENGINES) + " |")
    print("|---|" + "---:|" * (2 * len(counts)))
    rows = {}
    for threads in counts:
        for name, by_engine in time_passes(x1, x2, threads, max(args.repeats, 5)).items():
            rows.setdefault(name, []).extend(by_engine[e] for e in ENGINES)
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{1e3 * v:.1f}" for v in values) + " |")
    print("\nCovariances and Z by band count, 1 M random pixels, one thread, milliseconds:\n")
    print("| bands | covariances, numpy | covariances, numba | Z, numpy | Z, numba |")
    print("|---:|---:|---:|---:|---:|")
    for bands, by_pass in time_band_counts((3, 6, 8, 13), max(args.repeats, 5)).items():
        cells = [by_pass[name][e] for name in ("covariances", "Z") for e in ENGINES]
        print(f"| {bands} | " + " | ".join(f"{1e3 * v:.1f}" for v in cells) + " |")


if __name__ == "__main__":
    main()
