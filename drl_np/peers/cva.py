"""Change vector analysis (CVA): magnitude and direction of the change vector.

The bands of each date are standardised (zero mean, unit variance over the
valid pixels) so that a band's units and the radiometric offset between the
dates do not drive the magnitude; then the change vector of a pixel is
``d = z2 - z1`` and its intensity is ``||d||``.
"""
import numpy as np

__all__ = ["standardise", "cva", "cva_direction"]


def standardise(x):
    """Per-band z-scores of ``x`` (P, B): mean 0, population std 1 per column.

    A constant band (std 0) is returned as zeros.
    """
    mean = x.mean(axis=0)                       # (B,)
    std = x.std(axis=0)                         # (B,)
    std = np.where(std > 0, std, 1.0)
    return (x - mean) / std


def cva(x1, x2, scale=True):
    """Change vectors and their magnitude for valid pixels.

    Parameters
    ----------
    x1, x2 : ndarray, shape (P, B)
        The two dates, one row per valid pixel.
    scale : bool, default True
        Standardise each band of each date before differencing.

    Returns
    -------
    magnitude : ndarray, shape (P,)
        ``||x2 - x1||`` (Euclidean, of the scaled bands when ``scale``).
    diff : ndarray, shape (P, B)
        The change vectors ``x2 - x1``.

    Notes
    -----
    Bovolo & Bruzzone (2007) write the change vector as
    :math:`\\mathbf{d} = \\mathbf{x}_2 - \\mathbf{x}_1` with magnitude
    :math:`\\rho = \\sqrt{\\sum_b d_b^2}` and direction given by its angle(s);
    see :func:`cva_direction`.

    Examples
    --------
    >>> m, d = cva(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), scale=False)
    >>> m
    array([5.])
    """
    if scale:
        x1, x2 = standardise(x1), standardise(x2)
    diff = x2 - x1                               # (P, B)
    return np.sqrt(np.einsum("pb,pb->p", diff, diff)), diff


def cva_direction(diff):
    """Direction of change vectors ``diff`` (P, B) as hyperspherical angles.

    Returns
    -------
    ndarray, shape (P, B - 1)
        For B = 2 the single column is the polar angle ``atan2(d2, d1)`` in
        (-pi, pi]. For more bands, column ``k`` is
        ``atan2(||d[k+1:]||, d[k])`` in [0, pi], except the last,
        ``atan2(d[B-1], d[B-2])`` in (-pi, pi] (the usual hyperspherical
        coordinates). A zero vector gets angles 0.
    """
    b = diff.shape[1]
    if b < 2:
        return np.zeros((diff.shape[0], 0))
    tail = np.sqrt(np.cumsum((diff * diff)[:, ::-1], axis=1)[:, ::-1])  # (P, B): ||d[k:]||
    angles = np.arctan2(tail[:, 1:b - 1], diff[:, :b - 2])              # (P, B - 2)
    last = np.arctan2(diff[:, b - 1], diff[:, b - 2])[:, None]         # (P, 1)
    return np.concatenate((angles, last), axis=1)
