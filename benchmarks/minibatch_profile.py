"""Microseconds per piece of one minibatch of the Numba toolbox engine.

The reference net of ``benchmarks/toolbox_speed.py`` ([36 100 50 25], sigm,
sparsity, momentum, batch 10). Each piece of the epoch kernel
(``drl_np/toolbox/_numba.py``) is timed alone at its shape, inside Numba,
on the kernel's own functions: the eight matrix products (the register-tiled
loops of ``toolbox/_products.py``), the sigmoids, the deltas, the running
means with the sparsity term, the output and loss, the momentum update and
the transposed weight copies. The sum is set beside the measured minibatch
(median epoch / 1000), the difference being what the pieces do not show
(gathering the batch, calls, cache misses between pieces). A table of FLOP
rates says how close the products are to the core. Run with
``python -m benchmarks.minibatch_profile``.
"""
import argparse
import statistics
import time

import numba
import numpy as np

from benchmarks.algorithm1_speed import _forward_loops, _gradient_loops
from benchmarks.toolbox_speed import BATCHSIZE, M, SIZES, make_problem
from drl_np.toolbox import _numba as kernel
from drl_np.toolbox import nntrain
from drl_np.toolbox._products import gemm_nn, transpose


@numba.njit
def _repeat_delta(d, w, t, reps):
    for _ in range(reps):
        gemm_nn(d, w, 1, t)


@numba.njit
def _repeat_sigmoid(z, a, reps):
    for _ in range(reps):
        kernel._hidden_activation(z, 0, a)


@numba.njit
def _repeat_hidden_delta(t, a, sparsity, d, reps):
    for _ in range(reps):
        kernel._hidden_delta(t, a, sparsity, True, 0, d)


@numba.njit
def _repeat_running_mean(a, p, sparsity, reps):
    for _ in range(reps):
        kernel._update_running_mean(a, p, 1.0, 0.05, sparsity)


@numba.njit
def _repeat_output(z, y, kk, d, reps):
    for _ in range(reps):
        z[:] = 0.1                                          # the pre-activations, as the products leave them
        kernel._output_and_loss(z, y, kk, 0, 0, d)


@numba.njit
def _repeat_update(g, w, v, l2, reps):
    for _ in range(reps):
        kernel.apply_gradient(g, BATCHSIZE, w, v, 0.005, 0.5, l2, False)


@numba.njit
def _repeat_transpose(w, wt, reps):
    for _ in range(reps):
        transpose(w, wt)


def _microseconds(fn, reps, repeats=5):
    fn(1)                                                   # compile
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        fn(reps)
        times.append((time.perf_counter() - tic) / reps * 1e6)
    return statistics.median(times)


