"""The toolbox's activation functions (``util/sigm.m``, ``util/tanh_opt.m``)
and their derivatives written in terms of the activation, as ``nnbp`` uses
them.

The expressions keep the toolbox's order of operations, so that the mirror
rounds as the original does.
"""
import numpy as np

__all__ = ["sigm", "tanh_opt", "sigm_derivative", "tanh_opt_derivative", "HIDDEN_ACTIVATIONS",
           "OUTPUTS"]

# the hidden-unit activations and output units nnsetup/nnff know
HIDDEN_ACTIVATIONS = ("sigm", "tanh_opt")
OUTPUTS = ("sigm", "linear", "softmax")

# LeCun's "optimal" tanh constants (Efficient BackProp, 1998), as tanh_opt.m.
TANH_OPT_A = 1.7159
TANH_OPT_B = 2 / 3


def sigm(P):
    """Logistic sigmoid ``1 ./ (1 + exp(-P))`` (``util/sigm.m``)."""
    return 1.0 / (1.0 + np.exp(-P))


def tanh_opt(A):
    """Scaled tanh ``1.7159 * tanh(2/3 .* A)`` (``util/tanh_opt.m``)."""
    return TANH_OPT_A * np.tanh(TANH_OPT_B * A)


def sigm_derivative(a):
    """d sigm / dP given the activation ``a = sigm(P)``: ``a .* (1 - a)``."""
    return a * (1.0 - a)


def tanh_opt_derivative(a):
    """d tanh_opt / dA given ``a = tanh_opt(A)``, written as nnbp does:
    ``1.7159 * 2/3 * (1 - 1/(1.7159)^2 * a.^2)``."""
    return TANH_OPT_A * 2 / 3 * (1.0 - 1.0 / TANH_OPT_A**2 * a**2)


ACTIVATIONS = {"sigm": sigm, "tanh_opt": tanh_opt}
DERIVATIVES = {"sigm": sigm_derivative, "tanh_opt": tanh_opt_derivative}
