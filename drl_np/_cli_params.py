"""The ``-p KEY=VALUE`` parameters of the command line: one spec per name
(type and range), parsed and checked before any work.

The specs are a plain table so that checking a bad value costs no import of
SciPy, scikit-learn or Numba; ``tests/test_cli_params.py`` checks that the
table names exactly the parameters of each estimator's signature
(:class:`~drl_np.recurrent.DRLnet`, :class:`~drl_np.baselines.SAEKM`,
:class:`~drl_np.baselines.RawKM`, :func:`~drl_np.api.analyse` and the peer
options of :func:`~drl_np.peers.detect_changes`) with defaults that pass.
"""
import math
from dataclasses import dataclass
from typing import Optional, Tuple

__all__ = ["Spec", "SPECS", "METHOD_PARAMS", "parse_params"]


@dataclass(frozen=True)
class Spec:
    """One parameter: ``kind`` in int, float, bool, choice, int-tuple;
    bounds ``lo``/``hi`` (``None`` = unbounded; ``lo_open``/``hi_open`` for
    strict bounds); ``choices`` for choice; ``none_ok`` when ``none`` is a
    value; ``int_ok`` when a choice parameter also takes an integer."""

    kind: str
    lo: Optional[float] = None
    hi: Optional[float] = None
    lo_open: bool = False
    hi_open: bool = False
    choices: Tuple[str, ...] = ()
    none_ok: bool = False
    int_ok: bool = False
    help: str = ""


_EPOCHS = Spec("int", lo=0, hi=100000, help="number of epochs")
_LAYERS = Spec("int-tuple", lo=1, hi=100000, help="layer sizes, e.g. 100,50")
_RULES = ("ggki", "ki", "otsu", "kmeans")

SPECS = {
    # analyse / regions
    "window": Spec("int", lo=1, hi=101, help="odd sample window side"),
    "n_segments": Spec("int", lo=1, hi=10 ** 8, none_ok=True, help="SLIC segments"),
    "compactness": Spec("float", lo=0, lo_open=True, none_ok=True, help="SLIC compactness"),
    # the networks
    "branch": _LAYERS,
    "head": _LAYERS,
    "alpha": Spec("float", lo=0, help="weight of the clustering loss"),
    "learning_rate": Spec("float", lo=0, lo_open=True, help="fine-tuning learning rate"),
    "momentum": Spec("float", lo=0, hi=1, hi_open=True, help="momentum"),
    "sparsity_target": Spec("float", lo=0, hi=1, lo_open=True, hi_open=True,
                            help="sparsity target rho"),
    "non_sparsity_penalty": Spec("float", lo=0, help="sparsity penalty weight"),
    "batchsize": Spec("int", lo=1, hi=10 ** 7, help="mini-batch size"),
    "sae_epochs": _EPOCHS,
    "pretrain_epochs": _EPOCHS,
    "finetune_epochs": _EPOCHS,
    "sae_learning_rate": Spec("float", lo=0, lo_open=True, help="autoencoder learning rate"),
    "pretrain_learning_rate": Spec("float", lo=0, lo_open=True, none_ok=True,
                                   help="pre-training learning rate"),
    "threshold_statistic": Spec("choice", choices=("squared", "magnitude")),
    "count_init": Spec("choice", choices=("kmeans",), int_ok=True, lo=1),
    "recompute_flags": Spec("bool"),
    "network_sparsity_penalty": Spec("float", lo=0, help="sparsity penalty weight of the network"),
    "pretrain_branch": Spec("bool"),
    "change_space": Spec("choice", choices=("features", "input")),
    "input_scaling": Spec("choice", choices=("standardise", "none")),
    "engine": Spec("choice", choices=("numpy", "numba"), none_ok=True),
    # peers
    "scale": Spec("bool"),
    "sectors": Spec("choice", choices=("valleys", "kmeans")),
    "n_bins": Spec("int", lo=2, hi=100000, help="bins of the direction histogram"),
    "block_size": Spec("int", lo=1, hi=101, help="block side h"),
    "variance": Spec("float", lo=0, hi=1, lo_open=True, help="explained variance share"),
    "n_components": Spec("int", lo=1, hi=10 ** 6, none_ok=True),
    "max_iter": Spec("int", lo=1, hi=10 ** 6),
    "tol": Spec("float", lo=0),
}

