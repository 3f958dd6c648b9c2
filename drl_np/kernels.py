"""The Numba engine of Algorithm 1: one compiled call runs a whole epoch.

:func:`algorithm1_epoch_numba` is the compiled twin of
:func:`drl_np.algorithm1.algorithm1_epoch` (tested equal to 1e-10 in
``tests/test_kernels.py``). Per minibatch of the permutation ``kk`` the kernel
:func:`_algorithm1_kernel` does what the NumPy twin does with
``drnet_forward(training=True)``, ``drnet_loss``, ``drnet_backward`` (Eq. 7),
``drnet_applygrads``, ``assign_nearest`` (Eq. 8) and
``update_centroids_online`` (Eq. 9). The matrix products are the
register-tiled loops of :mod:`drl_np.toolbox._products` (at batch 10 they
beat BLAS, whose call overhead dominates at these shapes; the forward
products ``a W'`` read transposed copies ``W'`` refreshed after each step),
the sigmoids use the vectorisable :func:`drl_np.toolbox._exp.exp`, and the
elementwise steps keep the twin's order of operations. Results agree with
the twin to rounding (the products sum in another order than BLAS, with
IEEE ``fma``; ``exp`` may differ from NumPy's by an ulp), not bit for bit;
there is no ``fastmath``. The kernels compile with ``error_model="numpy"``
(a division by zero gives inf/NaN, as in the twin, and the loops have no
exception branch, so they vectorise).

Data layout (fixed types, so ``cache=True`` compiles once per machine). The
``L = n_branch + n_head`` layers are numbered as ``net.W``: branch layers
first, then the head. Layer ``i`` maps ``n_in[i]`` inputs to ``n_out[i]``
units and

* ``w_flat[w_off[i]:w_off[i + 1]]`` holds ``W[i]`` row-major, shape
  (n_out[i], 1 + n_in[i]), bias first; ``vw_flat`` likewise holds ``vW[i]``;
* ``p_flat[p_off[i]:p_off[i + 1]]`` holds ``p[i]`` (n_out[i],).
"""
import numba
import numpy as np

from .toolbox._exp import exp
from .toolbox._numba import apply_gradient, l2_per_weight
from .toolbox._products import gemm_nn, gemm_tn, transpose

__all__ = ["supports", "algorithm1_epoch_numba"]


def supports(net):
    """Whether :func:`algorithm1_epoch_numba` handles the network ``net``.

    Every :class:`~drl_np.drlnet.DRNetwork` that ``drnet_setup`` builds: at
    least one branch layer, a head with at least one hidden layer (the DR
    layer) below the classifier, and weights, momenta and running
    activations of the shapes ``branch_size``/``head_size`` give.
    """
    branch, head = list(net.branch_size), list(net.head_size)
    if len(branch) < 2 or len(head) < 3 or head[0] != 2 * branch[-1]:
        return False
    n_in, n_out = _layer_sizes(net)
    if not (len(net.W) == len(net.vW) == len(net.p) == n_in.shape[0]):
        return False
    for i in range(n_in.shape[0]):
        shape = (n_out[i], n_in[i] + 1)
        if np.shape(net.W[i]) != shape or np.shape(net.vW[i]) != shape:
            return False
        if np.shape(net.p[i]) != (n_out[i],):
            return False
    return True


def _layer_sizes(net):
    """(n_in, n_out) int64 arrays of every layer, branch first."""
    branch, head = list(net.branch_size), list(net.head_size)
    n_in = np.array(branch[:-1] + head[:-1], dtype=np.int64)
    n_out = np.array(branch[1:] + head[1:], dtype=np.int64)
    return n_in, n_out


def _writable(a, dtype):
    """``a`` itself when it is a C-contiguous writable array of ``dtype``,
    else a copy to be written back."""
    if isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.ascontiguousarray(a, dtype=dtype).copy()


