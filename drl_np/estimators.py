"""The estimator of a region-based method, from its name, schedule and
parameters: the one place :func:`drl_np.analyse` and the whole-scene fit
(:func:`drl_np.scene.fit_scene`) build it."""
import inspect

from ._validation import InputError
from .baselines import RawKM, SAEKM
from .decision import check_statistic_space
from .presets import preset_parameters
from .recurrent import DRLnet

__all__ = ["make_estimator"]


def make_estimator(method, schedule, params, rng, preset="default", region_statistic=None):
    """The estimator of a region-based method: the preset's parameters, then
    the user's. With ``region_statistic`` the pair is checked before any
    work: ``'pixels'`` measures change between input pixels, which a
    feature-space statistic (``change_space='features'``) cannot read."""
    if method in ("drlnet2", "drlnet1"):
        cls, fixed = DRLnet, {"schedule": schedule, "variant": method}
    elif method == "sae-km":
        cls, fixed = SAEKM, {"n_types": schedule[-1]}
    else:
        cls, fixed = RawKM, {"n_types": schedule[-1]}
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise InputError(f"unknown parameter(s) {', '.join(unknown)} for method {method!r}; "
                         f"accepted: {', '.join(sorted(accepted - set(fixed) - {'random_state'}))}")
    chosen = {**preset_parameters(preset, accepted), **params}
    model = cls(**fixed, **chosen, random_state=rng)
    check_statistic_space(region_statistic, getattr(model, "change_space", "input"))
    return model