def pieces(reps):
    """[(piece, shape text, µs per minibatch, FLOP per minibatch or 0)]."""
    rng = np.random.default_rng(0)
    bs, rows = BATCHSIZE, []
    layers = list(zip(SIZES[:-1], SIZES[1:]))              # (n_in, n_out) per layer
    for n_in, n_out in layers:
        a, wt = rng.random((bs, n_in + 1)), rng.random((n_in + 1, n_out))
        rows.append(("forward a W'", f"({bs}x{n_in + 1}) @ ({n_in + 1}x{n_out})",
                     _microseconds(lambda n: _forward_loops(a, wt, np.empty((bs, n_out)), n), reps),
                     2 * bs * (n_in + 1) * n_out))
    for n_in, n_out in layers[1:]:
        d, w = rng.random((bs, n_out)), rng.random((n_out, n_in + 1))
        rows.append(("delta d W", f"({bs}x{n_out}) @ ({n_out}x{n_in})",
                     _microseconds(lambda n: _repeat_delta(d, w, np.empty((bs, n_in)), n), reps),
                     2 * bs * n_out * n_in))
    for n_in, n_out in layers:
        d, a = rng.random((bs, n_out)), rng.random((bs, n_in + 1))
        rows.append(("gradient d' a", f"({n_out}x{bs}) @ ({bs}x{n_in + 1})",
                     _microseconds(lambda n: _gradient_loops(d, a, np.empty((n_out, n_in + 1)), n), reps),
                     2 * bs * n_out * (n_in + 1)))
    for width in SIZES[1:-1]:
        z, a = rng.normal(size=(bs, width)), np.ones((bs, width + 1))
        rows.append(("sigmoid", f"{bs}x{width}", _microseconds(lambda n: _repeat_sigmoid(z, a, n), reps), 0))
        t, sparsity = rng.random((bs, width)), rng.random(width)
        rows.append(("hidden delta", f"{bs}x{width}",
                     _microseconds(lambda n: _repeat_hidden_delta(t, a, sparsity, np.empty((bs, width)), n), reps), 0))
        p = rng.uniform(0.01, 0.1, width)
        rows.append(("running mean + sparsity term", f"{width}",
                     _microseconds(lambda n: _repeat_running_mean(a, p, sparsity, n), reps), 0))
    z, y, kk = np.empty((bs, SIZES[-1])), rng.random((bs, SIZES[-1])), np.arange(bs)
    rows.append(("output sigmoid, loss, delta", f"{bs}x{SIZES[-1]}",
                 _microseconds(lambda n: _repeat_output(z, y, kk, np.empty((bs, SIZES[-1])), n), reps), 0))
    n_weights = sum(n_out * (n_in + 1) for n_in, n_out in layers)
    g, w, v = rng.random(n_weights), rng.random(n_weights), rng.random(n_weights)
    rows.append(("momentum update (g / m)", f"{n_weights} weights",
                 _microseconds(lambda n: _repeat_update(g, w, v, np.zeros(n_weights), n), reps // 4), 0))
    for n_in, n_out in layers:
        w = rng.random((n_out, n_in + 1))
        rows.append(("transposed copy W'", f"{n_out}x{n_in + 1}",
                     _microseconds(lambda n: _repeat_transpose(w, np.empty((n_in + 1, n_out)), n), reps), 0))
    return rows


def minibatch_microseconds(repeats):
    """Median µs per minibatch of whole Numba epochs of the reference problem."""
    nn, x, y = make_problem()
    nntrain(nn, x, y, batchsize=BATCHSIZE, numepochs=1, engine="numba")          # warm-up
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        nntrain(nn, x, y, batchsize=BATCHSIZE, numepochs=1, engine="numba")
        times.append(time.perf_counter() - tic)
    return statistics.median(times) / (M // BATCHSIZE) * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20000, help="calls per timing")
    parser.add_argument("--repeats", type=int, default=5, help="timings per piece and epochs (median)")
    args = parser.parse_args(argv)
    rows = pieces(args.reps)
    whole = minibatch_microseconds(args.repeats)
    print(f"One minibatch of the Numba engine, net {SIZES}, batch {BATCHSIZE}; "
          f"µs, median of {args.repeats}\n")
    print("| piece | shape | µs | GFLOP/s |")
    print("|---|---|---:|---:|")
    for name, shape, us, flop in rows:
        print(f"| {name} | {shape} | {us:.2f} | {flop / us / 1e3:.1f} |" if flop else f"| {name} | {shape} | {us:.2f} | |")
    total = sum(us for _, _, us, _ in rows)
    products = sum(us for _, _, us, flop in rows if flop)
    flops = sum(flop for _, _, _, flop in rows)
    print(f"| **all pieces** | | **{total:.1f}** | |")
    print(f"| of which the products | {flops / 1e6:.3f} MFLOP | {products:.1f} | {flops / products / 1e3:.1f} |")
    print(f"| **measured minibatch** (epoch / {M // BATCHSIZE}) | | **{whole:.1f}** | |")
    print(f"| not in the pieces | | {whole - total:.1f} | |")


if __name__ == "__main__":
    main()