def algorithm1_epoch_numba(net, x1, x2, target, lam, assign, centres, counts, kk, batchsize, alpha,
                           update_branch=True):
    """One epoch of Algorithm 1 in compiled code; the twin of
    :func:`drl_np.algorithm1.algorithm1_epoch`.

    Parameters
    ----------
    net : DRNetwork
        Updated in place: ``W``, ``vW`` (the layers that train; a frozen
        branch keeps its arrays) and ``p`` (when ``non_sparsity_penalty > 0``)
        get new arrays in their lists.
    x1, x2 : ndarray (n, d)
        The samples of the two dates.
    target : ndarray (n, n_classes)
        One-hot previous pseudo labels s^{t-1}.
    lam : ndarray (n,)
        Change flags lambda^t (0 or 1).
    assign : ndarray of int (n,)
        Current change types s^t (0 unchanged, 1..K); updated in place.
    centres : ndarray (1 + K, r)
        Centroids M^t, row 0 the unchanged one; updated in place.
    counts : ndarray (1 + K,)
        Per-cluster counts of Eq. 9; updated in place.
    kk : ndarray of int (n,)
        This epoch's permutation (0-based).
    batchsize : int
    alpha : float
        Weight of the clustering term (Eq. 4).
    update_branch : bool, default True
        False (DRLnet1) leaves the branch weights untouched.

    Returns
    -------
    L : ndarray (n // batchsize,)
        Joint loss of each minibatch before its step.

    Raises
    ------
    ValueError
        When :func:`supports` rejects ``net``, or when changed samples need
        an Eq. 8 assignment but ``centres`` has no change centroid.
    """
    if not supports(net):
        raise ValueError("algorithm1_epoch_numba does not support this network (it needs a branch, a "
                         "DR layer and weights of the layer sizes); use engine='numpy'")
    n_in, n_out = _layer_sizes(net)
    nb = len(net.branch_size) - 1
    batchsize = int(batchsize)
    x1 = np.ascontiguousarray(x1, dtype=np.float64)
    x2 = np.ascontiguousarray(x2, dtype=np.float64)
    target = np.ascontiguousarray(target, dtype=np.float64)
    lam_f = np.ascontiguousarray(lam, dtype=np.float64)
    kk = np.ascontiguousarray(kk, dtype=np.int64)
    assign_k = _writable(assign, np.int64)
    centres_k = _writable(centres, np.float64)
    counts_k = _writable(counts, np.float64)
    _check_shapes(net, x1, x2, target, lam_f, assign_k, centres_k, counts_k, kk, batchsize)

    sizes = n_out * (n_in + 1)
    w_off = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
    w_off[1:] = np.cumsum(sizes)
    p_off = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
    p_off[1:] = np.cumsum(n_out)
    w_flat = np.concatenate([np.asarray(w, np.float64).ravel() for w in net.W])
    vw_flat = np.concatenate([np.asarray(v, np.float64).ravel() for v in net.vW])
    p_flat = np.concatenate([np.asarray(q, np.float64).ravel() for q in net.p])

    L = _algorithm1_kernel(
        x1, x2, target, lam_f, assign_k, centres_k, counts_k, kk, batchsize, float(alpha),
        bool(update_branch), n_in, n_out, nb, w_flat, vw_flat, w_off, p_flat, p_off,
        float(net.learning_rate), float(net.momentum), float(net.weight_penalty_l2),
        float(net.non_sparsity_penalty), float(net.sparsity_target))

    for i in range(n_in.shape[0]):
        if i >= nb or update_branch:
            shape = (n_out[i], n_in[i] + 1)
            net.W[i] = w_flat[w_off[i]:w_off[i + 1]].reshape(shape).copy()
            net.vW[i] = vw_flat[w_off[i]:w_off[i + 1]].reshape(shape).copy()
        if net.non_sparsity_penalty > 0:
            net.p[i] = p_flat[p_off[i]:p_off[i + 1]].copy()
    for mine, theirs in ((assign_k, assign), (centres_k, centres), (counts_k, counts)):
        if mine is not theirs:
            theirs[...] = mine
    return L


