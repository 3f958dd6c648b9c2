"""Checks shared by the public functions (house rule 2: public functions
validate, private ones compute on clean input).

Every check raises :class:`InputError` (a ``ValueError``) whose message is one
line naming the value, what was expected and the fix; the command line prints
that line and exits with status 2.
"""
import numbers

import numpy as np

__all__ = ["InputError", "check_choice", "check_image", "check_mask", "check_nodata", "check_pair",
           "check_positive_int", "check_sample_weight", "check_samples", "check_schedule", "valid_pixels"]


class InputError(ValueError):
    """A user error: bad input with a one-line message naming the fix."""


def check_image(image, name="image"):
    """Return ``image`` as a float64 (M, N, B) array; a 2-D image gets B = 1."""
    arr = np.asarray(image)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number)):
        raise InputError(f"{name} has dtype {arr.dtype}; expected a numeric array")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise InputError(
            f"{name} has shape {arr.shape}; expected (M, N) or (M, N, B) "
            "with bands last (use np.moveaxis to put the band axis last)")
    if arr.shape[0] < 1 or arr.shape[1] < 1 or arr.shape[2] < 1:
        raise InputError(f"{name} has shape {arr.shape}; it has no pixels")
    return arr.astype(np.float64, copy=False)


def check_pair(t1, t2):
    """Return both dates as float64 (M, N, B) arrays of one shape."""
    t1 = check_image(t1, "t1")
    t2 = check_image(t2, "t2")
    if t1.shape[:2] != t2.shape[:2]:
        raise InputError(
            f"the dates differ in size: t1 is {t1.shape[0]}x{t1.shape[1]}, "
            f"t2 is {t2.shape[0]}x{t2.shape[1]}; co-register and crop them "
            "to the same grid first")
    if t1.shape[2] != t2.shape[2]:
        raise InputError(
            f"the dates differ in band count: t1 has {t1.shape[2]}, t2 has "
            f"{t2.shape[2]}; select the same bands of both (--bands)")
    return t1, t2


def check_choice(value, choices, name):
    """``value`` if it is one of ``choices``, else InputError naming them."""
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_positive_int(value, name, minimum=1):
    """Return ``value`` as an int, at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_samples(x1, x2):
    """Return the sample pairs as C-contiguous float64 (n, d) arrays of one
    shape, free of NaN and inf."""
    x1 = np.ascontiguousarray(x1, dtype=np.float64)
    x2 = np.ascontiguousarray(x2, dtype=np.float64)
    if x1.ndim != 2 or x1.shape != x2.shape:
        raise InputError(f"x1 and x2 must be (n, d) arrays of one shape, got {x1.shape} and {x2.shape}")
    if not (np.isfinite(x1).all() and np.isfinite(x2).all()):
        raise InputError("samples contain NaN or inf; mask those pixels (mask= or nodata=) first")
    return x1, x2


def check_sample_weight(sample_weight, n):
    """None, or the weights as a float64 (n,) array: finite, non-negative,
    with a positive sum."""
    if sample_weight is None:
        return None
    w = np.ascontiguousarray(sample_weight, dtype=np.float64)
    if w.shape != (n,):
        raise InputError(f"sample_weight must hold one weight per sample, shape ({n},), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any() or not w.sum() > 0:
        raise InputError("sample_weight must be finite, non-negative and not all zero")
    return w


def check_schedule(schedule):
    """Return DRLnet's cluster schedule K0 > K1 > ... > KT as a tuple of ints."""
    try:
        values = tuple(schedule)
    except TypeError:
        raise InputError(f"schedule must be a sequence of cluster counts, got {schedule!r}; "
                         "e.g. 25,15,8,5") from None
    values = tuple(check_positive_int(k, "each schedule entry") for k in values)
    text = ",".join(map(str, values))
    if len(values) < 2:
        raise InputError(f"schedule {text} needs at least two cluster counts (K0 > ... > KT); "
                         "e.g. 25,15,8,5")
    if any(a <= b for a, b in zip(values, values[1:])):
        raise InputError(f"schedule {text} is not strictly decreasing; give cluster counts from "
                         "large to small, e.g. 25,15,8,5")
    return values


def check_mask(mask, shape):
    """Return ``mask`` as a bool (M, N) array (None stays None): True where a
    pixel may be used; a 0/1 numeric array is accepted."""
    if mask is None:
        return None
    arr = np.asarray(mask)
    if arr.shape != tuple(shape):
        raise InputError(
            f"mask has shape {arr.shape}; expected {tuple(shape)}, the "
            "images' (M, N), with True where a pixel may be used")
    if arr.dtype != bool:
        if not np.issubdtype(arr.dtype, np.number) or not np.isin(arr, (0, 1)).all():
            raise InputError(
                f"mask has dtype {arr.dtype} with values other than 0/1; "
                "pass a boolean array (True = usable pixel)")
        arr = arr.astype(bool)
    return arr


def check_nodata(nodata):
    """Return ``nodata`` as a float (None stays None)."""
    if nodata is None:
        return None
    if isinstance(nodata, bool) or not isinstance(nodata, numbers.Real):
        raise InputError(f"nodata must be a number or None, got {nodata!r}")
    return float(nodata)


def valid_pixels(t1, t2, mask=None, nodata=None):
    """Validity (M, N) of checked (M, N, B) dates: finite in every band of
    both, not ``nodata`` in any band, and in ``mask``."""
    valid = np.isfinite(t1).all(axis=2) & np.isfinite(t2).all(axis=2)
    if nodata is not None:
        valid &= ~((t1 == nodata).any(axis=2) | (t2 == nodata).any(axis=2))
    if mask is not None:
        valid &= mask
    return valid
