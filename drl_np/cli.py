"""The ``drl-np`` command line: ``run``, ``demo``, ``evaluate`` and ``plant``.

Every user error (bad input, unreadable file, bad option) ends the program
with one line ``drl-np: error: <message>`` on stderr and exit status 2,
without a traceback and without writing anything: outputs are staged under
temporary names in the output directory and renamed only once all of them
are complete (:class:`drl_np.io.AtomicOutputs`). Progress goes through the
``logging`` logger ``"drl_np"`` (``-q`` silences it, ``-v`` adds detail).
"""
import argparse
import json
import logging
import math
import os
import signal
import sys
import time

import numpy as np

from . import __version__, figures, io, report
from ._cli_params import METHOD_PARAMS, ParamError, parse_params
from ._validation import InputError, check_pair, check_schedule
from .labels import ENCODINGS, IGNORE, decode_labels
from .methods import METHODS

__all__ = ["main", "build_parser", "METHODS"]

log = logging.getLogger("drl_np")

_FIXED_OUTPUTS = ("cda_map.tif", "cda_map.tif.aux.xml", "cda_map.png", "ci_map.tif",
                  "ci_map.png", "summary.png", "report.json", "areas.csv")
_IGNORE = IGNORE
_DEMO_SCHEDULE = (25, 15, 8, 4)
_DEFAULT_SCHEDULE = (25, 15, 8, 5)      # drl_np.analyse's
_MAX_SEED = 2 ** 32 - 1
_RUN_STATE = {"committed": False}       # for the message of an interrupted run


class _UsageError(Exception):
    """A command-line usage error (printed as one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------
# option parsing
# --------------------------------------------------------------------------

def _int_list(text, what):
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{what} '{text}' is not a comma-separated list of integers, e.g. 1,2,3") from None
    if not values:
        raise argparse.ArgumentTypeError(f"{what} '{text}' is empty")
    return values


def _schedule(text):
    try:
        return check_schedule(_int_list(text, "schedule"))
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bands(text):
    values = _int_list(text, "bands")
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"bands '{text}' has an index below 1; band indices start at 1")
    return values


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"'{text}' must be a positive number of metres")
    return v


_RESERVED = {"schedule": "--schedule", "unit": "--unit", "random_state": "--seed",
             "nodata": "--nodata", "mask": "--nodata", "method": "--method",
             "threshold": "--threshold", "scaling": "--scaling", "preset": "--preset",
             "region_statistic": "--region-statistic", "region_sample": "--region-sample",
             "region_weight": "--region-weight"}


def _seed(text):
    try:
        v = int(text)
    except ValueError:
        v = -1
    if not 0 <= v <= _MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"seed '{text}' must be an integer from 0 to {_MAX_SEED}, e.g. --seed 0")
    return v


def _param(text):
    key, sep, value = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f"'{text}' is not KEY=VALUE; e.g. --param pretrain_epochs=5")
    if key in _RESERVED:
        raise argparse.ArgumentTypeError(
            f"'{key}' has its own option; use {_RESERVED[key]} instead of --param")
    return key, value      # parsed against the method's spec before any work


def _nodata(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"nodata '{text}' is not a number (use e.g. 0, -9999 or nan)") from None


_RUN_EXAMPLES = """\
examples:
  drl-np run t1.tif t2.tif --out result
  drl-np run t1.tif t2.tif --out result --gt gt.tif --bands 1,2,3,4 --nodata 0
  drl-np run t1.tif t2.tif --out result --method raw-km --schedule 25,15,8,5
  drl-np run --pair bern.npz --out result_bern --method cva
  drl-np run t1.tif t2.tif --out result -p n_segments=3000 -p finetune_epochs=5
  drl-np run im.mat im.mat --var im1,im2 --out result --pixel-size 30
  drl-np run t1.npy t2.npy --bands-first --out result --gt cm.tif --gt-encoding 1-2

outputs in DIR: cda_map.tif/.png (0 unchanged, 1..K change types, 255 masked;
colour table, category names in cda_map.tif.aux.xml), ci_map.tif/.png (change
intensity in [0, 1], NaN masked), map_K<k>.tif/.png (the map at every K of the
schedule), summary.png, report.json, areas.csv, drl_np_manifest.json (the
files of this run: a later run removes only files a manifest lists).
T1's CRS and transform are written to every .tif.
"""

_DEMO_EXAMPLES = """\
examples:
  drl-np demo                       # DRLnet2 on the synthetic scene -> ./drl_np_demo
  drl-np demo --method raw-km --out /tmp/demo_rawkm

The scene has 4 change types, so the default schedule here is 25,15,8,4.
"""

_EVAL_EXAMPLES = """\
examples:
  drl-np evaluate result/cda_map.tif gt.tif
  drl-np evaluate my_map.png gt.png --ignore 254

  drl-np evaluate my_map.tif oscd/rennes-cm.tif --gt-encoding 1-2