def _check_shapes(net, x1, x2, target, lam, assign, centres, counts, kk, batchsize):
    """The kernel reads without bounds checks: every shape and index it uses
    is checked here, each error naming the value and the fix."""
    n = x1.shape[0]
    d, r, n_classes = net.branch_size[0], net.head_size[-2], net.head_size[-1]
    if batchsize < 1:
        raise ValueError(f"batchsize must be a positive integer, got {batchsize}")
    if x1.ndim != 2 or x2.shape != x1.shape or x1.shape[1] != d:
        raise ValueError(f"x1 and x2 must both be (n, {d}) arrays, got {x1.shape} and {x2.shape}; "
                         "pass the samples the network was built for")
    if target.shape != (n, n_classes):
        raise ValueError(f"target must be ({n}, {n_classes}) (one-hot rows per sample), got "
                         f"{target.shape}; re-create the output layer for the class count")
    for name, a in (("lam", lam), ("assign", assign), ("kk", kk)):
        if a.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), one entry per sample, got {a.shape}")
    if centres.ndim != 2 or centres.shape[1] != r or centres.shape[0] < 1:
        raise ValueError(f"centres must be (1 + K, {r}) (one DR-sized row per label), got {centres.shape}")
    if counts.shape != (centres.shape[0],):
        raise ValueError(f"counts must have shape ({centres.shape[0]},), one per centre row, "
                         f"got {counts.shape}")
    numbatches = n // batchsize
    used = kk[:numbatches * batchsize]
    if used.size and (used.min() < 0 or used.max() >= n):
        raise ValueError(f"kk must hold sample indices in [0, {n}), got values in "
                         f"[{used.min()}, {used.max()}]; pass a 0-based permutation")
    if used.size and (assign[used].min() < 0 or assign[used].max() >= centres.shape[0]):
        raise ValueError(f"assign must hold labels in [0, {centres.shape[0]}) (rows of centres), got "
                         f"values in [{assign[used].min()}, {assign[used].max()}]")
    if centres.shape[0] < 2 and np.any(lam[used] > 0):
        raise ValueError(f"centres has {centres.shape[0]} row(s) but changed samples need a change "
                         "centroid (rows 1..K); pass (1 + K, r) centres")


@numba.njit(cache=True, error_model="numpy")
def _layer_forward(a_in, wt, a_out, m, z):
    """``a_out[:m, 1:] = sigm(a_in[:m] @ W')`` with ``wt = W'``; ``z[:m]``
    (m, n_out) holds the pre-activations (rows from ``m`` on are stale and
    unused: the changed samples' pass computes only their rows)."""
    gemm_nn(a_in[:m], wt, 0, z[:m])                              # (m, n_out)
    n_out = wt.shape[1]
    for r in range(m):
        zr = z[r]
        ar = a_out[r, 1:]
        for o in range(n_out):
            ar[o] = 1.0 / (1.0 + exp(-zr[o]))


@numba.njit(cache=True, error_model="numpy")
def _sparsity_term(p, scale, rho, out):
    """nnbp's sparsity term ``scale * (-rho / p + (1 - rho) / (1 - p))``,
    ``scale = share * beta`` as ``drlnet._sparsity_term``."""
    for j in range(p.shape[0]):
        out[j] = scale * (-rho / p[j] + (1 - rho) / (1 - p[j]))


@numba.njit(cache=True, error_model="numpy")
def _running_mean(a, b, m, p):
    """``p = 0.99 p + 0.01 mean(rows)`` over the first ``m`` rows of ``a``
    (and of ``b`` when it has rows: both dates' 2m rows), bias column dropped."""
    n_rows = m if b.shape[0] == 0 else 2 * m
    for j in range(p.shape[0]):
        s = 0.0
        for r in range(m):
            s += a[r, j + 1]
        if b.shape[0] != 0:
            for r in range(m):
                s += b[r, j + 1]
        p[j] = 0.99 * p[j] + 0.01 * (s / n_rows)


@numba.njit(cache=True, error_model="numpy")
def _weight_gradient(delta, a_in, m, raw, g, accumulate):
    """``g = delta' a_in / m``, or ``g = g + delta' a_in / m`` when
    ``accumulate`` (the second date's share of a branch layer)."""
    gemm_tn(delta, a_in, 0, raw)                                 # (n_out, 1 + n_in)
    n_out, n_cols = g.shape
    for o in range(n_out):
        go = g[o]
        ro = raw[o]
        if accumulate:
            for k in range(n_cols):
                go[k] = go[k] + ro[k] / m
        else:
            for k in range(n_cols):
                go[k] = ro[k] / m


