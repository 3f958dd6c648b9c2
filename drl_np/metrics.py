"""Accuracy of change maps against ground truth, over labelled pixels only.

* :func:`confusion_matrix`, :func:`overall_accuracy`, :func:`cohen_kappa`:
  the generic measures.
* :func:`change_analysis_accuracy`: ACC and kappa of a change-analysis (CDA)
  map whose change types 1..K are arbitrary cluster labels, matched one-to-one
  to the ground-truth change classes by the assignment that maximises
  agreement (Hungarian method, ``docs/method.md`` §9).
* :func:`change_type_accuracy`: the same matching, with the per-type
  producer's and user's accuracy and the class-by-type confusion matrix.
* :func:`binary_change_accuracy`: OA, kappa, F1, precision, recall, false
  and missed alarms after collapsing every change type to "changed".

A pixel is *labelled* when its ground truth differs from ``ignore`` and the
optional ``mask`` is True there; every measure is taken over labelled pixels
only. A negative prediction (``-1``: masked by the analysis) on a labelled
pixel counts as wrong.

Every measure also takes ``counts``: how many pixels each entry stands for.
A map too large to hold is scored from the counts of its distinct (truth,
prediction) pairs, accumulated tile by tile, with the same result as from
the whole arrays (``drl-np run --gt`` on whole scenes).
"""
import numbers
from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._validation import InputError

__all__ = [
    "confusion_matrix", "overall_accuracy", "cohen_kappa",
    "change_analysis_accuracy", "change_type_accuracy", "binary_change_accuracy",
    "ChangeAnalysisScore", "ChangeTypeScore", "BinaryChangeScore", "PairCounts",
]

#: Label standing for "no matching ground-truth class" after relabelling.
NO_MATCH = -1


# -- validation ----------------------------------------------------------------
def _check_labels(labels, name):
    """Return ``labels`` as an int64 array; reject non-integral values."""
    arr = np.asarray(labels)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"{name} has dtype {arr.dtype}; expected an integer label map")
    if arr.ndim == 0:
        raise InputError(f"{name} is a scalar; expected a label map such as an (M, N) array")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise InputError(
                f"{name} holds non-integer values; expected integer class labels "
                "(round the map or cast it with .astype(int))")
    return arr.astype(np.int64)


def _labelled(y_true, y_pred, ignore, mask, counts=None):
    """Validate a (truth, prediction, ignore, mask, counts) call; return the
    labelled values of both as flat int64 arrays of one length and their
    counts (None for one pixel each); at least one labelled pixel."""
    y_true = _check_labels(y_true, "y_true")
    y_pred = _check_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise InputError(
            f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            "pass the ground truth and the map on the same pixel grid")
    keep = np.ones(y_true.shape, dtype=bool)
    if ignore is not None:
        if isinstance(ignore, bool) or not isinstance(ignore, numbers.Integral):
            raise InputError(f"ignore must be an integer label or None, got {ignore!r}")
        keep &= y_true != int(ignore)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != y_true.shape:
            raise InputError(
                f"mask has shape {mask.shape} but the maps have shape {y_true.shape}; "
                "pass a boolean mask of the same shape (True = evaluate)")
        if mask.dtype != bool:
            raise InputError(f"mask has dtype {mask.dtype}; expected bool (True = evaluate)")
        keep &= mask
    if counts is not None:
        counts = _check_labels(counts, "counts")
        if counts.shape != y_true.shape:
            raise InputError(f"counts has shape {counts.shape} but the maps have shape "
                             f"{y_true.shape}; pass one pixel count per entry")
        if np.any(counts < 0):
            raise InputError("counts holds negative values; pass pixel counts (>= 0)")
        keep &= counts > 0
    if not keep.any():
        raise InputError(
            f"no labelled pixel to evaluate: every pixel is ignore={ignore!r} or "
            "outside mask; check the ignore value and the mask")
    return y_true[keep], y_pred[keep], (None if counts is None else counts[keep])


