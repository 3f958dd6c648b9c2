"""Seconds per nntrain epoch: the NumPy engine, the Numba engine and, with
``--octave DIR``, the original DeepLearnToolbox under GNU Octave.

    python -m benchmarks.toolbox_speed [--repeats 5] [--octave DIR] [--no-compile]

The problem is the paper's pre-training setting: a [36 100 50 25] net, sigm
hidden and output units, sparsity target 0.05 with penalty 1 (as
``reference/dlt/case2_paper_hparams``), learning rate 0.005, momentum 0.5,
m = 10000 samples, batch 10, data from ``OctaveRandom(0)``. Each run is one
epoch (``nntrain(..., numepochs=1)``) from the same initial net; the engines
run interleaved after one warm-up epoch each (which pays Numba's compilation
or cache load), and the table gives the median wall-clock and CPU seconds.
Unless ``--no-compile``, two fresh processes sharing an empty Numba cache
directory time the first numba epoch: compile-and-run, then cache-load-and-run.
Prints markdown tables.
"""
import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from drl_np.rng import OctaveRandom
from drl_np.toolbox import nnsetup, nntrain

SIZES = [36, 100, 50, 25]
M, BATCHSIZE = 10000, 10
SETTINGS = dict(activation_function="sigm", output="sigm", learning_rate=0.005, momentum=0.5,
                non_sparsity_penalty=1.0, sparsity_target=0.05)


def make_problem(seed=0):
    """Data, one-hot targets and the initial net, drawn from OctaveRandom(seed)."""
    r = OctaveRandom(seed)
    x = r.rand(M, SIZES[0])
    y = (np.ceil(r.rand(M, 1) * SIZES[-1]) == np.arange(1, SIZES[-1] + 1)).astype(np.float64)
    nn = nnsetup(SIZES, rng=r)
    for name, value in SETTINGS.items():
        setattr(nn, name, value)
    return nn, x, y


def time_epoch(nn, x, y, engine):
    """(wall, cpu) seconds of one nntrain epoch on a copy of ``nn``."""
    twin = copy.deepcopy(nn)
    wall, cpu = time.perf_counter(), time.process_time()
    nntrain(twin, x, y, batchsize=BATCHSIZE, numepochs=1, engine=engine)
    return time.perf_counter() - wall, time.process_time() - cpu


def time_engines(repeats):
    nn, x, y = make_problem()
    engines = ("numpy", "numba")
    for engine in engines:
        time_epoch(nn, x, y, engine)                      # warm-up (compilation)
    runs = {engine: [] for engine in engines}
    for _ in range(repeats):
        for engine in engines:                            # interleaved: same load for both
            runs[engine].append(time_epoch(nn, x, y, engine))
    return {engine: np.median(np.array(r), axis=0) for engine, r in runs.items()}


_FIRST_CALL = """
import time
from benchmarks.toolbox_speed import make_problem
from drl_np.toolbox import nntrain
nn, x, y = make_problem()
tic = time.perf_counter()
nntrain(nn, x, y, batchsize=10, numepochs=1, engine="numba")
print(time.perf_counter() - tic)
"""


def time_first_calls():
    """First-epoch seconds of numba in a fresh process with an empty cache,
    then in a second process that finds the cache."""
    cache = tempfile.mkdtemp(prefix="drl_np_numba_cache_")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        out = [float(subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, cwd=root, check=True,
                                    capture_output=True, text=True).stdout.split()[-1])
               for _ in range(2)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return out


_OCTAVE_DRIVER = """
addpath(genpath('{toolbox}'));
rand('state', 0);
x = rand({m}, {n0});
y = double(bsxfun(@eq, ceil(rand({m}, 1) * {k}), 1:{k}));
nn = nnsetup([{sizes}]);
nn.activation_function = 'sigm'; nn.output = 'sigm';
nn.learningRate = 0.005; nn.momentum = 0.5;
nn.nonSparsityPenalty = 1; nn.sparsityTarget = 0.05;
opts.batchsize = {batchsize}; opts.numepochs = 1;
evalc('nntrain(nn, x, y, opts);');
for i = 1:{repeats}
  tic; evalc('nntrain(nn, x, y, opts);'); t = toc;
  printf('SECONDS %.6f\\n', t);
end
"""


def time_octave(toolbox, repeats):
    """Median seconds of one epoch of the original nntrain under Octave, or
    None with the reason."""
    if shutil.which("octave") is None:
        return None, "octave is not on PATH"
    if not os.path.isfile(os.path.join(toolbox, "NN", "nntrain.m")):
        return None, f"{toolbox} has no NN/nntrain.m; pass a DeepLearnToolbox checkout"
    driver = _OCTAVE_DRIVER.format(toolbox=os.path.abspath(toolbox), m=M, n0=SIZES[0], k=SIZES[-1],
                                   sizes=" ".join(map(str, SIZES)), batchsize=BATCHSIZE, repeats=repeats)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "drl_np_speed.m")
        with open(path, "w") as f:
            f.write(driver)
        run = subprocess.run(["octave", "--no-gui", "--quiet", "--eval", f"run('{path}')"],
                             capture_output=True, text=True)
    seconds = [float(line.split()[1]) for line in run.stdout.splitlines() if line.startswith("SECONDS")]
    if run.returncode != 0 or not seconds:
        return None, "octave failed: " + (run.stderr.strip().splitlines() or ["no output"])[-1]
    return float(np.median(seconds)), ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per engine (default 5)")
    parser.add_argument("--octave", metavar="DIR", help="a DeepLearnToolbox checkout; needs octave on PATH")
    parser.add_argument("--no-compile", action="store_true", help="skip the fresh-process compile timing")
    args = parser.parse_args(argv)

    print(f"nntrain, one epoch: net {SIZES}, sigm, sparsity target 0.05 penalty 1, lr 0.005, "
          f"momentum 0.5, m = {M}, batch {BATCHSIZE}; median of {args.repeats} runs, {os.cpu_count()} CPUs\n")
    medians = time_engines(args.repeats)
    base_wall, base_cpu = medians["numpy"]
    print("| engine | wall s/epoch | CPU s/epoch | numpy / engine (wall) | numpy / engine (CPU) |")
    print("|---|---|---|---|---|")
    for engine, (wall, cpu) in medians.items():
        print(f"| {engine} | {wall:.4f} | {cpu:.4f} | {base_wall / wall:.2f} | {base_cpu / cpu:.2f} |")
    if args.octave:
        seconds, why = time_octave(args.octave, args.repeats)
        if seconds is None:
            print(f"| octave (original toolbox) | not run: {why} | | | |")
        else:
            print(f"| octave (original toolbox) | {seconds:.4f} | | {base_wall / seconds:.2f} | |")
            print(f"\noctave / numba (wall): {seconds / medians['numba'][0]:.2f}")
    else:
        print("| octave (original toolbox) | not run: pass --octave DIR (a toolbox checkout, octave on PATH) | | | |")

    if not args.no_compile:
        cold, warm = time_first_calls()
        print("\n| first numba epoch in a new process | seconds |")
        print("|---|---|")
        print(f"| empty cache (compile + run) | {cold:.2f} |")
        print(f"| second process (cache load + run) | {warm:.2f} |")
        print(f"| steady-state epoch (above) | {medians['numba'][0]:.4f} |")


if __name__ == "__main__":
    main()
