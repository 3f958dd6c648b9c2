"""Octave's ``rand('state', s)`` random stream, so the toolbox mirror draws
exactly the numbers the original toolbox drew under GNU Octave.

Facts (``reference/dlt/README.md``): Octave seeds MT19937 with
``init_by_array([s])`` -- the seeding of Python's :func:`random.seed` for a
small non-negative integer -- and turns two 32-bit words into one double with
53-bit resolution, ``(a * 2**26 + b) / 2**53`` with ``a = u32 >> 5`` and
``b = u32 >> 6``, which is what NumPy's legacy ``RandomState.random_sample``
does. ``rand(m, n)`` fills its matrix column-major. ``randperm(n)`` draws
``n`` doubles ``r`` and Knuth-shuffles ``0..n-1``: for ``i = 0..n-1`` it swaps
entries ``i`` and ``i + floor(r[i] * (n - i))``.

So the stream is a NumPy ``RandomState`` whose MT19937 state is set to the
state Python's ``random.seed(s)`` produces. Every random draw of an analysis
comes from one such stream (house rule 3); seeds that third-party code needs
(scikit-learn's K-means, for instance) are drawn from it with
:meth:`OctaveRandom.draw_seed`.
"""
import numbers
import random

import numpy as np
from numba import njit

from ._validation import InputError

__all__ = ["OctaveRandom", "check_random_state"]

_MT_STATE_WORDS = 624


class OctaveRandom:
    """Octave's ``rand('state', seed)`` stream (MT19937, ``init_by_array``).

    Parameters
    ----------
    seed : int, default 0
        Non-negative integer below 2**32, as given to Octave's
        ``rand('state', seed)``.

    Examples
    --------
    >>> r = OctaveRandom(1)            # Octave: rand('state', 1)
    >>> r.rand(2, 2)                   # Octave: rand(2, 2), column-major
    array([[0.13436424, 0.76377462],
           [0.84743374, 0.25506903]])
    >>> r = OctaveRandom(1); r.randperm(5)   # Octave: randperm(5) - 1
    array([0, 4, 1, 3, 2])
    """

    def __init__(self, seed=0):
        if (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                or not 0 <= seed < 2**32):
            raise ValueError(
                f"seed must be an integer in [0, 2**32), got {seed!r}; "
                "pass e.g. OctaveRandom(0)")
        self.seed = int(seed)
        # Python's random.seed(s) runs init_by_array([s]), as Octave does.
        py_state = random.Random(self.seed).getstate()[1]
        key = np.array(py_state[:_MT_STATE_WORDS], dtype=np.uint32)
        self._mt = np.random.RandomState()
        self._mt.set_state(("MT19937", key, py_state[_MT_STATE_WORDS]))

    def __repr__(self):
        return f"OctaveRandom(seed={self.seed})"

    # -- draws ---------------------------------------------------------------
    def uniform(self, n):
        """The next ``n`` doubles of the stream, in draw order, shape (n,)."""
        return self._mt.random_sample(int(n))

    def rand(self, m, n):
        """Octave's ``rand(m, n)``: an (m, n) float64 array filled column-major."""
        m, n = int(m), int(n)
        draws = self._mt.random_sample(m * n)
        return np.ascontiguousarray(draws.reshape(n, m).T)  # (m, n)

    def randperm(self, n):
        """Octave's ``randperm(n) - 1``: a 0-based permutation, int64 (n,)."""
        r = self._mt.random_sample(int(n))
        return _knuth_shuffle_numba(r)

    def draw_seed(self):
        """An integer seed in [0, 2**31 - 1) for third-party code, from one draw."""
        return int(self._mt.random_sample() * (2**31 - 1))

    # -- state ---------------------------------------------------------------
    def get_state(self):
        """The stream's state, to be given back to :meth:`set_state`."""
        return self._mt.get_state()

    def set_state(self, state):
        """Restore a state returned by :meth:`get_state`."""
        self._mt.set_state(state)


def knuth_shuffle(r):
    """Octave's ``randperm`` shuffle of ``0..n-1`` driven by doubles ``r`` (n,).

    For ``i = 0..n-1`` swap entries ``i`` and ``i + floor(r[i] * (n - i))``.
    """
    n = r.shape[0]
    perm = np.arange(n, dtype=np.int64)
    jumps = (r * (n - np.arange(n))).astype(np.int64)  # floor, r >= 0
    for i in range(n):
        j = i + jumps[i]
        perm[i], perm[j] = perm[j], perm[i]
    return perm


@njit(cache=True)
def _knuth_shuffle_numba(r):
    """Compiled twin of :func:`knuth_shuffle` (tested equal): the swap loop
    costs 5 ms per 10,000-sample epoch in Python."""
    n = r.shape[0]
    perm = np.arange(n)
    for i in range(n):
        j = i + np.int64(r[i] * (n - i))
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp
    return perm


def check_random_state(random_state):
    """Turn ``random_state`` into an :class:`OctaveRandom` stream.

    Parameters
    ----------
    random_state : None, int, numpy RandomState or Generator, or OctaveRandom
        ``None`` seeds a new stream from fresh operating-system entropy (as
        scikit-learn does: not reproducible); an int in [0, 2**32) seeds a new
        stream; a NumPy generator gives the seed of a new stream from one draw;
        an :class:`OctaveRandom` is returned as is, so callers share it.

    Raises
    ------
    InputError
        For anything else, e.g. a negative seed.
    """
    if isinstance(random_state, OctaveRandom):
        return random_state
    if random_state is None:
        return OctaveRandom(int(np.random.SeedSequence().generate_state(1)[0]))
    if isinstance(random_state, np.random.RandomState):
        return OctaveRandom(int(random_state.randint(0, 2**32, dtype=np.uint64)))
    if isinstance(random_state, np.random.Generator):
        return OctaveRandom(int(random_state.integers(0, 2**32, dtype=np.uint64)))
    if (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
            and 0 <= random_state < 2**32):
        return OctaveRandom(int(random_state))
    raise InputError(
        "random_state must be None, an integer seed in [0, 2**32), a NumPy RandomState or "
        f"Generator, or an OctaveRandom, got {random_state!r}; e.g. random_state=0")
