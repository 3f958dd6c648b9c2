"""Choice of the engine that runs nntrain's epochs.

``numpy`` is the readable mirror (:func:`drl_np.toolbox.nn._numpy_epoch`);
``numba`` is the fused kernel of :mod:`drl_np.toolbox._numba`, which runs a
whole epoch in compiled code and is tested equal to the NumPy twin.
"""
import logging

from .._validation import InputError

ENGINES = ("numpy", "numba")


def numba_supports(nn):
    """Whether the Numba kernel handles ``nn``'s configuration."""
    try:
        from . import _numba
    except ImportError:  # the kernel is optional: fall back to NumPy
        return False
    return _numba.supports(nn)


_COMPILE_NOTED = False


def epoch_function(nn, engine=None):
    """The function ``(nn, x, y, kk, batchsize) -> L`` that runs one epoch.

    ``engine=None`` picks the fastest engine that supports the configuration.
    """
    from .nn import _numpy_epoch
    if engine is None:
        engine = "numba" if numba_supports(nn) else "numpy"
    if engine == "numpy":
        return _numpy_epoch
    if engine == "numba":
        if not numba_supports(nn):
            raise InputError(
                "engine='numba' does not support this network's configuration; "
                "use engine='numpy' (or engine=None to choose automatically)")
        global _COMPILE_NOTED
        if not _COMPILE_NOTED:
            _COMPILE_NOTED = True
            logging.getLogger("drl_np").info(
                "first use of the Numba kernels in this process: loading them (compiling "
                "them on the very first run takes about half a minute)")
        from ._numba import numba_epoch
        return numba_epoch
    raise InputError(f"engine must be one of {ENGINES} or None, got {engine!r}")