MAP: 0 unchanged, 1..K change types; the file's nodata (else 255 in a uint8
map, 65535 in a uint16 map) is masked and counted wrong where labelled.
GT: any common encoding (see --gt-encoding); the one read is printed. With
more than one change class, a table per type follows: its matched class, its
labelled pixels, producer's and user's accuracy.
"""


_PLANT_EXAMPLES = """\
examples:
  drl-np plant scene.tif --out pair.npz              # 4 types, seed 0
  drl-np plant scene.tif --out planted --n-types 5 --seed 3 --bands 1,2,3,4
  drl-np run --pair pair.npz --out result            # then analyse the pair

--out PAIR.npz writes the pair (t1, t2, gt) and PAIR.json (what was planted);
--out DIR writes DIR/t1.tif, t2.tif, gt.tif (IMAGE's georeferencing) and
DIR/planted.json. gt: 0 unchanged, 1..K the planted types.
"""


_DEFAULT_TILE, _DEFAULT_HALO, _DEFAULT_SAMPLE = 512, 32, 20000   # drl_np.tiles, drl_np.scene
_TILED_ABOVE = 2048 * 2048


def _tile_size(text):
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be a positive integer")
    return v


def _halo(text):
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"halo '{text}' must be an integer >= 0")
    return v


def _count(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None


def build_parser():
    """The ``drl-np`` argument parser (subcommands run, demo, evaluate, plant)."""
    common = _Parser(add_help=False)
    g = common.add_argument_group("logging")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    g.add_argument("-v", "--verbose", action="store_true", help="more detailed progress")

    analysis = _Parser(add_help=False)
    a = analysis.add_argument_group("analysis")
    a.add_argument("--method", choices=METHODS, default="drlnet2",
                   help="change-analysis method (default: drlnet2)")
    a.add_argument("--schedule", type=_schedule, metavar="K0,K1,...",
                   help="cluster schedule, strictly decreasing, e.g. 25,15,8,5 "
                        "(default: the method's)")
    a.add_argument("--unit", choices=("superpixel", "pixel"), default="superpixel",
                   help="sample unit of the DRLnet family (default: superpixel)")
    a.add_argument("--preset", choices=("default", "paper"), default="default",
                   help="configuration of the DRLnet family: 'default' (what works on "
                        "real pairs) or 'paper' (the DRLnet paper's exact configuration); "
                        "options given explicitly win over it")
    a.add_argument("--scaling", choices=("auto", "joint", "per-date", "invariant"),
                   help="radiometry of the two dates before the joint min-max of the DRLnet "
                        "family: 'joint' none (the paper's, for radiometrically corrected "
                        "pairs), 'per-date' standardise each date's bands, 'invariant' map T2 "
                        "onto T1 over unchanged (IRMAD-invariant) pixels, 'auto' choose from "
                        "the data (default: the preset's, 'auto'; 'joint' for the paper)")
    a.add_argument("--region-statistic", choices=("pixels", "interior", "mean", "centre"),
                   help="whose change a region takes: the mean change of its pixels, the mean "
                        "over its member pixels' windows that lie inside it, over all its "
                        "pixels' windows, or its centre window (default: the preset's, "
                        "'pixels'; 'centre' for the paper)")
    a.add_argument("--region-sample", choices=("mean", "centre"),
                   help="a region's sample for the networks and K-means: the mean of its "
                        "pixels' windows or its centre window (default: the preset's, "
                        "'mean'; 'centre' for the paper)")
    a.add_argument("--region-weight", choices=("pixels", "none"),
                   help="what a region weighs in the K-means of the change types: its pixel "
                        "count or one vote (default: the preset's, 'pixels'; 'none' for the "
                        "paper)")
    a.add_argument("--threshold", choices=("ggki", "ki", "otsu", "kmeans"),
                   help="decision rule between changed and unchanged (default: the "
                        "method's: GGKI for the DRLnet family, the published rule for peers)")
    a.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    a.add_argument("-p", "--param", type=_param, action="append", default=[],
                   metavar="KEY=VALUE",
                   help="any other parameter of drl_np.analyse or the method, "
                        "repeatable, e.g. -p n_segments=2000 -p finetune_epochs=5; "
                        "'-p help' lists the method's keys")
    a.add_argument("--pixel-size", type=_positive_float, metavar="S",
                   help="pixel side in metres, for areas (default: from the GeoTIFF)")

    gt_opts = _Parser(add_help=False)
    g = gt_opts.add_argument_group("ground truth")
    g.add_argument("--gt-encoding", choices=ENCODINGS, default="auto",
                   help="how the ground truth is coded: 0-1, 0-255 (255 changed), 1-2 "
                        "(OSCD: 1 unchanged, 2 changed, 0 no data), 0-1-255 (255 ignore), "
                        "multiclass (0 unchanged, 1..C, 255 ignore); default: auto, "
                        "detected from the values and printed")
    g.add_argument("--ignore", type=int, metavar="V",
                   help="a further ground-truth value of unlabelled pixels")

    parser = _Parser(
        prog="drl-np",
        description="DRLnet unsupervised change detection and change-type analysis\n"
                    "of two co-registered images.",
        epilog="examples:\n  drl-np demo\n  drl-np run t1.tif t2.tif --out result\n"
               "  drl-np evaluate result/cda_map.tif gt.tif\n\n"
               "'drl-np COMMAND --help' shows each command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"drl-np {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run", parents=[analysis, gt_opts, common], help="analyse a pair of images",
        description="Analyse two co-registered images T1, T2 (GeoTIFF/TIFF, PNG,\n"
                    "BMP, JPEG, .npy, .mat) or a .npz pair, and write the maps,\n"
                    "figures and report to DIR.",
        epilog=_RUN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("t1", nargs="?", metavar="T1", help="image of the first date")
    run.add_argument("t2", nargs="?", metavar="T2", help="image of the second date")
    run.add_argument("--pair", metavar="PAIR.npz",
                     help=".npz with arrays t1, t2 (and optional gt, mask, bands)")
    run.add_argument("--out", required=True, metavar="DIR", help="output directory")
    run.add_argument("--gt", metavar="GT",
                     help="ground truth for scoring (see --gt-encoding)")
    run.add_argument("--bands", type=_bands, metavar="1,2,3",
                     help="1-based bands to use, same for both dates (default: all)")
    run.add_argument("--nodata", type=_nodata, metavar="V",
                     help="nodata value (default: the GeoTIFF's GDAL_NODATA tag)")
    lay = run.add_mutually_exclusive_group()
    lay.add_argument("--bands-first", dest="channel_axis", action="store_const", const=0,
                     help="arrays in .npy/.mat/.npz are (B, M, N), bands first (the layout "
                          "rasterio reads); default: inferred from the shape")
    lay.add_argument("--bands-last", dest="channel_axis", action="store_const", const=-1,
                     help="arrays in .npy/.mat/.npz are (M, N, B), bands last")
    run.add_argument("--var", metavar="NAME",
                     help="array name in .mat files; NAME1,NAME2[,NAME3] for T1, T2, GT")
    sc = run.add_argument_group("whole scenes (docs/scenes.md)")
    sc.add_argument("--tile", type=_tile_size, metavar="SIZE",
                    help="fit on a sample, then map tiles of SIZE x SIZE pixels read with a halo "
                         f"(default for GeoTIFFs above --tiled-above pixels: {_DEFAULT_TILE})")
    sc.add_argument("--tiled-above", type=_tile_size, default=_TILED_ABOVE, metavar="PIXELS",
                    help="GeoTIFF pairs with more pixels than this go the tiled way "
                         f"(default: {_TILED_ABOVE}, 2048 x 2048)")
    sc.add_argument("--halo", type=_halo, metavar="PIXELS",
                    help=f"pixels read around each tile (default: {_DEFAULT_HALO})")
    sc.add_argument("--sample-size", type=_tile_size, metavar="N",
                    help=f"regions the DRLnet family is fitted on (default: {_DEFAULT_SAMPLE})")
    dk = sc.add_mutually_exclusive_group()
    dk.add_argument("--workers", type=_tile_size, metavar="N",
                    help="run the tiles on a new local Dask cluster of N worker processes "
                         "(needs pip install 'drl_np[dask]')")
    dk.add_argument("--scheduler", metavar="ADDRESS",
                    help="run the tiles on the Dask cluster at ADDRESS, e.g. tcp://10.0.0.5:8786; "
                         "the workers read the inputs by path")

    demo = sub.add_parser(
        "demo", parents=[analysis, common],
        help="run the whole job on the built-in synthetic scene",
        description="Generate the built-in synthetic 256x256, 4-band scene with 4\n"
                    "change types, analyse it, write all outputs and print the\n"
                    "accuracy against its ground truth. DRLnet2 takes about 10 s (40 s\n"
                    "the first time, which compiles the Numba kernels); raw-km about 8 s.",
        epilog=_DEMO_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--out", default="drl_np_demo", metavar="DIR",
                      help="output directory (default: drl_np_demo)")

    ev = sub.add_parser(
        "evaluate", parents=[gt_opts, common], help="score an existing map against ground truth",
        description="Score a change or change-analysis map against ground truth:\n"
                    "binary metrics always, change-type metrics (with the best\n"
                    "type-to-class matching) when GT has more than one change class.",
        epilog=_EVAL_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ev.add_argument("map", metavar="MAP", help="map file (e.g. cda_map.tif)")
    ev.add_argument("gt", metavar="GT", help="ground-truth file")
    ev.add_argument("--json", action="store_true", help="print the scores as JSON")

    pl = sub.add_parser(
        "plant", parents=[common], help="make a test pair by planting change types into one image",
        description="Make a bi-temporal test pair from ONE real image: its unlabelled\n"
                    "cover classes (superpixels + K-means), whole parcels of a source\n"
                    "class replaced by real pixels of a target class from elsewhere in\n"
                    "the image, and a radiometric change (gain, offset, illumination,\n"
                    "noise) of the second date (drl_np.datasets.plant_transitions).",
        epilog=_PLANT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    pl.add_argument("image", metavar="IMAGE",
                    help="the first date (GeoTIFF/TIFF, PNG, .npy, .mat; of a .npz pair, its t1)")
    pl.add_argument("--out", required=True, metavar="PAIR.npz|DIR",
                    help="a .npz pair file, or a directory for t1.tif, t2.tif, gt.tif")
    pl.add_argument("--n-types", type=_count, default=4, metavar="K",
                    help="number of planted transitions (default: 4)")
    pl.add_argument("--n-classes", type=_count, default=6, metavar="C",
                    help="number of unlabelled cover classes (default: 6)")
    pl.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    pl.add_argument("--bands", type=_bands, metavar="1,2,3",
                    help="1-based bands of IMAGE to keep (default: all)")
    pl.add_argument("--var", metavar="NAME", help="array name in a .mat file")
    return parser


# --------------------------------------------------------------------------
# the job
# --------------------------------------------------------------------------

def _score(gt, cda_map, ignore=_IGNORE):
    """metrics dict: binary always, change types when gt has > 1 change class."""
    return report.score(gt, cda_map, ignore=ignore)


def _uint_map(labels):
    """(M, N) int map with -1 masked -> uint8 with 255 masked (uint16/65535 if K > 254)."""
    lab = np.asarray(labels)
    if lab.size and lab.max() >= 255:
        return np.where(lab < 0, 65535, lab).astype(np.uint16), 65535
    return np.where(lab < 0, 255, lab).astype(np.uint8), 255


def _schedule_of(args):
    return tuple(args.schedule) if args.schedule is not None else _DEFAULT_SCHEDULE


def _analysis_params(args):
    params = dict(args.checked_params)
    if args.schedule is not None:
        params["schedule"] = tuple(args.schedule)
    if getattr(args, "threshold", None) is not None:
        params["threshold"] = args.threshold
    return params


def _check_params(args):
    """Parse every -p value against the method's specs (before any work)."""
    if any(k == "help" for k, _ in args.param):
        keys = ", ".join(sorted(METHOD_PARAMS[args.method])) or "none"
        raise _UsageError(f"-p keys of --method {args.method}: {keys}")
    try:
        args.checked_params = parse_params(args.method, args.param)
    except ParamError as exc:
        raise _UsageError(str(exc)) from None


def _output_names(args):
    """Every file a run may write into --out (for the checks before the work)."""
    return list(_FIXED_OUTPUTS) + [f"map_K{k}.{e}" for k in _schedule_of(args)
                                   for e in ("tif", "png")]


def _analyse(t1, t2, args, valid):
    import drl_np

    log.info("analysing %dx%d pixels, %d bands, with %s (seed %d)",
             t1.shape[0], t1.shape[1], t1.shape[2], args.method, args.seed)
    scene = {}
    if getattr(args, "tile", None) is not None:         # an array pair, tiled in memory
        scene = {"tile": args.tile, "halo": args.halo, "sample_size": args.sample_size}
    return drl_np.analyse(t1, t2, method=args.method, random_state=args.seed, **scene,
                          mask=valid, nodata=getattr(args, "nodata", None),
                          unit=args.unit, scaling=args.scaling, preset=args.preset,
                          region_statistic=args.region_statistic, region_sample=args.region_sample,
                          region_weight=args.region_weight, **_analysis_params(args))


def _check_size_for_method(r1, args):
    m, n = r1.data.shape[:2]
    if args.method == "pca-kmeans":
        h = args.checked_params.get("block_size", 5)
        if (m // h) * (n // h) < 2:
            raise InputError(f"the images are {m}x{n} pixels, too small for two {h}x{h} blocks "
                             "of pca-kmeans; use a larger image, a smaller -p block_size "
                             "or another --method")


def _check_inputs(r1, r2, gt, gt_path, args):
    io.check_same_grid(r1, r2)
    check_pair(r1.data, r2.data)
    valid = r1.valid & r2.valid
    if not valid.any():
        nd = r1.nodata if r1.nodata is not None else r2.nodata
        raise InputError(
            f"all pixels are nodata or non-finite (nodata={nd}) in t1 or t2; "
            "check --nodata and --bands")
    if gt is not None and gt.shape != r1.data.shape[:2]:
        raise InputError(
            f"ground truth '{gt_path}' is {gt.shape[0]}x{gt.shape[1]} but the images "
            f"are {r1.data.shape[0]}x{r1.data.shape[1]}; give the ground truth on the "
            "images' pixel grid")
    _check_size_for_method(r1, args)
    return valid


def _pixel_area(args, r1):
    if getattr(args, "pixel_size", None) is not None:
        return args.pixel_size ** 2, "m2"
    return io.pixel_area(r1.georef)


def _type_names(n):
    return {0: "unchanged", **{k: f"change type {k}" for k in range(1, n + 1)}}


def _job(r1, r2, gt, out_dir, args, inputs, protected, t_read):
    """Analyse, score and write everything atomically; return the report."""
    valid = _check_inputs(r1, r2, gt, inputs.get("gt"), args)
    out = io.AtomicOutputs(out_dir, _output_names(args), protected, manifest=True).check(
        writable=True)

    t0 = time.perf_counter()
    # the mask carries each file's nodata and non-finite pixels;
    # --nodata (if given) also goes to analyse, where it applies to both dates
    result = _analyse(r1.data, r2.data, args, valid)
    t_analysis = time.perf_counter() - t0
    metrics = _score(gt, result.cda_map) if gt is not None else None

    t0 = time.perf_counter()
    log.info("writing outputs to %s", out_dir)
    area = _pixel_area(args, r1)
    georef = r1.georef
    cda_u, cda_nd = _uint_map(result.cda_map)
    ci = np.asarray(result.ci_map, dtype=np.float32)
    band_labels = None
    if r1.band_names is not None and len(set(r1.band_names)) == len(r1.band_names):
        band_labels = list(r1.band_names)
    n_types = int(max(result.cda_map.max(initial=0), 0))
    with out:
        rep = report.build_report(
            result, t1=r1.data, t2=r2.data, inputs=inputs, pixel_area=area,
            metrics=metrics, band_labels=band_labels, timings={"read": t_read,
                                                               "analysis_total": t_analysis})
        colours = figures.label_colours(max(n_types, 1), masked_value=cda_nd)
        names = {**_type_names(n_types), cda_nd: "masked"}
        io.write_geotiff(out.stage("cda_map.tif"), cda_u, georef, cda_nd, colormap=colours,
                         description="change type (0 unchanged)")
        with open(out.stage("cda_map.tif.aux.xml"), "w") as f:
            f.write(io.category_aux_xml(names))
        io.write_png(out.stage("cda_map.png"),
                     figures.map_figure(result.cda_map, rep["change_types"], "change types",
                                        area_unit=area[0] is not None))
        io.write_geotiff(out.stage("ci_map.tif"), ci, georef, float("nan"),
                         description="change intensity in [0, 1]")
        io.write_png(out.stage("ci_map.png"), figures.intensity_figure(ci))
        for k, m in sorted(result.maps.items(), reverse=True):
            mu, mnd = _uint_map(m)
            io.write_geotiff(out.stage(f"map_K{k}.tif"), mu, georef, mnd,
                             colormap=figures.label_colours(max(k, 1), masked_value=mnd))
            io.write_png(out.stage(f"map_K{k}.png"),
                         figures.map_figure(m, report.change_types(m, r1.data, r2.data,
                                                                   area[0], band_labels),
                                            f"K = {k}", area_unit=area[0] is not None))
        io.write_png(out.stage("summary.png"),
                     figures.summary_figure(r1, r2, valid, result, gt, rep, _IGNORE))
        rep["timings"]["write_maps"] = time.perf_counter() - t0
        rep["outputs"] = sorted(out.staged_names() + [io.MANIFEST, "areas.csv",
                                                      "report.json"])
        with open(out.stage("areas.csv"), "w", newline="") as f:
            f.write(report.areas_csv(rep["change_types"]))
        with open(out.stage("report.json"), "w") as f:
            json.dump(rep, f, indent=2, allow_nan=False)
            f.write("\n")
    _RUN_STATE["committed"] = True
    for name in rep["outputs"]:
        log.debug("wrote %s", os.path.join(out_dir, name))
    return rep


def _print_summary(rep, out_dir):
    t = rep["totals"]
    share = t["changed_pixels"] / t["valid_pixels"] if t["valid_pixels"] else 0.0
    n = rep["n_change_types"]
    print(f"{rep['method']}: {n} change type{'s' if n != 1 else ''}, "
          f"{t['changed_pixels']} changed pixels ({100 * share:.1f}% of "
          f"{t['valid_pixels']} valid)")
    for row in rep["change_types"]:
        area = row["area_m2"]
        area_txt = f", {area / 1e4:.2f} ha" if area is not None else ""
        print(f"  type {row['type']}: {row['pixels']} px{area_txt}")
    if "metrics" in rep:
        print(f"ground truth read as {rep['inputs'].get('gt_encoding')}")
        _print_metrics(rep["metrics"])
    print(f"outputs written to {os.path.abspath(out_dir)}: "
          f"{', '.join(rep['outputs'])}")


def _print_metrics(m):
    b = m["binary"]
    print(f"binary vs ground truth: OA {b['oa']:.4f}  kappa {b['kappa']:.4f}  "
          f"F1 {b['f1']:.4f}  precision {b['precision']:.4f}  recall {b['recall']:.4f}")
    if "multiclass" in m:
        c = m["multiclass"]
        match = ", ".join(f"{k}->{v}" for k, v in c["matching"].items())
        print(f"change types vs ground truth: ACC {c['acc']:.4f}  kappa "
              f"{c['kappa']:.4f}  (type->class {match})")
    if "type_accuracy" in m:
        for line in _type_table(m["type_accuracy"]["rows"]):
            print(line)


def _type_table(rows):
    """Lines of the per-type table: type, matched class, labelled pixels,
    producer's and user's accuracy ('-' where there is none)."""
    widths = (4, 5, 9, 10, 8)
    header = ("type", "class", "pixels", "producer's", "user's")

    def line(cells):
        return "  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths))

    def cell(v, fmt):
        return "-" if v is None else fmt.format(v)

    lines = [line(header)]
    for r in rows:
        lines.append(line((cell(r["type"], "{:d}"), cell(r["class"], "{:d}"), str(r["pixels"]),
                           cell(r["producers"], "{:.4f}"), cell(r["users"], "{:.4f}"))))
    lines.append("  (type 0 = unchanged; class = the matched ground-truth class; pixels = "
                 "labelled pixels of the type; producer's = share of the class's pixels "
                 "mapped to its type, user's = share of the type's pixels that are the class)")
    return lines


def _split_var(var):
    if var is None:
        return [None, None, None]
    names = [v.strip() or None for v in var.split(",")]
    if len(names) == 1:
        return names * 3
    return (names + [None, None, None])[:3]


def _read_gt(path, var, args):
    raw = io.read_labels(path, var=var, name="ground truth")
    return decode_labels(raw, args.gt_encoding, args.ignore)


def _cmd_run(args):
    if args.pair is not None and (args.t1 or args.t2):
        raise _UsageError("give either T1 T2 or --pair PAIR.npz, not both "
                          "(see 'drl-np run --help')")
    if args.pair is None and not (args.t1 and args.t2):
        raise _UsageError("give two images T1 T2 or --pair PAIR.npz "
                          "(see 'drl-np run --help')")
    _check_params(args)
    protected = [p for p in (args.pair, args.t1, args.t2, args.gt) if p is not None]
    if _tiled_files(args):
        return _cmd_run_scene(args, protected)
    # fail before a long read/analysis: a file in the way, an input among the
    # outputs, a directory that cannot be written
    io.AtomicOutputs(args.out, _output_names(args), protected, manifest=True).check(
        writable=True)
    t0 = time.perf_counter()
    v1, v2, vgt = _split_var(args.var)
    gt_text = None
    if args.pair is not None:
        log.info("reading pair %s", args.pair)
        r1, r2, gt, _ = io.read_pair(args.pair, bands=args.bands, nodata=args.nodata,
                                     channel_axis=args.channel_axis)
        if gt is not None and args.gt is None:
            gt, gt_text = decode_labels(gt, args.gt_encoding, args.ignore)
    else:
        log.info("reading %s and %s", args.t1, args.t2)
        r1 = io.read_image(args.t1, bands=args.bands, nodata=args.nodata, var=v1, name="t1",
                           channel_axis=args.channel_axis)
        r2 = io.read_image(args.t2, bands=args.bands, nodata=args.nodata, var=v2, name="t2",
                           channel_axis=args.channel_axis)
        gt = None
    if args.gt is not None:
        gt, gt_text = _read_gt(args.gt, vgt, args)
    if gt_text is not None:
        log.info("ground truth read as %s", gt_text)
    for name, r in (("t1", r1), ("t2", r2)):
        if "inferred" in r.layout and r.layout.startswith("bands-first"):
            log.info("%s: array read as bands-first (%d bands of %dx%d pixels); "
                     "give --bands-last if it is (M, N, B)", name, r.data.shape[2],
                     r.data.shape[0], r.data.shape[1])
        log.debug("%s: %s, %dx%d, %d of %d bands, nodata %s, %d invalid pixels, "
                  "georeferenced: %s", name, r.path, r.data.shape[0], r.data.shape[1],
                  r.data.shape[2], r.n_file_bands, r.nodata, int((~r.valid).sum()),
                  bool(r.georef))
    inputs = {
        "t1": args.t1, "t2": args.t2, "pair": args.pair, "gt": args.gt,
        "gt_encoding": gt_text,
        "bands": args.bands, "band_names": r1.band_names, "layout": r1.layout,
        "file_bands": r1.n_file_bands, "nodata": r1.nodata,
        "georeferenced": bool(r1.georef),
        "crs": (r1.georef["crs"].to_string() if r1.georef.get("crs") is not None else None),
        "pixel_size_arg": args.pixel_size,
        "unit": args.unit, "seed": args.seed,
    }
    rep = _job(r1, r2, gt, args.out, args, inputs, protected, time.perf_counter() - t0)
    _print_summary(rep, args.out)
    return 0


def _tiled_files(args):
    """Whether ``run`` goes the whole-scene way: two GeoTIFFs with --tile,
    --workers or --scheduler, or with more pixels than --tiled-above."""
    from .cli_scene import is_geotiff, scene_pixels

    if args.pair is not None or not (is_geotiff(args.t1) and is_geotiff(args.t2)):
        if args.workers is not None or args.scheduler is not None:
            raise _UsageError("--workers and --scheduler need two GeoTIFF files T1 T2 (the workers "
                              "read them by window)")
        return False
    return (args.tile is not None or args.workers is not None or args.scheduler is not None
            or scene_pixels(args.t1) > args.tiled_above)


def _cmd_run_scene(args, protected):
    from .cli_scene import OUTPUTS, run_scene_files

    if args.var is not None or args.channel_axis is not None:
        raise _UsageError("--var, --bands-first and --bands-last are for .npy/.mat arrays, not "
                          "GeoTIFF scenes")
    io.AtomicOutputs(args.out, OUTPUTS, protected, manifest=True).check(writable=True)
    inputs = {"t1": args.t1, "t2": args.t2, "pair": None, "gt": None, "gt_encoding": None,
              "bands": args.bands, "layout": "bands-last", "pixel_size_arg": args.pixel_size,
              "unit": args.unit, "seed": args.seed}
    params = _analysis_params(args)
    params.setdefault("schedule", _DEFAULT_SCHEDULE)
    rep = run_scene_files(args, params, inputs, protected,
                          lambda source: _pixel_area(args, source))
    _RUN_STATE["committed"] = True
    _print_summary(rep, args.out)
    return 0


def _cmd_demo(args):
    _check_params(args)
    if args.schedule is None:
        # the scene has 4 change types; end the paper's schedule at K_T = 4
        args.schedule = _DEMO_SCHEDULE
    io.AtomicOutputs(args.out, _output_names(args), manifest=True).check(writable=True)
    from . import datasets

    log.info("generating the synthetic scene (256x256, 4 bands, 4 change types, seed %d)",
             args.seed)
    t0 = time.perf_counter()
    t1, t2, gt = datasets.synthetic_pair(shape=(256, 256), bands=4, n_change_types=4,
                                         seed=args.seed)
    names = list(datasets.band_names(4))
    r1 = io.Raster(data=np.asarray(t1, np.float64), valid=np.ones(t1.shape[:2], bool),
                   path="synthetic_pair:t1", band_names=names, n_file_bands=t1.shape[2])
    r2 = io.Raster(data=np.asarray(t2, np.float64), valid=np.ones(t2.shape[:2], bool),
                   path="synthetic_pair:t2", band_names=names, n_file_bands=t2.shape[2])
    gt = np.asarray(gt).astype(np.int64)
    inputs = {"scene": "drl_np.datasets.synthetic_pair", "shape": [256, 256],
              "bands": 4, "n_change_types": 4, "scene_seed": args.seed,
              "gt_encoding": "multi-class (0 unchanged, 1..4 change types)",
              "unit": args.unit, "seed": args.seed}
    if args.method.startswith("drlnet"):
        log.info("%s takes about 10 s (40 s the first time, which compiles the Numba "
                 "kernels); 'drl-np demo --method raw-km' about 8 s", args.method)
    rep = _job(r1, r2, gt, args.out, args, inputs, [], time.perf_counter() - t0)
    _print_summary(rep, args.out)
    return 0


def _map_masked_value(meta):
    """Masked value of a map file: its nodata, else 255 (uint8) / 65535 (uint16)."""
    nd = meta.get("nodata")
    if nd is not None and math.isfinite(nd) and float(nd).is_integer():
        return int(nd)
    return {"uint8": 255, "uint16": 65535}.get(meta.get("dtype"))


def _cmd_evaluate(args):
    pred, meta = io.read_labels(args.map, name="map", with_meta=True)
    gt, gt_text = _read_gt(args.gt, None, args)
    if pred.shape != gt.shape:
        raise InputError(
            f"map '{args.map}' is {pred.shape[0]}x{pred.shape[1]} but ground truth "
            f"'{args.gt}' is {gt.shape[0]}x{gt.shape[1]}; give both on one pixel grid")
    masked_value = _map_masked_value(meta)
    if masked_value is not None:
        pred = np.where(pred == masked_value, -1, pred)
    m = _score(gt, pred)
    m["gt_encoding"] = gt_text
    if args.json:
        print(json.dumps(report.to_jsonable(m), indent=2))
    else:
        n = m["binary"]["n_pixels"]
        print(f"ground truth read as {gt_text}")
        print(f"{n} labelled pixels ({m['binary']['n_unpredicted']} masked in the map)")
        _print_metrics(m)
    return 0


def _plant_report(args, image, info):
    """The JSON record of a planting: inputs, parameters and every type."""
    total = info.cover.size
    return {
        "image": args.image, "bands": args.bands, "dtype": str(image.dtype),
        "shape": list(image.shape), "seed": args.seed, "n_types": args.n_types,
        "n_classes": args.n_classes,
        "types": [{"type": k, "source_class": s, "target_class": t, "pixels": n,
                   "fraction": n / total, "parcels": p, "nearest_filled": f,
                   "source_mean": info.class_means[s].tolist(),
                   "target_mean": info.class_means[t].tolist()}
                  for k, ((s, t), n, p, f) in enumerate(
                      zip(info.transitions, info.pixels, info.parcels, info.filled), start=1)],
        "class_pixels": np.bincount(info.cover.ravel(),
                                    minlength=args.n_classes).tolist(),
        "t2": {"gain": info.gain.tolist(), "offset": info.offset.tolist(),
               "illumination_range": [float(info.illumination.min()),
                                      float(info.illumination.max())],
               "noise_sigma": info.noise.tolist()},
    }


def _cmd_plant(args):
    from . import datasets

    as_pair = args.out.lower().endswith(".npz")
    if as_pair:
        out_dir = os.path.dirname(args.out) or "."
        base = os.path.basename(args.out)
        names = [base, base[:-4] + ".json"]
    else:
        out_dir, names = args.out, ["t1.tif", "t2.tif", "gt.tif", "planted.json"]
    out = io.AtomicOutputs(out_dir, names, protected=[args.image]).check()
    if args.image.lower().endswith(".npz"):       # a pair: plant into its first date
        r = io.read_pair(args.image, bands=args.bands)[0]
    else:
        r = io.read_image(args.image, bands=args.bands, var=args.var, name="image")
    if not r.valid.all():
        raise InputError(
            f"image '{args.image}' has {int((~r.valid).sum())} nodata or non-finite "
            f"pixels (nodata={r.nodata}); planting needs a complete image, so crop "
            "them away first")
    image = r.data.astype(r.dtype)            # the file's values in the file's type
    log.info("planting %d change types into %s (%dx%d, %d bands, %s), seed %d",
             args.n_types, args.image, image.shape[0], image.shape[1], image.shape[2],
             image.dtype, args.seed)
    t1, t2, gt, info = datasets.plant_transitions(
        image, n_types=args.n_types, n_classes=args.n_classes, seed=args.seed)
    rep = _plant_report(args, image, info)
    with out:
        if as_pair:
            datasets.save_pair(out.stage(names[0]), t1, t2, gt=gt, bands=r.band_names)
        else:
            io.write_geotiff(out.stage("t1.tif"), t1, r.georef)
            io.write_geotiff(out.stage("t2.tif"), t2, r.georef)
            io.write_geotiff(out.stage("gt.tif"), gt, r.georef)
        with open(out.stage(names[-1]), "w") as f:
            json.dump(rep, f, indent=2, allow_nan=False)
            f.write("\n")
    changed = sum(info.pixels)
    print(f"planted {args.n_types} change types into {args.image} "
          f"({100 * changed / gt.size:.1f}% of {gt.size} pixels changed), seed {args.seed}")
    for row in rep["types"]:
        print(f"  type {row['type']}: class {row['source_class']} -> class "
              f"{row['target_class']}, {row['pixels']} px ({100 * row['fraction']:.1f}%), "
              f"{row['parcels']} parcels")
    print(f"  t2: gain {info.gain.min():.2f}-{info.gain.max():.2f}, illumination "
          f"{info.illumination.min():.2f}-{info.illumination.max():.2f}")
    print(f"outputs written to {os.path.abspath(out_dir)}: {', '.join(names)}")
    return 0


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------

class _ProgressHandler(logging.StreamHandler):
    """Progress records (``record.progress = (i, n)``, :mod:`drl_np.progress`)
    as one redrawn bar on a terminal; every record as a plain line otherwise."""

    width = 24

    def __init__(self, stream):
        super().__init__(stream)
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._open = False

    def emit(self, record):
        prog = getattr(record, "progress", None)
        if not self.tty or prog is None:
            if self._open:
                self.stream.write("\n")
                self._open = False
            return super().emit(record)
        i, n = prog
        fill = int(self.width * i / n) if n else self.width
        bar = "#" * fill + "." * (self.width - fill)
        self.stream.write(f"\r\033[K{self.format(record)[:100]} [{bar}]")
        self._open = i < n
        if not self._open:
            self.stream.write("\n")
        self.flush()


def _setup_logging(args):
    handler = _ProgressHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("drl-np: %(message)s"))
    level = logging.INFO
    if getattr(args, "quiet", False):
        level = logging.WARNING
    elif getattr(args, "verbose", False):
        level = logging.DEBUG
    handler.setLevel(level)
    handler.addFilter(_OnceFilter())
    old_level = log.level
    log.setLevel(level)
    log.addHandler(handler)
    return handler, old_level


class _OnceFilter(logging.Filter):
    """Let each distinct warning through once per run."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def filter(self, record):
        if record.levelno < logging.WARNING:
            return True
        key = record.getMessage()
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _error_line(exc):
    if isinstance(exc, OSError) and exc.strerror:
        where = f" '{exc.filename}'" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return " ".join(str(exc).split()) or type(exc).__name__


class _Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so staged outputs are removed."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def main(argv=None):
    """Run the ``drl-np`` command line; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        0 on success, 2 on a user error (one line on stderr, nothing written),
        130 on Ctrl-C and 143 on SIGTERM (staged outputs removed).
    """
    parser = build_parser()
    handler = None
    old_term = None
    _RUN_STATE["committed"] = False
    try:
        old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:                 # not the main thread
        pass
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:      # --help / --version
            return int(exc.code or 0)
        if args.command is None:
            parser.print_help()
            return 2
        handler, old_level = _setup_logging(args)
        command = {"run": _cmd_run, "demo": _cmd_demo, "evaluate": _cmd_evaluate,
                   "plant": _cmd_plant}
        return command[args.command](args)
    except BrokenPipeError:
        # the reader of our output went away (e.g. '| head'): stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except (_UsageError, InputError, OSError) as exc:
        print(f"drl-np: error: {_error_line(exc)}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Terminated) as exc:
        what = "interrupted" if isinstance(exc, KeyboardInterrupt) else "terminated"
        done = ("after the outputs were written" if _RUN_STATE["committed"]
                else "; no output written")
        print(f"drl-np: {what} {done}".replace(" ;", ";"), file=sys.stderr)
        return 130 if isinstance(exc, KeyboardInterrupt) else 143
    finally:
        if handler is not None:
            log.removeHandler(handler)
            log.setLevel(old_level)
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


if __name__ == "__main__":
    sys.exit(main())