@numba.njit(cache=True, error_model="numpy")
def _forward_dates(x1, x2, rows, m, nb, nh, WT, A1, A2, AH, Z, to_output):
    """Gather ``rows[:m]`` of both dates, run them through the branch, the
    merge and the head up to the DR layer (``to_output``: the classifier too);
    ``WT`` are the transposed weights. Rows from ``m`` on hold stale values
    and are not used."""
    d = x1.shape[1]
    for r in range(m):
        row = rows[r]
        for k in range(d):
            A1[0][r, k + 1] = x1[row, k]
            A2[0][r, k + 1] = x2[row, k]
    for i in range(nb):
        _layer_forward(A1[i], WT[i], A1[i + 1], m, Z[i])
        _layer_forward(A2[i], WT[i], A2[i + 1], m, Z[i])
    gk = A1[nb].shape[1] - 1
    for r in range(m):
        for k in range(gk):
            AH[0][r, k + 1] = A1[nb][r, k + 1]                   # ah[0] = [1, h1, h2]
            AH[0][r, gk + k + 1] = A2[nb][r, k + 1]
    top = nh if to_output else nh - 1
    for j in range(top):
        _layer_forward(AH[j], WT[nb + j], AH[j + 1], m, Z[nb + j])


@numba.njit(cache=True, error_model="numpy")
def _joint_loss(target, lam, assign, centres, rows, m, out, dr, alpha):
    """Eq. 4/5 of the minibatch ``rows[:m]`` (``drnet_loss``):
    ``1/2 sum (s - f)^2 / m + 1/2 alpha sum lam (d - M s)^2 / m``."""
    s_cls = 0.0
    s_clu = 0.0
    for r in range(m):
        row = rows[r]
        for c in range(target.shape[1]):
            e = target[row, c] - out[r, c + 1]
            s_cls += e * e
        k = assign[row]
        for c in range(centres.shape[1]):
            e = dr[r, c + 1] - centres[k, c]
            s_clu += lam[row] * (e * e)
    return 0.5 * s_cls / m + 0.5 * alpha * s_clu / m


@numba.njit(cache=True, error_model="numpy")
def _output_delta(target, rows, m, out, dout):
    """Eq. 7 at the classifier: ``delta_out = -(s - f) f (1 - f)``."""
    for r in range(m):
        row = rows[r]
        for c in range(target.shape[1]):
            f = out[r, c + 1]
            dout[r, c] = -(target[row, c] - f) * (f * (1 - f))


@numba.njit(cache=True, error_model="numpy")
def _head_delta(t, a, s_term, sparse, m, rows, lam, assign, centres, alpha, at_dr, below):
    """Eq. 7 at a hidden head layer: ``below = (t + beta KL' [+ alpha lam
    (d - M s) at the DR layer]) a (1 - a)`` with ``t = delta_up W_up``."""
    for r in range(m):
        row = rows[r]
        k_row = assign[row]
        for k in range(below.shape[1]):
            v = t[r, k + 1]
            if sparse:
                v = v + s_term[k]
            if at_dr:   # the DR layer: Eq. 7's clustering term
                v = v + alpha * lam[row] * (a[r, k + 1] - centres[k_row, k])
            h = a[r, k + 1]
            below[r, k] = v * (h * (1 - h))


@numba.njit(cache=True, error_model="numpy")
def _branch_delta(t, col, s_term, sparse, m, h, di):
    """Eq. 7 in g for one date: ``di = (t[:, col:] + beta/2 KL') h (1 - h)``,
    ``col`` selecting this date's half of ``[h1, h2]`` at the merge."""
    for r in range(m):
        for k in range(di.shape[1]):
            v = t[r, col + k]
            if sparse:
                v = v + s_term[k]
            hk = h[r, k + 1]
            di[r, k] = v * (hk * (1 - hk))


