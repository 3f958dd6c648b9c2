"""The Numba engine of nntrain: one compiled call runs a whole epoch.

The kernel :func:`_epoch_kernel` fuses what :func:`drl_np.toolbox.nn._numpy_epoch`
(its NumPy twin, tested equal in ``tests/test_toolbox_numba.py``) does per
minibatch: gather the rows ``kk``, input zero-mask, ``nnff`` (dropout masks,
running average ``p``), ``nnbp`` and ``nnapplygrads``, with the small matrix
products written as loops. Results agree with the NumPy engine to rounding
(summation order), not bit for bit; there is no ``fastmath``.

Data layout (fixed types, so ``cache=True`` compiles once per machine):

* the weights of all layers are packed, row-major, into one flat float64
  buffer ``w_flat`` with ``w_off[i]:w_off[i + 1]`` holding ``W[i]`` of shape
  (size[i+1], size[i] + 1); ``vw_flat`` likewise; ``p_flat[p_off[i]:p_off[i + 1]]``
  is ``p[i]`` (``p[0]`` is empty);
* the random draws of the epoch come from one ``rng.uniform(total)`` call,
  in the order the NumPy engine draws them: per minibatch the input mask
  ``rand(batchsize, size[0])`` (if ``input_zero_masked_fraction != 0``), then
  one ``rand(batchsize, size[i])`` per hidden layer (if ``dropout_fraction > 0``).
  ``rand`` fills column-major, so entry (r, c) is ``draws[offset + c * batchsize + r]``.
"""
import numba
import numpy as np

from .activations import TANH_OPT_A, TANH_OPT_B
from .nn import HIDDEN_ACTIVATIONS, OUTPUTS

__all__ = ["supports", "numba_epoch"]

_ACTIVATION_CODE = {"sigm": 0, "tanh_opt": 1}
_OUTPUT_CODE = {"sigm": 0, "linear": 1, "softmax": 2}
# tanh_opt's derivative as nnbp writes it: 1.7159 * 2/3 * (1 - 1/1.7159^2 * a.^2)
_TANH_D1 = TANH_OPT_A * 2 / 3
_TANH_D2 = 1.0 / TANH_OPT_A**2
# most doubles drawn ahead of one kernel call (32 MB); bigger epochs are split
_MAX_DRAWS_PER_CALL = 1 << 22


def supports(nn):
    """Whether :func:`numba_epoch` handles ``nn``'s configuration.

    Every configuration the NumPy engine trains: sigm or tanh_opt hidden
    units; sigm, linear or softmax output; sparsity, L2, momentum (0 too),
    input masking and dropout. Not dropout with ``testing=True`` (the NumPy
    engine's nnbp fails there too).
    """
    if nn.activation_function not in HIDDEN_ACTIVATIONS or nn.output not in OUTPUTS:
        return False
    if nn.testing and nn.dropout_fraction > 0:
        return False
    if len(nn.W) != nn.n - 1 or len(nn.vW) != nn.n - 1 or len(nn.p) != nn.n:
        return False
    for i in range(nn.n - 1):
        shape = (nn.size[i + 1], nn.size[i] + 1)
        if np.shape(nn.W[i]) != shape or np.shape(nn.vW[i]) != shape:
            return False
    return all(np.shape(nn.p[i]) == (nn.size[i],) for i in range(1, nn.n))


