"""DRLnet2 end to end against image size: seconds, peak memory and the share
of time per stage, as markdown tables.

Run from the repository root::

    python -m benchmarks.scaling [--sizes 128,256,512,1024,2048]
        [--out benchmarks/RESULTS.md] [--stop-after 900]

Each size is a synthetic pair (``synthetic_pair(shape=(s, s))``, 4 bands, 4
change types, seed 0) analysed by ``drl_np.analyse(method="drlnet2",
random_state=0, schedule=(25, 15, 8, 4))`` in a fresh process (see
:func:`benchmarks._common.run_isolated`). Sizes run in increasing order; once
a run takes longer than ``--stop-after`` seconds the larger sizes are not
started and the table says so. The output file is rewritten after every size.
"""
import argparse
import sys
import time

from benchmarks._common import header_markdown, machine_info, peak_rss_mib, run_isolated, write_section

SCHEDULE = (25, 15, 8, 4)
#: Stages of result.timings, in pipeline order, with their table names.
STAGES = (("regions", "superpixels + samples"), ("overclustering", "K0 over-clustering"),
          ("pretrain", "pre-training (SAE + classifier)"), ("finetune", "fine-tuning (Algorithm 1)"),
          ("clustering", "GGKI, centroids, relabelling"))


def run_size(size, seed=0):
    """DRLnet2 on a ``size`` × ``size`` synthetic pair (in this process).

    Returns
    -------
    dict
        ``size, n_regions, seconds`` (of ``analyse``), ``timings`` (per
        stage), ``kappa`` (change-analysis kappa against the planted types)
        ``generate_seconds`` (making the pair, not part of ``seconds``),
        ``peak_before_mib`` (peak RSS before ``analyse``: interpreter,
        imports and making the pair) and ``input_mib`` (t1 + t2).
    """
    import drl_np
    from drl_np.datasets import synthetic_pair
    from drl_np.metrics import change_analysis_accuracy
    tic = time.perf_counter()
    t1, t2, gt = synthetic_pair(shape=(size, size), seed=seed)
    generate = time.perf_counter() - tic
    peak_before = peak_rss_mib()          # interpreter, imports, making the pair
    tic = time.perf_counter()
    res = drl_np.analyse(t1, t2, method="drlnet2", random_state=seed, schedule=SCHEDULE)
    seconds = time.perf_counter() - tic
    kappa = change_analysis_accuracy(gt, res.cda_map).kappa
    return {"size": int(size), "n_regions": int(res.regions.n_regions), "seconds": seconds,
            "timings": {k: float(v) for k, v in res.timings.items()}, "kappa": float(kappa),
            "generate_seconds": generate, "peak_before_mib": peak_before,
            "input_mib": (t1.nbytes + t2.nbytes) / 2 ** 20}


def render(rows, stopped, info, command, threads):
    """Markdown document of the finished sizes."""
    notes = [f"DRLnet2, default parameters, schedule {SCHEDULE}, seed 0, on `synthetic_pair(shape=(s, s))` "
             "(4 bands); one fresh process per size (forked from a forkserver that imported drl_np), "
             f"{threads} BLAS/OpenMP thread(s).",
             "seconds = `drl_np.analyse` only (making the synthetic pair excluded); peak RSS = the child's "
             "own `getrusage(RUSAGE_SELF).ru_maxrss` at the end (interpreter, imports and the pair "
             "included); 'before analyse' is the same peak just before the call (so making the pair "
             "is visible: when the two are equal, `analyse` never went above it). kappa = change-analysis "
             "kappa against the 4 planted types (a sanity check, one seed).",
             "Stage seconds from `result.timings`; 'other' = total − stages (painting the maps, "
             "validation)."]
    out = [header_markdown("drl_np: DRLnet2 speed and memory against image size", info, command, notes)]
    out.append("| size | pixels | regions | seconds | s per 1k regions | peak RSS MiB | peak RSS before "
               "analyse MiB | input t1+t2 MiB | kappa (types) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if not r.get("ok"):
            out.append(f"| {r['size']}² | {r['size'] ** 2:,} | – | failed: {r['error']} | – | – | – | – | – |")
            continue
        out.append(f"| {r['size']}² | {r['size'] ** 2:,} | {r['n_regions']:,} | {r['seconds']:.1f} | "
                   f"{1000 * r['seconds'] / r['n_regions']:.2f} | {r['peak_rss_mib']:.0f} | "
                   f"{r['peak_before_mib']:.0f} | {r['input_mib']:.0f} | {r['kappa']:.3f} |")
    out.append("\nShare of the seconds per stage:\n")
    out.append("| size | " + " | ".join(name for _, name in STAGES) + " | other |")
    out.append("|---|" + "---:|" * (len(STAGES) + 1))
    for r in rows:
        if not r.get("ok"):
            continue
        t = r["timings"]
        cells = [f"{t.get(key, 0.0):.1f} s ({100 * t.get(key, 0.0) / r['seconds']:.0f} %)" for key, _ in STAGES]
        other = r["seconds"] - sum(t.get(key, 0.0) for key, _ in STAGES)
        cells.append(f"{other:.1f} s ({100 * other / r['seconds']:.0f} %)")
        out.append(f"| {r['size']}² | " + " | ".join(cells) + " |")
    if stopped:
        out.append("\n" + stopped)
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256,512,1024,2048")
    parser.add_argument("--out", default="benchmarks/RESULTS.md",
                        help="markdown file whose 'scaling' section gets the table (the rest is kept)")
    parser.add_argument("--stop-after", type=float, default=900.0,
                        help="do not start larger sizes once a run took longer than this (seconds)")
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds per run")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads per run")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    info = machine_info()
    command = "python -m benchmarks.scaling " + " ".join(argv if argv is not None else sys.argv[1:])
    rows, stopped = [], ""
    for i, size in enumerate(sizes):
        report = run_isolated("benchmarks.scaling:run_size", {"size": size}, timeout=args.timeout,
                              threads=args.threads, preload=("drl_np", "drl_np.api", "drl_np.datasets", "drl_np.metrics",
                                       "drl_np.recurrent", "drl_np.kernels", "benchmarks.scaling"))
        if report["ok"]:
            row = dict(report["result"], ok=True, peak_rss_mib=report["peak_rss_mib"])
            print(f"{size}²: {row['n_regions']} regions, {row['seconds']:.1f} s, "
                  f"{row['peak_rss_mib']:.0f} MiB", file=sys.stderr, flush=True)
        else:
            row = {"size": size, "ok": False, "error": report["error"]}
            print(f"{size}²: {report['error']}", file=sys.stderr, flush=True)
        rows.append(row)
        took = row.get("seconds", report["process_wall"])
        if took > args.stop_after and i + 1 < len(sizes):
            stopped = (f"Stopped: the {size}² run took {took:.0f} s (> {args.stop_after:.0f} s), so "
                       f"{', '.join(f'{s}²' for s in sizes[i + 1:])} were not run.")
        write_section(args.out, "scaling", render(rows, stopped, info, command, args.threads))
        if stopped:
            break
    text = render(rows, stopped, info, command, args.threads)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
