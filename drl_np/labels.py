"""Ground-truth encodings: read the conventions of real change masks right.

Change-detection ground truth comes in several encodings; :func:`decode_labels`
turns any of them into the one the metrics use (0 unchanged, 1..C change
classes, :data:`IGNORE` unlabelled) and says which one it read.

===============  ==========================================================
``0-1``          0 unchanged, 1 changed
``0-255``        0 unchanged, 255 changed (a binary mask saved as an image)
``1-2``          1 unchanged, 2 changed, 0 no data (OSCD's ``*-cm.tif``)
``0-1-255``      0 unchanged, 1 changed, 255 unlabelled (the .npz pairs)
``multiclass``   0 unchanged, 1..C change classes, 255 unlabelled
===============  ==========================================================

``auto`` picks by the values present: only 0 and 1 → ``0-1``; only 0 and
255 → ``0-255``; only 0, 1 and 2 with more 1 than 0 (unchanged is the
majority in every change mask) → ``1-2``; only 0, 1 and 255 → ``0-1-255``;
otherwise ``multiclass``. Negative values are always unlabelled.
"""
import numpy as np

from ._validation import InputError

__all__ = ["ENCODINGS", "IGNORE", "decode_counts", "decode_labels", "detect_encoding"]

IGNORE = 255
ENCODINGS = ("auto", "0-1", "0-255", "1-2", "0-1-255", "multiclass")

_TEXT = {
    "0-1": "0/1 (0 unchanged, 1 changed)",
    "0-255": "0/255 (0 unchanged, 255 changed)",
    "1-2": "1/2 (1 unchanged, 2 changed, 0 no data; OSCD)",
    "0-1-255": "0/1/255 (0 unchanged, 1 changed, 255 unlabelled)",
    "multiclass": "multi-class (0 unchanged, 1..C change classes, 255 unlabelled)",
}


def detect_encoding(values, counts):
    """The encoding ``auto`` reads for distinct ``values`` and their ``counts``."""
    u = set(int(v) for v in values)
    n = dict(zip((int(v) for v in values), (int(c) for c in counts)))
    if u <= {0, 1}:
        return "0-1"
    if u <= {0, 255}:
        return "0-255"
    if u <= {0, 1, 2} and 2 in u and n.get(1, 0) > n.get(0, 0):
        return "1-2"
    if u <= {0, 1, 255}:
        return "0-1-255"
    return "multiclass"


def decode_labels(labels, encoding="auto", ignore=None):
    """Ground truth in the metrics' convention, and how it was read.

    Parameters
    ----------
    labels : ndarray of int, shape (M, N)
    encoding : str, default "auto"
        One of :data:`ENCODINGS`.
    ignore : int, optional
        A further value meaning unlabelled (``--ignore``), applied first.

    Returns
    -------
    gt : ndarray of int64, shape (M, N)
        0 unchanged, 1..C change classes, 255 unlabelled.
    text : str
        The encoding read, for the report and the console.

    Raises
    ------
    InputError
        Unknown encoding, values the encoding does not have, or no labelled pixel.

    Examples
    --------
    >>> gt, text = decode_labels(np.array([[0, 255], [0, 0]]))
    >>> gt.tolist(), text.split()[0]
    ([[0, 1], [0, 0]], '0/255')
    >>> decode_labels(np.array([[1, 2], [1, 0]]))[0].tolist()
    [[0, 1], [0, 255]]
    """
    if encoding not in ENCODINGS:
        raise InputError(f"ground-truth encoding {encoding!r} is unknown; use one of "
                         f"{', '.join(ENCODINGS)}")
    lab = np.asarray(labels).astype(np.int64)
    unlabelled = lab < 0
    if ignore is not None:
        unlabelled |= lab == ignore
    values, counts = np.unique(lab[~unlabelled], return_counts=True)
    chosen = detect_encoding(values, counts) if encoding == "auto" else encoding
    allowed = {"0-1": {0, 1}, "0-255": {0, 255}, "1-2": {0, 1, 2},
               "0-1-255": {0, 1, 255}}.get(chosen)
    extra = sorted(set(values.tolist()) - allowed) if allowed is not None else \
        sorted(v for v in values.tolist() if v > IGNORE)
    if extra:
        raise InputError(f"ground truth has value {extra[0]}, which the {chosen} encoding "
                         "does not have; choose the right one with --gt-encoding "
                         f"({', '.join(ENCODINGS[1:])}) or mark it with --ignore {extra[0]}")
    out = np.full(lab.shape, IGNORE, dtype=np.int64)
    ok = ~unlabelled
    if chosen == "0-1":
        out[ok] = lab[ok]
    elif chosen == "0-255":
        out[ok] = (lab[ok] == 255).astype(np.int64)
    elif chosen == "1-2":
        sel = ok & (lab > 0)
        out[sel] = lab[sel] - 1
    else:                                   # 0-1-255, multiclass: 255 is unlabelled
        out[ok] = lab[ok]
    if not (out != IGNORE).any():
        raise InputError(f"ground truth has no labelled pixel when read as {_TEXT[chosen]}; "
                         "check the file, --gt-encoding and --ignore")
    text = _TEXT[chosen] + (" [auto-detected]" if encoding == "auto" else "")
    if ignore is not None:
        text += f", {ignore} ignored"
    return out, text


def decode_counts(values, counts, encoding="auto", ignore=None):
    """:func:`decode_labels` for a label image known by its histogram.

    Parameters
    ----------
    values : ndarray of int, shape (V,)
        The distinct raw values of the image.
    counts : ndarray of int, shape (V,)
        How many pixels hold each value (``auto`` reads the encoding from them).
    encoding, ignore
        As :func:`decode_labels`.

    Returns
    -------
    decoded : ndarray of int64, shape (V,)
        The label of each raw value: what :func:`decode_labels` of the whole
        image gives its pixels.
    text : str
        The encoding read.

    Examples
    --------
    >>> decode_counts(np.array([0, 1, 2]), np.array([5, 90, 5]))[0].tolist()
    [255, 0, 1]
    """
    values, counts = np.asarray(values, np.int64), np.asarray(counts, np.int64)
    if encoding == "auto":
        labelled = values >= 0
        if ignore is not None:
            labelled &= values != ignore
        chosen = detect_encoding(values[labelled], counts[labelled])
        decoded, text = decode_labels(values, chosen, ignore)
        return decoded, text.replace(_TEXT[chosen], _TEXT[chosen] + " [auto-detected]", 1)
    return decode_labels(values, encoding, ignore)