_REGION = ("window", "n_segments", "compactness")
_NET = ("branch", "head", "alpha", "learning_rate", "momentum", "sparsity_target",
        "non_sparsity_penalty", "batchsize", "sae_epochs", "pretrain_epochs",
        "finetune_epochs", "sae_learning_rate", "pretrain_learning_rate",
        "threshold_statistic", "count_init", "recompute_flags", "network_sparsity_penalty",
        "pretrain_branch", "change_space", "input_scaling", "engine")
_SAE = ("branch", "sae_epochs", "sae_learning_rate", "momentum", "non_sparsity_penalty",
        "sparsity_target", "batchsize", "threshold_statistic", "change_space", "input_scaling", "engine")

#: The ``-p`` keys each method accepts.
METHOD_PARAMS = {
    "drlnet2": _REGION + _NET,
    "drlnet1": _REGION + _NET,
    "sae-km": _REGION + _SAE,
    "raw-km": _REGION + ("threshold_statistic",),
    "cva": ("scale",),
    "c2va": ("scale", "sectors", "n_bins"),
    "pca-kmeans": ("block_size", "variance", "n_components"),
    "mad": (),
    "irmad": ("max_iter", "tol"),
    "isfa": ("max_iter", "tol"),
}


class ParamError(ValueError):
    """A bad ``-p`` value (one line naming the key, the value and the fix)."""


def _range_text(spec):
    lo = "" if spec.lo is None else f"{'>' if spec.lo_open else '>='} {spec.lo:g}"
    hi = "" if spec.hi is None else f"{'<' if spec.hi_open else '<='} {spec.hi:g}"
    return " and ".join(t for t in (lo, hi) if t)


def _in_range(v, spec):
    if spec.lo is not None and (v < spec.lo or (spec.lo_open and v == spec.lo)):
        return False
    if spec.hi is not None and (v > spec.hi or (spec.hi_open and v == spec.hi)):
        return False
    return True


def _int(text):
    t = text.strip()
    if t.lstrip("+-").isdigit():
        return int(t)
    raise ValueError(t)


def _expected(spec):
    kinds = {"int": "an integer", "float": "a number", "bool": "true or false",
             "int-tuple": "a comma-separated list of integers, e.g. 100,50"}
    if spec.kind == "choice":
        opts = list(spec.choices) + (["an integer"] if spec.int_ok else [])
        text = "one of " + ", ".join(opts)
    else:
        text = kinds[spec.kind]
    rng = _range_text(spec) if spec.kind in ("int", "float", "int-tuple") else ""
    if rng:
        text += (" each" if spec.kind == "int-tuple" else "") + f" {rng}"
    if spec.none_ok:
        text += " (or none for the default)"
    return text


def parse_value(key, text, spec):
    """Value of ``-p key=text`` under ``spec``; raise ParamError if bad."""
    t = text.strip()
    low = t.lower()

    def bad():
        return ParamError(f"-p {key}={text}: expected {_expected(spec)}")

    if spec.none_ok and low == "none":
        return None
    try:
        if spec.kind == "bool":
            if low in ("true", "yes", "1", "on"):
                return True
            if low in ("false", "no", "0", "off"):
                return False
            raise bad()
        if spec.kind == "int":
            v = _int(t)
        elif spec.kind == "float":
            v = float(t)
            if not math.isfinite(v):
                raise bad()
        elif spec.kind == "int-tuple":
            parts = [p for p in t.replace(" ", "").split(",") if p != ""]
            v = tuple(_int(p) for p in parts)
            if not v or not all(_in_range(x, spec) for x in v):
                raise bad()
            return v
        else:                                          # choice
            if low in spec.choices:
                return low
            if spec.int_ok:
                v = _int(t)
            else:
                raise bad()
    except ValueError:
        raise bad() from None
    if not _in_range(v, spec):
        raise bad()
    if key == "window" and v % 2 == 0:
        raise ParamError(f"-p window={text}: expected an odd integer (a window with a centre "
                         "pixel), e.g. 3")
    return v


def parse_params(method, pairs):
    """Check ``[(key, text), ...]`` against ``method``'s parameters; return a dict.

    Raises
    ------
    ParamError
        Unknown key (the message lists the method's true keys) or a bad value.
    """
    accepted = METHOD_PARAMS[method]
    out = {}
    for key, text in pairs:
        if key not in accepted:
            keys = ", ".join(sorted(accepted)) or "none"
            raise ParamError(f"unknown parameter '{key}' for --method {method}; "
                             f"accepted: {keys}")
        out[key] = parse_value(key, text, SPECS[key])
    return out
