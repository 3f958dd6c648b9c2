"""Named configurations of the region methods (DRLnet2/1, SAE+KM, Raw+KM).

``preset="default"`` is what drl_np recommends on real pairs: the estimators'
own defaults and the front end of :data:`FRONT_END`. ``preset="paper"`` is
the DRLnet paper's configuration exactly as drl_np first implemented it
(joint min-max scaling, the centre window of each region as its sample and
its change, every region one vote, GGKI on the squared distance of Eq. 2
between the features g(x), the sparsity penalty on every layer, the
network fed the scaled samples as they are, the paper's learning rate
throughout): one switch away, pinned by a test.
Every entry is a named **choice** of ``docs/fidelity.md`` with its
measured effect. A parameter given explicitly always wins over the preset.
"""
__all__ = ["PRESETS", "FRONT_END", "preset_parameters"]

PRESETS = ("default", "paper")

#: the analysis-level front end of each preset (arguments of ``analyse``)
FRONT_END = {
    "default": {"scaling": "auto", "region_statistic": "pixels", "region_sample": "mean",
                "region_weight": "pixels"},
    "paper": {"scaling": "joint", "region_statistic": "centre", "region_sample": "centre",
              "region_weight": "none"},
}

#: estimator parameters that the paper preset sets (the rest are shared)
_PAPER_ESTIMATOR = {
    "threshold_statistic": "squared",
    "network_sparsity_penalty": 0.1,
    "change_space": "features",
    "input_scaling": "none",
    "learning_rate": 0.005,
}


def preset_parameters(preset, accepted):
    """The estimator parameters of ``preset`` among the ``accepted`` names."""
    if preset == "default":
        return {}
    return {k: v for k, v in _PAPER_ESTIMATOR.items() if k in accepted}