def _count(selected, w):
    """Pixels where ``selected`` (n,) bool holds, each entry weighing ``w`` (n,) or 1."""
    return int(np.count_nonzero(selected)) if w is None else int(w[selected].sum())


def _types_of(pred, counts):
    """The positive labels (sorted) a prediction holds, entries of count 0 aside."""
    pred = np.asarray(pred)
    if counts is not None:
        pred = pred[np.asarray(counts) > 0]
    types = np.unique(pred)
    return types[types > 0].astype(np.int64)


class PairCounts:
    """Pixel counts of the distinct (truth, prediction) label pairs of a map,
    added window by window, for scoring a map too large to hold.

    Examples
    --------
    >>> pc = PairCounts()
    >>> pc.add([0, 1, 1], [0, 2, 2]); pc.add([1], [1])
    >>> t, p, n = pc.arrays()
    >>> binary_change_accuracy(t, p, counts=n).oa
    1.0
    """

    def __init__(self):
        self._counts = {}

    def add(self, y_true, y_pred):
        """Count the pixels of one window: ``y_true``, ``y_pred`` of one shape."""
        t = np.asarray(y_true).astype(np.int64).ravel()
        p = np.asarray(y_pred).astype(np.int64).ravel()
        if t.shape != p.shape:
            raise InputError(f"y_true has {t.size} pixels but y_pred {p.size}; pass one window of both")
        pairs, n = np.unique(np.stack([t, p]), axis=1, return_counts=True)   # (2, U), (U,)
        for a, b, c in zip(pairs[0].tolist(), pairs[1].tolist(), n.tolist()):
            self._counts[a, b] = self._counts.get((a, b), 0) + c

    def arrays(self):
        """``(y_true, y_pred, counts)``: flat int64 arrays, one entry per
        distinct pair, for any measure's ``counts``."""
        keys = sorted(self._counts)
        t = np.array([k[0] for k in keys], dtype=np.int64)
        p = np.array([k[1] for k in keys], dtype=np.int64)
        return t, p, np.array([self._counts[k] for k in keys], dtype=np.int64)


# -- generic measures ------------------------------------------------------------
def confusion_matrix(y_true, y_pred, labels=None, ignore=255, mask=None, counts=None):
    """Confusion matrix of a label map against ground truth over labelled pixels.

    Parameters
    ----------
    y_true : array_like of int, shape (M, N) (any shape)
        Ground-truth labels; pixels equal to ``ignore`` are not evaluated.
    y_pred : array_like of int, same shape as ``y_true``
        Predicted labels.
    labels : sequence of int, optional
        Row and column order. Default: the sorted union of the labels that
        occur in ``y_true`` and ``y_pred`` on labelled pixels. Every labelled
        value must be in ``labels``.
    ignore : int or None, default 255
        Ground-truth value of unlabelled pixels; ``None`` evaluates all.
    mask : ndarray of bool, same shape as ``y_true``, optional
        Evaluate only where True (combined with ``ignore``).
    counts : array_like of int, same shape as ``y_true``, optional
        Pixels each entry stands for (default: one each).

    Returns
    -------
    cm : ndarray of int64, shape (L, L)
        ``cm[i, j]`` = number of labelled pixels of true label ``labels[i]``
        predicted as ``labels[j]`` (rows: truth, columns: prediction).

    Raises
    ------
    InputError
        On shape mismatch, non-integer labels, no labelled pixel, or a
        labelled value missing from ``labels``.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1, 255], [0, 1, 1, 1])
    array([[1, 1],
           [0, 1]])
    """
    t, p, w = _labelled(y_true, y_pred, ignore, mask, counts)
    if labels is None:
        labels = np.union1d(t, p)
    else:
        labels = _check_labels(labels, "labels").ravel()
        if np.unique(labels).size != labels.size:
            raise InputError(f"labels {labels.tolist()} has repeated values; list each label once")
        missing = np.setdiff1d(np.union1d(t, p), labels)
        if missing.size:
            raise InputError(
                f"labels {labels.tolist()} lacks {missing.tolist()}, which occur on "
                "labelled pixels; add them or leave labels=None")
    return _confusion(t, p, labels, w)


