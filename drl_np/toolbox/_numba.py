"""The Numba engine of nntrain: one compiled call runs a whole epoch.

The kernel :func:`_epoch_kernel` fuses what :func:`drl_np.toolbox.nn._numpy_epoch`
(its NumPy twin, tested equal in ``tests/test_toolbox_numba.py``) does per
minibatch: gather the rows ``kk``, input zero-mask, ``nnff`` (dropout masks,
running average ``p``), ``nnbp`` and ``nnapplygrads``. The matrix products
are the loops of :mod:`._products` (at batch 10 they beat BLAS, whose call
and packing overhead dominates at these shapes), the sigmoids use the
vectorisable :func:`._exp.exp`, the element-wise steps are loops in the
NumPy engine's order of operations, and all buffers are allocated once per
call. There is no ``fastmath``; the kernels compile with
``error_model="numpy"`` (a division by zero gives inf/NaN, as in NumPy,
instead of raising, so that the loops have no exception branch and
vectorise). The two engines agree to a few units in the last place: the
products sum in another order than BLAS (with IEEE ``fma``), and
``exp``/``tanh`` may differ from NumPy's by an ulp.

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

from ._exp import exp
from ._products import gemm_nn, gemm_tn, transpose
from .activations import HIDDEN_ACTIVATIONS, OUTPUTS, TANH_OPT_A, TANH_OPT_B

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


@numba.njit(cache=True, error_model="numpy")
def _epoch_kernel(x, y, kk, b0, b1, bs, size, w_flat, vw_flat, w_off, p_flat, p_off, draws,
                  act, out, lr, momentum, l2, beta, rho, in_frac, drop_frac,
                  mask_input, dropout):
    """Minibatches ``b0 .. b1 - 1`` of an epoch; returns their losses (b1 - b0,).

    Per minibatch, as ``_numpy_epoch``: ``a[0] = [1, x[kk] .* mask]``;
    ``a[i] = [1, f(a[i-1] W[i-1]') .* dropout]`` and
    ``p[i] = 0.99 p[i] + 0.01 mean(a[i])``; the output and the loss;
    ``d[i] = (d[i+1] W[i] + beta (-rho / p + (1 - rho) / (1 - p))) .* f'(a[i]) .* dropout``
    (Bishop 5.56); ``dW[i] = d[i+1]' a[i] / m``; ``W <- W - step`` with the
    step ``lr (dW + l2 [0, W(:, 2:)])`` through the momentum ``vW``.
    ``w_flat``, ``vw_flat`` and ``p_flat`` are updated in place. The products
    are the loops of :mod:`._products` (``a W'`` reads the transposed copy
    ``WT``, refreshed after each update); all buffers are allocated once per
    call, none in the minibatch loop.
    """
    n = size.shape[0]
    # views of the packed parameters
    W = [w_flat[w_off[i]:w_off[i + 1]].reshape((size[i + 1], size[i] + 1)) for i in range(n - 1)]
    p = [p_flat[p_off[i]:p_off[i + 1]] for i in range(n)]
    WT = [np.empty((size[i] + 1, size[i + 1])) for i in range(n - 1)]   # W[i]', for a W'
    # work buffers, allocated once per call
    a = [np.empty((bs, size[i] + 1)) for i in range(n)]        # with the bias column; a[n-1] unused
    z = [np.empty((bs, size[i])) for i in range(n)]            # pre-activations; z[n-1] becomes the output
    d = [np.empty((bs, size[i])) for i in range(n)]            # deltas, bias column dropped
    t = [np.empty((bs, size[i])) for i in range(n)]            # (d[i+1] W[i])(:, 2:end)
    # d[i+1]' @ a[i] of every layer, packed as w_flat, so that nnapplygrads is
    # one pass over the flat buffers
    g_flat = np.empty(w_flat.shape[0])
    g = [g_flat[w_off[i]:w_off[i + 1]].reshape((size[i + 1], size[i] + 1)) for i in range(n - 1)]
    l2_flat = l2_per_weight(size[1:], size[:-1], w_off, l2)
    sparsity = [np.zeros(size[i]) for i in range(n)]
    for i in range(n - 1):
        a[i][:, 0] = 1.0
        transpose(W[i], WT[i])
    draws_per_batch = bs * size[0] if mask_input else 0
    if dropout:
        for i in range(1, n - 1):
            draws_per_batch += bs * size[i]
    L = np.zeros(b1 - b0)
    for l in range(b0, b1):
        base = (l - b0) * draws_per_batch
        # -- the batch and its input zero-mask ---------------------------------
        for r in range(bs):
            row = kk[l * bs + r]
            for k in range(size[0]):
                v = x[row, k]
                if mask_input:
                    v = v * (1.0 if draws[base + k * bs + r] > in_frac else 0.0)
                a[0][r, k + 1] = v
        if mask_input:
            base += bs * size[0]
        # -- nnff ----------------------------------------------------------------
        drop_off = base
        for i in range(1, n - 1):
            gemm_nn(a[i - 1], WT[i - 1], 0, z[i])                # (bs, size[i]) = a[i-1] W[i-1]'
            _hidden_activation(z[i], act, a[i])
            if dropout:
                _mask_columns(a[i], 1, draws, drop_off, drop_frac)
                drop_off += bs * size[i]
            if beta > 0:
                _update_running_mean(a[i], p[i], beta, rho, sparsity[i])
        gemm_nn(a[n - 2], WT[n - 2], 0, z[n - 1])                # (bs, size[-1])
        L[l - b0] = _output_and_loss(z[n - 1], y, kk, l * bs, out, d[n - 1])
        # -- nnbp, from the top layer down ---------------------------------------
        for i in range(n - 2, -1, -1):
            if i >= 1:
                gemm_nn(d[i + 1], W[i], 1, t[i])                 # (bs, size[i]); W is updated after the pass
                _hidden_delta(t[i], a[i], sparsity[i], beta > 0, act, d[i])
                if dropout:
                    off = base
                    for h in range(1, i):
                        off += bs * size[h]
                    _mask_columns(d[i], 0, draws, off, drop_frac)
            gemm_tn(d[i + 1], a[i], 0, g[i])                     # (size[i+1], 1 + size[i]) = d[i+1]' a[i]
        # -- nnapplygrads, then the transposed copies --------------------------
        apply_gradient(g_flat, bs, w_flat, vw_flat, lr, momentum, l2_flat, l2 > 0)
        for i in range(n - 1):
            transpose(W[i], WT[i])
    return L


@numba.njit(cache=True, error_model="numpy")
def _hidden_activation(z, act, a):
    """``a[:, 1:] = f(z)``: sigm ``1 / (1 + exp(-z))`` (act 0, with the
    vectorisable :func:`._exp.exp`) or tanh_opt ``1.7159 tanh(2/3 z)`` (act 1)."""
    m, k = z.shape
    for r in range(m):
        zr = z[r]
        ar = a[r, 1:]
        if act == 0:
            for j in range(k):
                ar[j] = 1.0 / (1.0 + exp(-zr[j]))
        else:
            for j in range(k):
                ar[j] = TANH_OPT_A * np.tanh(TANH_OPT_B * zr[j])


@numba.njit(cache=True, error_model="numpy")
def _mask_columns(arr, first, draws, offset, fraction):
    """``arr[:, first:] .*= rand(m, k) > fraction`` with the (m, k) draws read
    column-major from ``draws[offset:]``."""
    m = arr.shape[0]
    k = arr.shape[1] - first
    for r in range(m):
        for j in range(k):
            keep = 1.0 if draws[offset + j * m + r] > fraction else 0.0
            arr[r, j + first] = arr[r, j + first] * keep


@numba.njit(cache=True, error_model="numpy")
def _update_running_mean(a, p, beta, rho, sparsity):
    """``p = 0.99 p + 0.01 mean(a[:, 1:])`` and the sparsity term of nnbp,
    ``beta (-rho / p + (1 - rho) / (1 - p))`` (derivative of the KL penalty).
    The column sums run over the rows in order, one row at a time, so that
    the loop over the units vectorises. ``sparsity`` doubles as the sum."""
    m, k = a.shape
    s = sparsity
    s[:] = 0.0
    for r in range(m):
        ar = a[r, 1:]
        for j in range(k - 1):
            s[j] += ar[j]
    for j in range(k - 1):
        p[j] = 0.99 * p[j] + 0.01 * (s[j] / m)
        s[j] = beta * (-rho / p[j] + (1 - rho) / (1 - p[j]))


@numba.njit(cache=True, error_model="numpy")
def _output_and_loss(a_out, y, kk, start, out, d_out):
    """Output units applied in place to the pre-activations ``a_out`` (m, k),
    the loss, and the output delta ``d_out`` = -e .* a .* (1 - a) (sigm) or
    -e (linear; softmax with cross-entropy), ``e = y[kk[start:start+m]] - a``.
    Returns the loss ``1/2 sum(e^2) / m`` or ``-sum(y log a) / m`` (softmax)."""
    m, k = a_out.shape
    loss = 0.0
    for r in range(m):
        row = kk[start + r]
        if out == 2:  # softmax, shifted by the row maximum for stability
            zmax = a_out[r, 0]
            for j in range(1, k):
                zmax = max(zmax, a_out[r, j])
            total = 0.0
            for j in range(k):
                a_out[r, j] = np.exp(a_out[r, j] - zmax)
                total += a_out[r, j]
            for j in range(k):
                a_out[r, j] = a_out[r, j] / total
        elif out == 0:
            ar = a_out[r]
            for j in range(k):
                ar[j] = 1.0 / (1.0 + exp(-ar[j]))
        for j in range(k):
            aj = a_out[r, j]
            e = y[row, j] - aj
            if out == 2:
                loss += y[row, j] * np.log(aj)
                d_out[r, j] = -e
            elif out == 0:
                loss += e * e
                d_out[r, j] = -e * (aj * (1 - aj))
            else:
                loss += e * e
                d_out[r, j] = -e
    if out == 2:
        return -loss / m
    return 0.5 * loss / m


@numba.njit(cache=True, error_model="numpy")
def _hidden_delta(t, a, sparsity, use_sparsity, act, d):
    """``d = (t + sparsity) .* f'(a[:, 1:])`` with ``t = (d_next @ W)(:, 2:end)``
    (Bishop 5.56); f' is ``a (1 - a)`` (sigm) or ``1.7159 * 2/3 (1 - a^2 / 1.7159^2)``."""
    m, k = d.shape
    for r in range(m):
        tr = t[r]
        ar = a[r, 1:]
        dr = d[r]
        for j in range(k):
            s = tr[j] + sparsity[j] if use_sparsity else tr[j]
            aj = ar[j]
            if act == 0:
                dr[j] = s * (aj * (1.0 - aj))
            else:
                dr[j] = s * (_TANH_D1 * (1.0 - _TANH_D2 * (aj * aj)))


@numba.njit(cache=True, error_model="numpy")
def l2_per_weight(n_out, n_in, w_off, l2):
    """The L2 weight of every entry of the packed weights: ``l2`` on the
    weights, 0 on the biases (column 0 of each layer's rows), as
    nnapplygrads' ``l2 [0, W(:, 2:end)]``. Layer ``i`` is (n_out[i], 1 + n_in[i])
    at ``w_off[i]``."""
    out = np.zeros(w_off[n_out.shape[0]])
    for i in range(n_out.shape[0]):
        for r in range(n_out[i]):
            start = w_off[i] + r * (n_in[i] + 1)
            out[start + 1:start + n_in[i] + 1] = l2
    return out


@numba.njit(cache=True, error_model="numpy")
def apply_gradient(g, m, w, v, lr, momentum, l2, use_l2):
    """nnapplygrads for all layers at once on the packed buffers, given
    ``g = d_next' a`` (so ``dW = g / m``; ``m = 1`` when ``g`` is already dW): ``step = lr (dW + l2 [0, W(:, 2:)])``
    (``l2`` is 0 at the bias entries); with momentum ``vW = momentum vW +
    step`` and the step is ``vW``; ``W -= step``. Branch-free inside the
    loops, so that they vectorise. ``g / m`` stays a division, as in the
    NumPy engine, although ``g * (1 / m)`` made this pass 1.6x faster: the
    ulp it changes grows, over hundreds of epochs at a large learning rate,
    into different training outcomes (``tests/test_wiring.py``)."""
    n = w.shape[0]
    if use_l2:
        if momentum > 0:
            for k in range(n):
                v[k] = momentum * v[k] + lr * (g[k] / m + l2[k] * w[k])
                w[k] = w[k] - v[k]
        else:
            for k in range(n):
                w[k] = w[k] - lr * (g[k] / m + l2[k] * w[k])
    elif momentum > 0:
        for k in range(n):
            v[k] = momentum * v[k] + lr * (g[k] / m)
            w[k] = w[k] - v[k]
    else:
        for k in range(n):
            w[k] = w[k] - lr * (g[k] / m)