@numba.njit(cache=True, error_model="numpy")
def _assign_nearest(dr, c_n, centres, changed, assign, new_type):
    """Eq. 8: ``argmin_k ||d - M_k||^2`` over rows 1..K (first minimum wins,
    as ``np.argmin``), all with the centroids before Eq. 9."""
    for r in range(c_n):
        best = 1
        best_sq = 0.0
        for k in range(1, centres.shape[0]):
            sq = 0.0
            for c in range(centres.shape[1]):
                e = dr[r, c + 1] - centres[k, c]
                sq += e * e
            if k == 1 or sq < best_sq or (sq != sq and best_sq == best_sq):  # np.argmin: first NaN wins
                best = k
                best_sq = sq
        new_type[r] = best
        assign[changed[r]] = best


@numba.njit(cache=True, error_model="numpy")
def _update_centroids(dr, c_n, new_type, centres, counts):
    """Eq. 9 in minibatch order: ``c_k += 1; M_k -= (M_k - d) / c_k``."""
    for r in range(c_n):
        k = new_type[r]
        counts[k] += 1.0
        step = 1.0 / counts[k]
        for c in range(centres.shape[1]):
            centres[k, c] -= step * (centres[k, c] - dr[r, c + 1])


@numba.njit(cache=True, error_model="numpy")
def _changed_rows(rows, m, lam, changed):
    """The minibatch's samples with lam > 0 into ``changed``; their count."""
    c_n = 0
    for r in range(m):
        if lam[rows[r]] > 0:
            changed[c_n] = rows[r]
            c_n += 1
    return c_n