def _confusion(t, p, labels, w=None):
    """Confusion counts of flat label arrays ``t``, ``p`` (n,) whose values
    are all in ``labels`` (L,), each entry weighing ``w`` (n,) or 1; returns
    (L, L) int64, rows = truth."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    ti = order[np.searchsorted(sorted_labels, t)]  # (n,) row index
    pi = order[np.searchsorted(sorted_labels, p)]  # (n,) column index
    n_labels = labels.size
    counts = np.bincount(ti * n_labels + pi, weights=w, minlength=n_labels * n_labels)
    return counts.reshape(n_labels, n_labels).astype(np.int64)  # (L, L); float sums < 2^53 are exact


def _check_cm(cm):
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise InputError(f"cm has shape {cm.shape}; expected a square (L, L) confusion matrix")
    if not np.issubdtype(cm.dtype, np.number) or np.any(cm < 0) or not np.all(np.isfinite(cm)):
        raise InputError("cm must hold non-negative finite counts")
    if cm.sum() == 0:
        raise InputError("cm counts no pixel; evaluate at least one labelled pixel")
    return cm


def overall_accuracy(cm):
    """Fraction of pixels on the diagonal of a confusion matrix.

    Parameters
    ----------
    cm : array_like, shape (L, L)
        Confusion counts (rows: truth, columns: prediction).

    Returns
    -------
    float
        :math:`p_o = \\operatorname{tr}(C) / n` in [0, 1].

    Raises
    ------
    InputError
        If ``cm`` is not square, has negative counts or counts no pixel.

    Examples
    --------
    >>> overall_accuracy([[3, 1], [0, 4]])
    0.875
    """
    cm = _check_cm(cm)
    return _overall_accuracy(cm)


def _overall_accuracy(cm):
    return float(np.trace(cm) / cm.sum())


def cohen_kappa(cm):
    """Cohen's kappa of a confusion matrix.

    Parameters
    ----------
    cm : array_like, shape (L, L)
        Confusion counts (rows: truth, columns: prediction).

    Returns
    -------
    float
        Kappa in [-1, 1].

    Raises
    ------
    InputError
        If ``cm`` is not square, has negative counts or counts no pixel.

    Notes
    -----
    With row sums :math:`r_k`, column sums :math:`c_k` and :math:`n` pixels,

    .. math::

        p_o = \\frac{\\operatorname{tr} C}{n}, \\quad
        p_e = \\frac{\\sum_k r_k c_k}{n^2}, \\quad
        \\kappa = \\frac{p_o - p_e}{1 - p_e}
                = \\frac{n \\operatorname{tr} C - \\sum_k r_k c_k}{n^2 - \\sum_k r_k c_k}.

    Degenerate case: :math:`p_e = 1` only when truth and prediction are the
    same single class on every pixel, so :math:`p_o = 1` too; kappa is then
    defined as 1.0 (perfect agreement) instead of 0/0. Counts are summed as
    exact integers when they are integral, so no division warning arises.

    References
    ----------
    J. Cohen, "A coefficient of agreement for nominal scales",
    Educational and Psychological Measurement 20(1), 1960.

    Examples
    --------
    >>> round(cohen_kappa([[3, 1], [0, 4]]), 4)
    0.75
    >>> cohen_kappa([[5]])
    1.0
    """
    cm = _check_cm(cm)
    return _cohen_kappa(cm)


def _cohen_kappa(cm):
    if np.issubdtype(cm.dtype, np.integer) or np.all(cm == np.round(cm)):
        cm = [[int(v) for v in row] for row in np.asarray(cm).tolist()]
        n = sum(map(sum, cm))
        rows = [sum(row) for row in cm]
        cols = [sum(col) for col in zip(*cm)]
        agree = sum(cm[k][k] for k in range(len(cm)))
    else:
        n = float(cm.sum())
        rows, cols = cm.sum(axis=1).tolist(), cm.sum(axis=0).tolist()
        agree = float(np.trace(cm))
    chance = sum(r * c for r, c in zip(rows, cols))
    denom = n * n - chance
    if denom == 0:  # p_e == 1, hence p_o == 1
        return 1.0 if agree == n else 0.0
    return float((n * agree - chance) / denom)


# -- change analysis ---------------------------------------------------------------
@dataclass
class ChangeAnalysisScore:
    """Accuracy of a change-analysis map after matching its change types.

    Attributes
    ----------
    acc : float
        Overall accuracy in [0, 1] (the paper's ACC is this times 100).
    kappa : float
        Cohen's kappa of ``confusion``.
    matching : dict of int to int or None
        Predicted change type -> ground-truth change class it was matched
        to, or ``None`` if unmatched (its pixels count as wrong).
    confusion : ndarray of int64, shape (L, L)
        Confusion matrix after relabelling (rows: truth, columns: relabelled
        prediction), in the order of ``labels``.
    labels : ndarray of int64, shape (L,)
        Labels of the rows/columns: ``-1`` (no matching class: unmatched types
        and pixels masked in the prediction; its row is empty), 0, then the
        ground-truth change classes.
    n_pixels : int
        Number of labelled pixels evaluated.
    n_unpredicted : int
        Labelled pixels masked in the prediction (``pred < 0``), counted wrong.
    """

    acc: float
    kappa: float
    matching: Dict[int, Optional[int]]
    confusion: np.ndarray
    labels: np.ndarray
    n_pixels: int
    n_unpredicted: int = 0

    def as_dict(self):
        """JSON-friendly dict: plain floats, ints, lists; matching keys as str."""
        return {
            "acc": float(self.acc),
            "kappa": float(self.kappa),
            "matching": {str(k): (None if v is None else int(v))
                         for k, v in self.matching.items()},
            "confusion": np.asarray(self.confusion).astype(int).tolist(),
            "labels": [int(v) for v in self.labels],
            "n_pixels": int(self.n_pixels),
            "n_unpredicted": int(self.n_unpredicted),
        }


def change_analysis_accuracy(gt, pred, ignore=255, mask=None, counts=None):
    """ACC and kappa of a change-analysis map with change types matched to
    ground-truth classes by the assignment that maximises agreement.

    Parameters
    ----------
    gt : array_like of int, shape (M, N)
        Ground truth: 0 unchanged, other values change classes, ``ignore``
        unlabelled.
    pred : array_like of int, shape (M, N)
        Change-analysis map: 0 unchanged, 1..K change types (arbitrary
        cluster labels), negative = masked by the analysis.
    ignore : int or None, default 255
        Ground-truth value of unlabelled pixels.
    mask : ndarray of bool, shape (M, N), optional
        Evaluate only where True (combined with ``ignore``).
    counts : array_like of int, shape (M, N), optional
        Pixels each entry stands for (default: one each); see the module notes.

    Returns
    -------
    ChangeAnalysisScore
        ``acc``, ``kappa``, ``matching``, ``confusion`` (after relabelling),
        ``labels``, ``n_pixels``, ``n_unpredicted``; ``.as_dict()`` for JSON.

    Raises
    ------
    InputError
        On shape mismatch, non-integer labels or no labelled pixel.

    Notes
    -----
    Let :math:`A_{kc}` count labelled pixels of predicted type :math:`k > 0`
    and true change class :math:`c > 0`. The one-to-one matching
    :math:`\\pi` maximises :math:`\\sum_k A_{k\\pi(k)}`
    (:func:`scipy.optimize.linear_sum_assignment`). Unchanged (0) stays 0.
    Every predicted type that occurs anywhere in ``pred`` is in ``matching``;
    when there are more types than classes the extra types map to ``None``
    and are relabelled ``-1``, which matches no class, so their pixels count
    as wrong; when there are fewer, the unmatched true classes are simply
    never predicted. A pixel masked in the prediction (``pred < 0``) but
    labelled in the ground truth also counts as wrong (label ``-1``).
    ACC and kappa are then :func:`overall_accuracy` and :func:`cohen_kappa`
    of the relabelled confusion matrix.

    Examples
    --------
    >>> s = change_analysis_accuracy([0, 1, 1, 2], [0, 2, 2, 1])
    >>> s.acc, s.matching
    (1.0, {1: 2, 2: 1})
    """
    t, p, w = _labelled(gt, pred, ignore, mask, counts)
    return _change_analysis_accuracy(t, p, _types_of(pred, counts), w)


def _change_analysis_accuracy(t, p, types, w=None):
    """Matching and scores on clean flat arrays ``t``, ``p`` (n,) with
    entry counts ``w`` (n,) or None, and the predicted change types
    ``types`` (K,) (sorted, positive)."""
    matching, relabel = _match_types(t, p, types, w)
    labels = np.union1d(np.union1d(t, relabel), [0])
    cm = _confusion(t, relabel, labels, w)
    return ChangeAnalysisScore(
        acc=_overall_accuracy(cm), kappa=_cohen_kappa(cm), matching=matching,
        confusion=cm, labels=labels, n_pixels=int(t.size if w is None else w.sum()),
        n_unpredicted=_count(p < 0, w))


def _match_types(t, p, types, w=None):
    """Hungarian matching of predicted ``types`` (K,) to the change classes
    of ``t``; returns ``(matching, relabel)`` with ``relabel`` (n,) the
    prediction in class labels (0 kept, unmatched and masked -> ``NO_MATCH``)."""
    classes = np.unique(t[t > 0])  # (C,) true change classes
    matching = {int(k): None for k in types}
    relabel = np.full(p.shape, NO_MATCH, dtype=np.int64)  # (n,)
    relabel[p == 0] = 0
    if types.size and classes.size:
        is_type = p > 0
        position = np.searchsorted(types, p[is_type])  # (n_changed,) index into types
        both = t[is_type] > 0
        class_of = np.searchsorted(classes, t[is_type][both])  # index into classes
        overlap = np.bincount(position[both] * classes.size + class_of,
                              weights=None if w is None else w[is_type][both],
                              minlength=types.size * classes.size).astype(np.int64)
        overlap = overlap.reshape(types.size, classes.size)  # (K, C) type vs class
        rows, cols = linear_sum_assignment(overlap, maximize=True)
        mapped = np.full(types.size, NO_MATCH, dtype=np.int64)  # (K,) type -> class
        mapped[rows] = classes[cols]
        for k, c in zip(types[rows], classes[cols]):
            matching[int(k)] = int(c)
        relabel[is_type] = mapped[position]
    return matching, relabel


# -- per-type accuracy ------------------------------------------------------------------
def _ratio_or_none(a, b):
    return float(a / b) if b else None


@dataclass
class ChangeTypeScore:
    """Per-type accuracy of a change-analysis map after matching its types.

    Attributes
    ----------
    acc, kappa : float
        As :class:`ChangeAnalysisScore` (same matching).
    matching : dict of int to int or None
        Predicted change type -> matched ground-truth class (``None``: none).
    classes : ndarray of int64, shape (C + 1,)
        Reference labels of the rows of ``confusion``: 0, then the change
        classes in increasing order.
    types : ndarray of int64, shape (T,)
        Predicted labels of the columns: 0, the type matched to each class in
        row order, the unmatched types in increasing order, and ``-1``
        (masked in the map) when labelled pixels are masked.
    confusion : ndarray of int64, shape (C + 1, T)
        ``confusion[i, j]`` = labelled pixels of class ``classes[i]``
        predicted as ``types[j]``; matched pairs lie on the diagonal.
    producers : dict of int to float or None
        Producer's accuracy per reference class: the share of its pixels
        predicted as its matched type (0 unchanged -> type 0); 0.0 for a
        class no type matched; ``None`` for a class with no labelled pixel.
    users : dict of int to float or None
        User's accuracy per predicted type (0 included): the share of its
        labelled pixels that are of its matched class; 0.0 for an unmatched
        type; ``None`` for a type with no labelled pixel.
    n_pixels, n_unpredicted : int
        Labelled pixels evaluated, and those masked in the map.
    """

    acc: float
    kappa: float
    matching: Dict[int, Optional[int]]
    classes: np.ndarray
    types: np.ndarray
    confusion: np.ndarray
    producers: Dict[int, Optional[float]]
    users: Dict[int, Optional[float]]
    n_pixels: int
    n_unpredicted: int = 0

    def rows(self):
        """One dict per type (0 first) with ``type``, ``class`` (matched,
        ``None`` if none), ``pixels`` (labelled pixels of the type),
        ``producers`` and ``users``; then one per unmatched class with
        ``type`` ``None`` and 0 pixels."""
        matched = {0: 0, **self.matching}
        pixels = dict(zip(self.types.tolist(), self.confusion.sum(axis=0).tolist()))
        out = []
        for k in sorted(int(v) for v in self.types if v >= 0):
            c = matched.get(k)
            out.append({"type": k, "class": c, "pixels": int(pixels[k]),
                        "producers": None if c is None else self.producers[c],
                        "users": self.users[k]})
        taken = set(matched.values())
        for c in self.classes.tolist():
            if c not in taken:
                out.append({"type": None, "class": int(c), "pixels": 0,
                            "producers": self.producers[c], "users": None})
        return out

    def to_dict(self):
        """JSON-friendly dict: plain floats (``None`` where undefined), ints,
        lists; dict keys as str; ``rows`` as :meth:`rows`."""
        return {
            "acc": float(self.acc),
            "kappa": float(self.kappa),
            "matching": {str(k): (None if v is None else int(v))
                         for k, v in self.matching.items()},
            "classes": [int(v) for v in self.classes],
            "types": [int(v) for v in self.types],
            "confusion": np.asarray(self.confusion).astype(int).tolist(),
            "producers": {str(k): v for k, v in self.producers.items()},
            "users": {str(k): v for k, v in self.users.items()},
            "rows": self.rows(),
            "n_pixels": int(self.n_pixels),
            "n_unpredicted": int(self.n_unpredicted),
        }


def change_type_accuracy(gt, pred, ignore=255, mask=None, counts=None):
    """Producer's and user's accuracy of each change type, with the
    class-by-type confusion matrix, after matching types to classes.

    Parameters
    ----------
    gt : array_like of int, shape (M, N)
        Ground truth: 0 unchanged, other values change classes, ``ignore``
        unlabelled.
    pred : array_like of int, shape (M, N)
        Change-analysis map: 0 unchanged, 1..K change types, negative =
        masked by the analysis (counted wrong).
    ignore : int or None, default 255
        Ground-truth value of unlabelled pixels.
    mask : ndarray of bool, shape (M, N), optional
        Evaluate only where True (combined with ``ignore``).
    counts : array_like of int, shape (M, N), optional
        Pixels each entry stands for (default: one each); see the module notes.

    Returns
    -------
    ChangeTypeScore
        ``.to_dict()`` for JSON, ``.rows()`` for a table.

    Raises
    ------
    InputError
        On shape mismatch, non-integer labels or no labelled pixel.

    Notes
    -----
    The matching is that of :func:`change_analysis_accuracy` (0 -> 0, each
    type to at most one class, maximising agreement). With ``C`` the
    confusion matrix (rows: classes, columns: types, matched pairs on the
    diagonal), class :math:`i` matched to type :math:`j`:

    .. math::

        PA_i = \\frac{C_{ij}}{\\sum_{j'} C_{ij'}}, \\qquad
        UA_j = \\frac{C_{ij}}{\\sum_{i'} C_{i'j}}.

    Examples
    --------
    >>> s = change_type_accuracy([0, 0, 1, 1, 2], [0, 2, 2, 2, 1])
    >>> s.matching, s.producers, s.users
    ({1: 2, 2: 1}, {0: 0.5, 1: 1.0, 2: 1.0}, {0: 1.0, 2: 0.6666666666666666, 1: 1.0})
    """
    t, p, w = _labelled(gt, pred, ignore, mask, counts)
    return _change_type_accuracy(t, p, _types_of(pred, counts), w)


def _change_type_accuracy(t, p, types, w=None):
    """:func:`change_type_accuracy` on clean flat arrays ``t``, ``p`` (n,)
    with entry counts ``w`` (n,) or None."""
    whole = _change_analysis_accuracy(t, p, types, w)
    matching = whole.matching
    classes = np.concatenate(([0], np.unique(t[t > 0]))).astype(np.int64)   # (C + 1,)
    type_of = {0: 0, **{c: k for k, c in matching.items() if c is not None}}
    cols = [type_of[c] for c in classes.tolist() if c in type_of]
    cols += sorted(k for k, c in matching.items() if c is None)
    p = np.where(p < 0, NO_MATCH, p)
    if np.any(p == NO_MATCH):
        cols.append(NO_MATCH)
    cols = np.array(cols, dtype=np.int64)                                     # (T,)
    order = np.argsort(cols)
    ci = np.searchsorted(classes, t)                                          # (n,) row index
    pj = order[np.searchsorted(cols[order], p)]                               # (n,) column index
    cm = np.bincount(ci * cols.size + pj, weights=w, minlength=classes.size * cols.size)
    cm = cm.reshape(classes.size, cols.size).astype(np.int64)                 # (C + 1, T)
    row_of = {int(c): i for i, c in enumerate(classes)}
    col_of = {int(k): j for j, k in enumerate(cols)}
    producers = {}
    for c, i in row_of.items():
        k = type_of.get(c)
        hit = cm[i, col_of[k]] if k is not None else 0
        producers[c] = _ratio_or_none(hit, cm[i].sum())
    users = {}
    for k, j in col_of.items():
        if k == NO_MATCH:
            continue
        c = 0 if k == 0 else matching[k]
        hit = cm[row_of[c], j] if c is not None else 0
        users[k] = _ratio_or_none(hit, cm[:, j].sum())
    return ChangeTypeScore(
        acc=whole.acc, kappa=whole.kappa, matching=matching, classes=classes, types=cols,
        confusion=cm, producers=producers, users=users, n_pixels=whole.n_pixels,
        n_unpredicted=whole.n_unpredicted)


# -- binary change detection ------------------------------------------------------------
@dataclass
class BinaryChangeScore:
    """Accuracy of the changed / unchanged split.

    Attributes
    ----------
    oa, kappa : float
        Overall accuracy in [0, 1] and Cohen's kappa.
    precision, recall, f1 : float
        Of the class "changed": TP / (TP + FP), TP / (TP + FN) and their
        harmonic mean; 0.0 when a denominator is 0 (scikit-learn's
        ``zero_division=0``).
    false_alarms : int
        FP, the count of unchanged pixels reported changed.
    missed_alarms : int
        FN, the count of changed pixels reported unchanged.
    false_alarm_rate : float
        FP / (FP + TN), the share of truly unchanged pixels reported changed
        (0.0 if there is none).
    missed_alarm_rate : float
        FN / (TP + FN), the share of truly changed pixels missed (0.0 if none).
    tp, tn : int
        True positives (changed) and true negatives (unchanged).
    n_pixels : int
        Labelled pixels evaluated.
    n_unpredicted : int
        Labelled pixels masked in the prediction, counted wrong (as FN if
        truly changed, as FP if truly unchanged).
    confusion : ndarray of int64, shape (2, 2)
        ``[[TN, FP], [FN, TP]]`` (rows: truth unchanged/changed).
    """

    oa: float
    kappa: float
    f1: float
    precision: float
    recall: float
    false_alarms: int
    missed_alarms: int
    false_alarm_rate: float
    missed_alarm_rate: float
    tp: int
    tn: int
    n_pixels: int
    n_unpredicted: int
    confusion: np.ndarray = field(repr=False)

    def as_dict(self):
        """JSON-friendly dict of plain floats, ints and lists."""
        out = {}
        for name, value in self.__dict__.items():
            if name == "confusion":
                out[name] = np.asarray(value).astype(int).tolist()
            elif isinstance(value, (int, np.integer)):
                out[name] = int(value)
            else:
                out[name] = float(value)
        return out


def binary_change_accuracy(gt, pred, ignore=255, mask=None, counts=None):
    """OA, kappa, F1, precision, recall, false and missed alarms of a change
    map, every change type collapsed to "changed".

    Parameters
    ----------
    gt : array_like of int, shape (M, N)
        Ground truth: 0 unchanged, > 0 changed (any class), ``ignore``
        unlabelled.
    pred : array_like of int or bool, shape (M, N)
        Change map or change-analysis map: 0 unchanged, > 0 changed,
        negative = masked by the analysis (counted wrong).
    ignore : int or None, default 255
        Ground-truth value of unlabelled pixels.
    mask : ndarray of bool, shape (M, N), optional
        Evaluate only where True (combined with ``ignore``).
    counts : array_like of int, shape (M, N), optional
        Pixels each entry stands for (default: one each); see the module notes.

    Returns
    -------
    BinaryChangeScore
        See its attributes; ``.as_dict()`` for JSON.

    Raises
    ------
    InputError
        On shape mismatch, non-integer labels or no labelled pixel.

    Notes
    -----
    With TP, TN, FP (false alarms) and FN (missed alarms) counted over
    labelled pixels: OA = (TP + TN) / n; precision = TP / (TP + FP);
    recall = TP / (TP + FN); F1 = 2 TP / (2 TP + FP + FN); kappa as in
    :func:`cohen_kappa` of ``[[TN, FP], [FN, TP]]``. A labelled pixel masked
    in the prediction is counted as the opposite of its truth.

    Examples
    --------
    >>> s = binary_change_accuracy([0, 0, 1, 2], [0, 3, 1, 0])
    >>> s.oa, s.false_alarms, s.missed_alarms, s.f1
    (0.5, 1, 1, 0.5)
    """
    t, p, w = _labelled(gt, pred, ignore, mask, counts)
    return _binary_change_accuracy(t > 0, p, w)


def _binary_change_accuracy(changed, p, w=None):
    """Scores on clean flat arrays: truth ``changed`` (n,) bool, prediction
    ``p`` (n,), entry counts ``w`` (n,) or None."""
    unpredicted = p < 0
    said_changed = np.where(unpredicted, ~changed, p > 0)  # masked -> wrong
    tp = _count(changed & said_changed, w)
    fn = _count(changed & ~said_changed, w)
    fp = _count(~changed & said_changed, w)
    tn = _count(~changed & ~said_changed, w)
    cm = np.array([[tn, fp], [fn, tp]], dtype=np.int64)

    def ratio(a, b):
        return float(a / b) if b else 0.0

    return BinaryChangeScore(
        oa=_overall_accuracy(cm), kappa=_cohen_kappa(cm),
        f1=ratio(2 * tp, 2 * tp + fp + fn), precision=ratio(tp, tp + fp),
        recall=ratio(tp, tp + fn), false_alarms=fp, missed_alarms=fn,
        false_alarm_rate=ratio(fp, fp + tn), missed_alarm_rate=ratio(fn, fn + tp),
        tp=tp, tn=tn, n_pixels=tp + fn + fp + tn,
        n_unpredicted=_count(unpredicted, w), confusion=cm)