def numba_epoch(nn, train_x, train_y, kk, batchsize):
    """One epoch of nntrain in compiled code; the twin of ``_numpy_epoch``.

    Parameters
    ----------
    nn : NN
        Updated in place: ``W``, ``vW``, ``p`` (new arrays) and ``L`` (the
        last minibatch's loss). ``a``, ``e``, ``dW`` and ``dropout_mask`` are
        not set. The epoch's masks are drawn from ``nn.rng``.
    train_x : ndarray of float, shape (m, size[0])
    train_y : ndarray of float64, shape (m, size[-1])
    kk : ndarray of int, shape (m,)
        This epoch's permutation (0-based).
    batchsize : int
        Divides ``m``.

    Returns
    -------
    L : ndarray, shape (m // batchsize,)
        The loss of every minibatch, before its update.
    """
    size = np.asarray(nn.size, dtype=np.int64)
    n = size.shape[0]
    x = np.ascontiguousarray(train_x, dtype=np.float64)
    y = np.ascontiguousarray(train_y, dtype=np.float64)
    kk = np.ascontiguousarray(kk, dtype=np.int64)
    batchsize = int(batchsize)
    numbatches = x.shape[0] // batchsize
    w_off = np.zeros(n, dtype=np.int64)
    w_off[1:] = np.cumsum(size[1:] * (size[:-1] + 1))
    p_off = np.zeros(n + 1, dtype=np.int64)
    p_off[2:] = np.cumsum(size[1:])
    w_flat = np.concatenate([np.asarray(w, np.float64).ravel() for w in nn.W])
    vw_flat = np.concatenate([np.asarray(v, np.float64).ravel() for v in nn.vW])
    p_flat = np.concatenate([np.asarray(nn.p[i], np.float64).ravel() for i in range(1, n)])

    mask_input = nn.input_zero_masked_fraction != 0
    dropout = nn.dropout_fraction > 0 and not nn.testing
    draws_per_batch = batchsize * ((int(size[0]) if mask_input else 0)
                                   + (int(size[1:-1].sum()) if dropout else 0))
    per_call = numbatches if draws_per_batch == 0 else max(1, _MAX_DRAWS_PER_CALL // draws_per_batch)
    L = np.zeros(numbatches)
    for b0 in range(0, numbatches, per_call):
        b1 = min(numbatches, b0 + per_call)
        draws = nn.rng.uniform((b1 - b0) * draws_per_batch)   # this chunk's masks, in draw order
        L[b0:b1] = _epoch_kernel(
            x, y, kk, b0, b1, batchsize, size, w_flat, vw_flat, w_off, p_flat, p_off, draws,
            _ACTIVATION_CODE[nn.activation_function], _OUTPUT_CODE[nn.output],
            float(nn.learning_rate), float(nn.momentum), float(nn.weight_penalty_l2),
            float(nn.non_sparsity_penalty), float(nn.sparsity_target),
            float(nn.input_zero_masked_fraction), float(nn.dropout_fraction),
            bool(mask_input), bool(dropout))
    nn.W = [w_flat[w_off[i]:w_off[i + 1]].reshape(size[i + 1], size[i] + 1).copy() for i in range(n - 1)]
    nn.vW = [vw_flat[w_off[i]:w_off[i + 1]].reshape(size[i + 1], size[i] + 1).copy() for i in range(n - 1)]
    nn.p = [np.zeros(0)] + [p_flat[p_off[i]:p_off[i + 1]].copy() for i in range(1, n)]
    if numbatches:
        nn.L = float(L[-1])
    return L


@numba.njit(cache=True)
def _epoch_kernel(x, y, kk, b0, b1, bs, size, w_flat, vw_flat, w_off, p_flat, p_off, draws,
                  act, out, lr, momentum, l2, beta, rho, in_frac, drop_frac,
                  mask_input, dropout):
    """Minibatches ``b0 .. b1 - 1`` of an epoch; returns their losses (b1 - b0,).

    Per minibatch, as ``_numpy_epoch``: ``a[0] = [1, x[kk] .* mask]``;
    ``a[i] = [1, f(a[i-1] W[i-1]') .* dropout]`` and
    ``p[i] = 0.99 p[i] + 0.01 mean(a[i])``; the output; the loss;
    ``d[i] = (d[i+1] W[i] + beta (-rho / p + (1 - rho) / (1 - p))) .* f'(a[i]) .* dropout``
    (Bishop 5.56); ``dW[i] = d[i+1]' a[i] / m``; ``W <- W - momentum-step of
    lr (dW + l2 [0, W(:, 2:)])``. ``w_flat``, ``vw_flat`` and ``p_flat`` are
    updated in place.
    """
    n = size.shape[0]
    nout = size[n - 1]
    # views of the packed weights, and a transposed copy for the forward pass
    W = [w_flat[w_off[i]:w_off[i + 1]].reshape((size[i + 1], size[i] + 1)) for i in range(n - 1)]
    vW = [vw_flat[w_off[i]:w_off[i + 1]].reshape((size[i + 1], size[i] + 1)) for i in range(n - 1)]
    WT = [np.ascontiguousarray(W[i].T) for i in range(n - 1)]             # (size[i] + 1, size[i+1])
    p = [p_flat[p_off[i]:p_off[i + 1]] for i in range(n)]
    a = [np.empty((bs, size[i] + 1)) for i in range(n)]                 # a[n-1][:, 0] unused
    d = [np.empty((bs, size[i])) for i in range(n)]                     # deltas, no bias column
    sparsity = [np.zeros(size[i]) for i in range(n)]
    grad_row = np.empty(int(size.max()) + 1)
    for i in range(n - 1):
        a[i][:, 0] = 1.0
    draws_per_batch = 0
    if mask_input:
        draws_per_batch += bs * size[0]
    if dropout:
        for i in range(1, n - 1):
            draws_per_batch += bs * size[i]
    L = np.zeros(b1 - b0)
    for l in range(b0, b1):
        base = (l - b0) * draws_per_batch
        # -- the batch and its input zero-mask ------------------------------
        for r in range(bs):
            row = kk[l * bs + r]
            for k in range(size[0]):
                v = x[row, k]
                if mask_input:
                    v = v * (1.0 if draws[base + k * bs + r] > in_frac else 0.0)
                a[0][r, k + 1] = v
        if mask_input:
            base += bs * size[0]
        # -- nnff -------------------------------------------------------------
        drop_off = base
        for i in range(1, n):
            _affine(a[i - 1], WT[i - 1], a[i])                           # a[i][:, 1:] = a[i-1] W[i-1]'
            if i == n - 1:
                break
            a_i = a[i]
            for r in range(bs):
                for j in range(1, size[i] + 1):
                    if act == 0:
                        a_i[r, j] = 1.0 / (1.0 + np.exp(-a_i[r, j]))
                    else:
                        a_i[r, j] = TANH_OPT_A * np.tanh(TANH_OPT_B * a_i[r, j])
            if dropout:
                for r in range(bs):
                    for j in range(size[i]):
                        keep = 1.0 if draws[drop_off + j * bs + r] > drop_frac else 0.0
                        a_i[r, j + 1] = a_i[r, j + 1] * keep
                drop_off += bs * size[i]
            if beta > 0:
                # running exponential average, for the sparsity penalty of nnbp
                p_i = p[i]
                for j in range(size[i]):
                    s = 0.0
                    for r in range(bs):
                        s += a_i[r, j + 1]
                    p_i[j] = 0.99 * p_i[j] + 0.01 * (s / bs)
                    sparsity[i][j] = beta * (-rho / p_i[j] + (1 - rho) / (1 - p_i[j]))
        L[l - b0] = _output_and_loss(a[n - 1], y, kk, l * bs, out, d[n - 1])
        # -- nnbp and nnapplygrads, from the top layer down -------------------
        for i in range(n - 2, -1, -1):
            if i >= 1:
                _hidden_delta(d[i + 1], W[i], a[i], sparsity[i], beta > 0, act, d[i])
                if dropout:
                    off = base
                    for h in range(1, i):
                        off += bs * size[h]
                    for r in range(bs):
                        for j in range(size[i]):
                            d[i][r, j] = d[i][r, j] * (1.0 if draws[off + j * bs + r] > drop_frac else 0.0)
            _apply_gradient(d[i + 1], a[i], W[i], WT[i], vW[i], grad_row, lr, momentum, l2)
    return L


@numba.njit(cache=True)
def _affine(a_prev, WT, a_next):
    """``a_next[:, 1:] = a_prev @ WT`` for a_prev (m, k), WT (k, n), a_next (m, 1 + n);
    each sum runs over k in order."""
    m, k_in = a_prev.shape
    n_out = WT.shape[1]
    for r in range(m):
        for j in range(n_out):
            a_next[r, j + 1] = 0.0
        for k in range(k_in):
            c = a_prev[r, k]
            for j in range(n_out):
                a_next[r, j + 1] += c * WT[k, j]


@numba.njit(cache=True)
def _output_and_loss(a_out, y, kk, start, out, d_out):
    """Output units on ``a_out[:, 1:]`` (pre-activations), the loss, and the
    output delta ``d_out`` = -e .* a .* (1 - a) (sigm) or -e (linear, softmax)
    with ``e = y[kk[start:start+m]] - a``. Returns the loss."""
    m = a_out.shape[0]
    nout = a_out.shape[1] - 1
    loss = 0.0
    for r in range(m):
        row = kk[start + r]
        if out == 2:  # softmax, shifted by the row maximum for stability
            zmax = a_out[r, 1]
            for j in range(2, nout + 1):
                zmax = max(zmax, a_out[r, j])
            total = 0.0
            for j in range(1, nout + 1):
                a_out[r, j] = np.exp(a_out[r, j] - zmax)
                total += a_out[r, j]
            for j in range(1, nout + 1):
                a_out[r, j] = a_out[r, j] / total
        elif out == 0:
            for j in range(1, nout + 1):
                a_out[r, j] = 1.0 / (1.0 + np.exp(-a_out[r, j]))
        for j in range(nout):
            aj = a_out[r, j + 1]
            e = y[row, j] - aj
            if out == 2:
                loss += y[row, j] * np.log(aj)
                d_out[r, j] = -e
            else:
                loss += e * e
                d_out[r, j] = -e * (aj * (1 - aj)) if out == 0 else -e
    if out == 2:
        return -loss / m
    return 0.5 * loss / m


@numba.njit(cache=True)
def _hidden_delta(d_next, W, a_i, sparsity, use_sparsity, act, d_i):
    """``d_i = (d_next @ W[:, 1:] + sparsity) .* f'(a_i[:, 1:])`` (Bishop 5.56)
    for d_next (m, n_out), W (n_out, 1 + n_in), d_i (m, n_in)."""
    m, n_next = d_next.shape
    n_in = d_i.shape[1]
    for r in range(m):
        for k in range(n_in):
            d_i[r, k] = 0.0
        for j in range(n_next):
            c = d_next[r, j]
            for k in range(n_in):
                d_i[r, k] += c * W[j, k + 1]
        for k in range(n_in):
            s = d_i[r, k] + sparsity[k] if use_sparsity else d_i[r, k]
            ak = a_i[r, k + 1]
            if act == 0:
                d_i[r, k] = s * (ak * (1.0 - ak))
            else:
                d_i[r, k] = s * (_TANH_D1 * (1.0 - _TANH_D2 * (ak * ak)))


@numba.njit(cache=True)
def _apply_gradient(d_next, a_i, W, WT, vW, grad_row, lr, momentum, l2):
    """nnbp's ``dW = d_next' a_i / m`` and nnapplygrads for one layer:
    ``g = lr (dW + l2 [0, W(:, 2:)])``; ``vW = momentum vW + g`` and
    ``W -= vW`` (or ``W -= g`` without momentum). Keeps ``WT = W'``."""
    m, n_out = d_next.shape
    n_in = a_i.shape[1]
    for j in range(n_out):
        for k in range(n_in):
            grad_row[k] = 0.0
        for r in range(m):
            c = d_next[r, j]
            for k in range(n_in):
                grad_row[k] += c * a_i[r, k]
        for k in range(n_in):
            g = grad_row[k] / m
            if l2 > 0 and k > 0:
                g = g + l2 * W[j, k]
            g = lr * g
            if momentum > 0:
                vW[j, k] = momentum * vW[j, k] + g
                g = vW[j, k]
            W[j, k] = W[j, k] - g
            WT[k, j] = W[j, k]
