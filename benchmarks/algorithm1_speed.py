"""Seconds per Algorithm 1 epoch: the NumPy twin against the Numba kernel.

Default DRLnet sizes (d = 36, branch (100, 50), head (50, 20), 25 classes),
n = 5000 sample pairs, batch 10, alpha 0.1, sparsity 0.1, half the samples
changed into 5 types. Each engine runs one warm-up epoch (Numba compiles or
loads its cache there), then the median of 5 timed epochs is reported as a
markdown table. A second table times the kernel's two kinds of small
matrix product at each default layer shape, its register-tiled loops
(``toolbox._products``) against ``np.dot`` (BLAS) inside Numba: the
measurement behind the kernel's use of the loops. Run with ``python -m benchmarks.algorithm1_speed``.
"""
import argparse
import statistics
import time

import numba
import numpy as np

from drl_np.algorithm1 import ClusterState
from drl_np.algorithm1 import algorithm1_epoch as _numpy_epoch
from drl_np.drlnet import drnet_setup
from drl_np.kernels import algorithm1_epoch_numba
from drl_np.rng import OctaveRandom
from drl_np.toolbox._products import gemm_nn, gemm_tn


def algorithm1_epoch(net, x1, x2, target, lam, assign, centres, counts, kk, batchsize, alpha,
                     update_branch=True):
    """The NumPy twin with the kernel's arguments (the state's arrays are shared)."""
    state = ClusterState(lam, assign, centres, counts)
    return _numpy_epoch(net, x1, x2, target, kk, batchsize, state, alpha, update_branch)


def make_problem(n=5000, d=36, branch=(100, 50), head=(50, 20), n_classes=25, n_types=5, seed=0):
    """A network and one Algorithm 1 timestep's state on random samples."""
    rng = OctaveRandom(seed)
    net = drnet_setup(d, branch, head, n_classes, rng=rng)
    net.non_sparsity_penalty = 0.1
    for q in net.p:
        q[:] = 0.05
    x1, x2 = rng.rand(n, d), rng.rand(n, d)
    labels = np.minimum((rng.uniform(n) * n_classes).astype(np.int64), n_classes - 1)
    target = np.eye(n_classes)[labels]                                  # (n, n_classes)
    lam = (rng.uniform(n) > 0.5).astype(np.float64)
    types = 1 + np.minimum((rng.uniform(n) * n_types).astype(np.int64), n_types - 1)
    assign = np.where(lam > 0, types, 0)
    centres = rng.rand(n_types + 1, head[-1])                           # (1 + K, r)
    counts = np.bincount(assign, minlength=n_types + 1).astype(np.float64)
    return rng, net, x1, x2, target, lam, assign, centres, counts


def time_engines(engines, repeats=5, **sizes):
    """Median seconds per epoch of each engine: one warm-up epoch each (Numba
    compiles or loads its cache there), then ``repeats`` rounds in which the
    engines run one epoch each, interleaved (same load on both), every engine
    on its own copy of the problem and the same permutations."""
    rng, net, x1, x2, target, lam, assign, centres, counts = make_problem(**sizes)
    twins = {name: (net.copy(), assign.copy(), centres.copy(), counts.copy()) for name in engines}
    times = {name: [] for name in engines}
    for run in range(repeats + 1):
        kk = rng.randperm(x1.shape[0])
        for name, epoch_function in engines.items():
            tnet, tassign, tcentres, tcounts = twins[name]
            tic = time.perf_counter()
            epoch_function(tnet, x1, x2, target, lam, tassign, tcentres, tcounts, kk, 10, 0.1, True)
            if run > 0:
                times[name].append(time.perf_counter() - tic)
    return {name: statistics.median(t) for name, t in times.items()}


@numba.njit
def _forward_loops(a, wt, z, reps):
    """z = a @ W' with the kernel's tiled loops on W' (bias column included), ``reps`` times."""
    for _ in range(reps):
        gemm_nn(a, wt, 0, z)


@numba.njit
def _forward_dot(a, w, z, reps):
    for _ in range(reps):
        np.dot(a, w.T, z)


@numba.njit
def _gradient_loops(delta, a, g, reps):
    """g = delta' @ a with the kernel's tiled loops, ``reps`` times."""
    for _ in range(reps):
        gemm_tn(delta, a, 0, g)


@numba.njit
def _gradient_dot(delta, a, g, reps):
    for _ in range(reps):
        np.dot(delta.T, a, g)


def product_table(batchsize=10, reps=2000):
    """Microseconds per product, loops against np.dot, per default layer."""
    rng = OctaveRandom(1)
    lines = ["| layer (n_in -> n_out) | forward loops | forward np.dot | gradient loops | gradient np.dot |",
             "|---|---:|---:|---:|---:|"]
    layers = (("branch 1", 36, 100), ("branch 2", 100, 50), ("merge", 100, 50), ("DR", 50, 20),
              ("classifier", 20, 25))
    for name, n_in, n_out in layers:
        a, w = rng.rand(batchsize, n_in + 1), rng.rand(n_out, n_in + 1)
        delta = rng.rand(batchsize, n_out)
        z, g = np.empty((batchsize, n_out)), np.empty((n_out, n_in + 1))
        cells = []
        for fn, args in ((_forward_loops, (a, np.ascontiguousarray(w.T), z)), (_forward_dot, (a, w, z)),
                         (_gradient_loops, (delta, a, g)), (_gradient_dot, (delta, a, g))):
            fn(*args, 1)                                    # compile
            tic = time.perf_counter()
            fn(*args, reps)
            cells.append(f"{(time.perf_counter() - tic) / reps * 1e6:.2f}")
        lines.append(f"| {name}: {n_in} -> {n_out} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    medians = time_engines({"numpy": algorithm1_epoch, "numba": algorithm1_epoch_numba}, args.repeats, n=args.n)
    t_numpy, t_numba = medians["numpy"], medians["numba"]
    print(f"Algorithm 1, one epoch: n = {args.n}, d = 36, branch (100, 50), head (50, 20), "
          f"25 classes, batch 10; median of {args.repeats} epochs, engines interleaved\n")
    print("| engine | s / epoch | speed-up |")
    print("|---|---:|---:|")
    print(f"| numpy (`algorithm1.algorithm1_epoch`) | {t_numpy:.3f} | 1.0x |")
    print(f"| numba (`kernels.algorithm1_epoch_numba`) | {t_numba:.3f} | {t_numpy / t_numba:.1f}x |")
    print("\nSmall products inside Numba, batch 10, microseconds per call:\n")
    print(product_table())


if __name__ == "__main__":
    main()