@numba.njit(cache=True, error_model="numpy")
def _algorithm1_kernel(x1, x2, target, lam, assign, centres, counts, kk, bs, alpha, update_branch,
                       n_in, n_out, nb, w_flat, vw_flat, w_off, p_flat, p_off,
                       lr, momentum, l2, beta, rho):
    """All floor(n / bs) minibatches of one Algorithm 1 epoch; returns their losses.

    Per minibatch ``rows = kk[l bs : (l + 1) bs]``, the lines of
    ``algorithm1.algorithm1_epoch`` in order: ``drnet_forward(training=True)``
    (:func:`_forward_dates`, :func:`_running_mean`), ``drnet_loss``
    (:func:`_joint_loss`), ``drnet_backward`` (Eq. 7: :func:`_output_delta`,
    :func:`_head_delta`, :func:`_branch_delta`, :func:`_weight_gradient`),
    ``drnet_applygrads`` (the toolbox engine's ``apply_gradient``), then the
    changed samples' new DRs, Eq. 8 (:func:`_assign_nearest`) and Eq. 9
    (:func:`_update_centroids`).

    ``w_flat``, ``vw_flat``, ``p_flat``, ``assign``, ``centres`` and
    ``counts`` are updated in place. The products are the loops of
    :mod:`drl_np.toolbox._products` (``a W'`` reads the transposed copies
    ``WT``, refreshed after each step); the elementwise steps keep the twin's
    order of operations.
    """
    n_layers = n_in.shape[0]
    nh = n_layers - nb
    W = [w_flat[w_off[i]:w_off[i + 1]].reshape((n_out[i], n_in[i] + 1)) for i in range(n_layers)]
    WT = [np.empty((n_in[i] + 1, n_out[i])) for i in range(n_layers)]   # W[i]', for a W'
    for i in range(n_layers):
        transpose(W[i], WT[i])
    P = [p_flat[p_off[i]:p_off[i + 1]] for i in range(n_layers)]
    # activations with the bias column first: branch per date, head (output too)
    A1 = [np.ones((bs, n_in[i] + 1)) for i in range(nb)]
    A1.append(np.ones((bs, n_out[nb - 1] + 1)))
    A2 = [np.ones((bs, n_in[i] + 1)) for i in range(nb)]
    A2.append(np.ones((bs, n_out[nb - 1] + 1)))
    AH = [np.ones((bs, n_in[nb + j] + 1)) for j in range(nh)]
    AH.append(np.ones((bs, n_out[n_layers - 1] + 1)))
    Z = [np.empty((bs, n_out[i])) for i in range(n_layers)]       # pre-activations
    D = [np.empty((bs, n_out[i])) for i in range(n_layers)]       # deltas (date 1 in the branch)
    D2 = [np.empty((bs, n_out[i])) for i in range(nb)]            # deltas of date 2
    T = [np.empty((bs, n_in[i] + 1)) for i in range(n_layers)]    # delta @ W: error at the inputs
    # dW of every layer, packed as w_flat, so that nnapplygrads is one pass
    # over the flat buffers (the toolbox engine's apply_gradient)
    g_flat = np.empty(w_flat.shape[0])
    G = [g_flat[w_off[i]:w_off[i + 1]].reshape((n_out[i], n_in[i] + 1)) for i in range(n_layers)]
    l2_flat = l2_per_weight(n_out, n_in, w_off, l2)
    raw = [np.empty((n_out[i], n_in[i] + 1)) for i in range(n_layers)]  # delta' a
    S = [np.zeros(n_out[i]) for i in range(n_layers)]             # sparsity terms
    rows = np.empty(bs, dtype=np.int64)
    changed = np.empty(bs, dtype=np.int64)
    new_type = np.empty(bs, dtype=np.int64)
    empty = np.empty((0, 1))
    sparse = beta > 0
    gk = n_in[nb] // 2
    L = np.zeros(x1.shape[0] // bs)
    m = bs
    out, dr = AH[nh], AH[nh - 1]
    for l in range(L.shape[0]):
        for r in range(m):
            rows[r] = kk[l * bs + r]
        # -- drnet_forward(training=True), drnet_loss -------------------------
        _forward_dates(x1, x2, rows, m, nb, nh, WT, A1, A2, AH, Z, True)
        if sparse:
            for i in range(nb):
                _running_mean(A1[i + 1], A2[i + 1], m, P[i])
            for j in range(nh - 1):
                _running_mean(AH[j + 1], empty, m, P[nb + j])
        L[l] = _joint_loss(target, lam, assign, centres, rows, m, out, dr, alpha)
        # -- drnet_backward (Eq. 7): the head, from the output down ---------------
        _output_delta(target, rows, m, out, D[n_layers - 1])
        for j in range(nh - 1, -1, -1):
            layer = nb + j
            _weight_gradient(D[layer], AH[j], m, raw[layer], G[layer], False)
            if j == 0:
                break
            gemm_nn(D[layer], W[layer], 0, T[layer])                 # (bs, 1 + n_in), old W
            if sparse:
                _sparsity_term(P[layer - 1], 1.0 * beta, rho, S[layer - 1])
            _head_delta(T[layer], AH[j], S[layer - 1], sparse, m, rows, lam, assign, centres,
                        alpha, j == nh - 1, D[layer - 1])
        # -- into g, once per date; the two contributions add --------------------
        if update_branch:
            gemm_nn(D[nb], W[nb], 0, T[nb])                     # (bs, 1 + 2 g_k)
            if sparse:
                for i in range(nb):
                    _sparsity_term(P[i], 0.5 * beta, rho, S[i])
            for date in range(2):
                A = A1 if date == 0 else A2
                Dd = D if date == 0 else D2
                t, col = T[nb], 1 + date * gk                    # this date's half of [h1, h2]
                for i in range(nb - 1, -1, -1):
                    _branch_delta(t, col, S[i], sparse, m, A[i + 1], Dd[i])
                    _weight_gradient(Dd[i], A[i], m, raw[i], G[i], date == 1)
                    if i > 0:
                        gemm_nn(Dd[i], W[i], 0, T[i])          # (bs, 1 + g_{i-1})
                        t, col = T[i], 1
        # -- drnet_applygrads ----------------------------------------------------
        start = w_off[0] if update_branch else w_off[nb]        # a frozen branch is not stepped
        apply_gradient(g_flat[start:], 1.0, w_flat[start:], vw_flat[start:], lr, momentum,
                       l2_flat[start:], l2 > 0)
        for i in range(0 if update_branch else nb, n_layers):
            transpose(W[i], WT[i])
        # -- the changed samples: new DRs, Eq. 8, Eq. 9 ------------------------
        c_n = _changed_rows(rows, m, lam, changed)
        if c_n == 0:
            continue
        _forward_dates(x1, x2, changed, c_n, nb, nh, WT, A1, A2, AH, Z, False)
        _assign_nearest(dr, c_n, centres, changed, assign, new_type)
        _update_centroids(dr, c_n, new_type, centres, counts)
    return L
