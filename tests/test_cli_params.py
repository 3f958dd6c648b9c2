"""The -p spec table names exactly each method's parameters, and every
default passes its own spec."""
import inspect

import pytest

from drl_np import api
from drl_np._cli_params import METHOD_PARAMS, SPECS, ParamError, parse_params, parse_value
from drl_np.baselines import RawKM, SAEKM
from drl_np.peers import _OPTIONS
from drl_np.recurrent import DRLnet

# set by the command line's own options or fixed by the method
OWN_OPTIONS = {"schedule", "variant", "n_types", "random_state", "threshold", "unit", "scaling",
               "self"}
_REGION = {n: p.default for n, p in inspect.signature(api.analyse).parameters.items()
           if n in ("window", "n_segments", "compactness")}


def _signature(cls):
    return {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items()
            if n not in OWN_OPTIONS}


@pytest.mark.parametrize("method,cls", [("drlnet2", DRLnet), ("drlnet1", DRLnet),
                                        ("sae-km", SAEKM), ("raw-km", RawKM)])
def test_region_methods_match_the_estimator_signatures(method, cls):
    expected = {**_signature(cls), **_REGION}
    assert set(METHOD_PARAMS[method]) == set(expected)
    for name, default in expected.items():
        text = ",".join(map(str, default)) if isinstance(default, tuple) else str(default)
        assert parse_value(name, text, SPECS[name]) == default, name


@pytest.mark.parametrize("method", sorted(_OPTIONS))
def test_peer_methods_match_detect_changes_options(method):
    assert set(METHOD_PARAMS[method]) == _OPTIONS[method]


def test_every_method_has_its_keys():
    from drl_np.methods import METHODS

    assert set(METHOD_PARAMS) == set(METHODS)


def test_values_parsed_and_checked():
    assert parse_params("drlnet2", [("branch", "64,32"), ("recompute_flags", "no"),
                                    ("pretrain_learning_rate", "none"),
                                    ("count_init", "3")]) == {
        "branch": (64, 32), "recompute_flags": False, "pretrain_learning_rate": None,
        "count_init": 3}
    with pytest.raises(ParamError, match="accepted: max_iter, tol"):
        parse_params("irmad", [("block_size", "3")])
    with pytest.raises(ParamError, match="variance=1.5: expected a number > 0 and <= 1"):
        parse_params("pca-kmeans", [("variance", "1.5")])
