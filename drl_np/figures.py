"""Colour pictures of maps.

* :func:`label_rgb` paints a label map with a fixed categorical palette
  (0 unchanged = near-black, masked = mid-grey), so the same type number has
  the same colour in every map and every run; :func:`label_colours` is the
  same palette as a GeoTIFF colour table.
* :func:`ramp_rgb` paints a [0, 1] map with a perceptual viridis-like ramp.
* :func:`composite_rgb` makes a colour composite of a multi-band image with
  a 2–98 % stretch.
* :func:`summary_panel` tiles these like the paper's Fig. 2 (NumPy only).
* :func:`map_figure`, :func:`intensity_figure` and :func:`summary_figure`
  draw the PNGs the command line writes, with matplotlib: titles above the
  images, a legend of the change types (colour, pixel share, area) and a
  colour bar of the change intensity with a robust (percentile) stretch.
"""
import colorsys

import numpy as np

__all__ = ["UNCHANGED_RGB", "MASKED_RGB", "palette", "label_rgb", "label_colours",
           "ramp_rgb", "composite_rgb", "rgb_band_indices", "label_tile", "summary_panel",
           "robust_range", "map_figure", "intensity_figure", "summary_figure"]

UNCHANGED_RGB = (20, 20, 20)
MASKED_RGB = (128, 128, 128)
_BACKGROUND = (255, 255, 255)

# First colours of the categorical palette: saturated, mutually distinct hues
# chosen by hand; further types get golden-angle hues (see `palette`).
_BASE = np.array([
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
    (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230),
    (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
    (170, 110, 40), (255, 250, 200), (128, 0, 0), (170, 255, 195),
    (128, 128, 0), (255, 215, 180), (0, 0, 128), (100, 60, 20),
], dtype=np.uint8)

# Viridis-like ramp: anchors at 0, 0.25, 0.5, 0.75, 1, linearly interpolated.
_RAMP_ANCHORS = np.array([
    (68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37),
], dtype=np.float64)


def palette(n):
    """Colours of types 1..n, shape (n, 3) uint8 (type k is row k-1)."""
    if n <= len(_BASE):
        return _BASE[:n].copy()
    extra = []
    for i in range(n - len(_BASE)):
        h = (0.13 + i * 0.618033988749895) % 1.0
        s, v = (0.85, 0.95) if i % 2 == 0 else (0.6, 0.75)
        extra.append([round(255 * c) for c in colorsys.hsv_to_rgb(h, s, v)])
    return np.vstack([_BASE, np.array(extra, dtype=np.uint8)])


def label_rgb(labels, masked_value=None):
    """Paint a label map.

    Parameters
    ----------
    labels : ndarray of int, shape (M, N)
        0 unchanged, 1..K types; negative values (and ``masked_value``) masked.
    masked_value : int, optional
        An extra value meaning masked (255 for ground truth and uint8 maps).

    Returns
    -------
    ndarray of uint8, shape (M, N, 3)
    """
    lab = np.asarray(labels).astype(np.int64)
    masked = lab < 0
    if masked_value is not None:
        masked |= lab == masked_value
    k = int(lab[~masked].max()) if (~masked).any() else 0
    lut = np.vstack([np.array([UNCHANGED_RGB], np.uint8), palette(max(k, 1))])
    out = lut[np.clip(np.where(masked, 0, lab), 0, len(lut) - 1)]   # (M, N, 3)
    out[masked] = MASKED_RGB
    return out


def ramp_rgb(values):
    """Paint values in [0, 1] with the viridis-like ramp; NaN → mid-grey.

    Parameters
    ----------
    values : ndarray of float, shape (M, N)

    Returns
    -------
    ndarray of uint8, shape (M, N, 3)
    """
    v = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(v)
    x = np.clip(np.where(bad, 0.0, v), 0.0, 1.0) * (len(_RAMP_ANCHORS) - 1)
    i = np.minimum(x.astype(np.int64), len(_RAMP_ANCHORS) - 2)
    f = (x - i)[..., None]                                            # (M, N, 1)
    rgb = _RAMP_ANCHORS[i] * (1 - f) + _RAMP_ANCHORS[i + 1] * f       # (M, N, 3)
    out = np.round(rgb).astype(np.uint8)
    out[bad] = MASKED_RGB
    return out


def rgb_band_indices(n_bands, band_names=None):
    """0-based bands shown as red, green, blue.

    Bands named red/green/blue (or R/G/B, or Sentinel-2 B4/B3/B2) are used when
    named; otherwise the first three bands (bands 1, 2, 3 as R, G, B, the GF-1
    order); one or two bands give grey.
    """
    if band_names is not None:
        low = [str(b).strip().lower() for b in band_names]
        for names in (("red", "green", "blue"), ("r", "g", "b"), ("b4", "b3", "b2"),
                      ("b04", "b03", "b02")):
            if all(n in low for n in names):
                return [low.index(n) for n in names]
    if n_bands >= 3:
        return [0, 1, 2]
    return [0, 0, 0]


def composite_rgb(images, valid=None, bands=None, band_names=None, low=2.0, high=98.0):
    """Colour composites of one or more co-registered images with one stretch.

    Parameters
    ----------
    images : sequence of ndarray, each shape (M, N, B)
        The dates; stretched together (2–98 % of their valid pixels, per band)
        so that brightness changes stay visible.
    valid : ndarray of bool, shape (M, N), optional
        Pixels used for the percentiles; invalid pixels are painted grey.
    bands : sequence of 3 int, optional
        0-based bands for R, G, B; :func:`rgb_band_indices` by default.

    Returns
    -------
    list of ndarray of uint8, each shape (M, N, 3)
    """
    images = [np.asarray(im, dtype=np.float64) for im in images]
    images = [im[:, :, None] if im.ndim == 2 else im for im in images]
    if bands is None:
        bands = rgb_band_indices(images[0].shape[2], band_names)
    if valid is None:
        valid = np.ones(images[0].shape[:2], bool)
    for im in images:
        valid = valid & np.isfinite(im[:, :, bands]).all(axis=2)
    out = []
    stack = np.stack([im[:, :, bands][valid] for im in images])       # (D, V, 3)
    if stack.shape[1] == 0:
        lo = np.zeros(3)
        hi = np.ones(3)
    else:
        lo = np.percentile(stack.reshape(-1, 3), low, axis=0)
        hi = np.percentile(stack.reshape(-1, 3), high, axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    for im in images:
        x = (np.nan_to_num(im[:, :, bands]) - lo) / span                # (M, N, 3)
        rgb = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
        rgb[~valid] = MASKED_RGB
        out.append(rgb)
    return out


# A 3x5 pixel font for tile labels ("T1", "K=25", "CI", "GT"); rows top-down.
_FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001001001001", "8": "111101111101111",
    "9": "111101111001111", "K": "101101110101101", "=": "000111000111000",
    "C": "111100100100111", "I": "111010010010111", "G": "111100101101111",
    "T": "111010010010010", " ": "000000000000000",
}


def label_tile(tile, text, scale=3):
    """Stamp ``text`` (characters of the built-in 3x5 font: digits, K, =, C,
    I, G, T, space) in white on a black box at the tile's top-left corner.

    Returns a new (M, N, 3) uint8 array; characters outside the font are skipped.
    """
    glyphs = [np.array(list(_FONT[c]), dtype=int).reshape(5, 3) for c in text.upper()
              if c in _FONT]
    out = np.array(tile, dtype=np.uint8, copy=True)
    if not glyphs:
        return out
    row = np.hstack([np.pad(g, ((0, 0), (0, 1))) for g in glyphs])[:, :-1]   # (5, 4n-1)
    bitmap = np.pad(row, 1).repeat(scale, 0).repeat(scale, 1).astype(bool)   # (7s, (4n+1)s)
    h = min(bitmap.shape[0], out.shape[0])
    w = min(bitmap.shape[1], out.shape[1])
    box = out[:h, :w]
    box[:] = 0
    box[bitmap[:h, :w]] = 255
    return out


def _fit(tile, size):
    """Nearest-neighbour resize of an (h, w, 3) tile to at most ``size`` pixels
    on its longer side (only shrinks)."""
    h, w = tile.shape[:2]
    s = max(h, w)
    if s <= size:
        return tile
    rows = (np.arange(round(h * size / s)) * s / size).astype(int)
    cols = (np.arange(round(w * size / s)) * s / size).astype(int)
    return tile[rows][:, cols]


def summary_panel(tiles, columns=4, tile_size=384, gap=6, labels=None):
    """Arrange RGB tiles in a grid on a white background.

    Parameters
    ----------
    tiles : sequence of ndarray of uint8, each shape (M, N, 3)
        In reading order (e.g. t1, t2, map at each K_t, CI map, GT).
    columns : int, default 4
    tile_size : int, default 384
        Longer side of each tile in the panel (tiles are only shrunk).
    gap : int, default 6
        White pixels between tiles and around the panel.
    labels : sequence of str, optional
        A short label per tile, stamped with :func:`label_tile`.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
    """
    tiles = [_fit(np.asarray(t, np.uint8), tile_size) for t in tiles]
    if labels is not None:
        tiles = [label_tile(t, text) for t, text in zip(tiles, labels)]
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    th = max(t.shape[0] for t in tiles)
    tw = max(t.shape[1] for t in tiles)
    panel = np.empty((rows * th + (rows + 1) * gap, columns * tw + (columns + 1) * gap, 3),
                     np.uint8)
    panel[:] = _BACKGROUND
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        y = gap + r * (th + gap)
        x = gap + c * (tw + gap)
        panel[y:y + t.shape[0], x:x + t.shape[1]] = t
    return panel


def label_colours(n, masked_value=255):
    """The colours of :func:`label_rgb` as a colour table ``{value: (r, g, b)}``:
    0 unchanged, 1..n types and ``masked_value``."""
    table = {0: UNCHANGED_RGB}
    for k, rgb in enumerate(palette(n), start=1):
        table[k] = tuple(int(c) for c in rgb)
    table[masked_value] = MASKED_RGB
    return table


def robust_range(values, low=2.0, high=98.0):
    """(vmin, vmax): the ``low``-``high`` percentiles of the finite values, so a
    few extreme pixels do not squeeze the rest into one colour; falls back to
    min-max when the percentiles coincide, and to (0, 1) without values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(v, [low, high])
    if not hi > lo:
        lo, hi = float(v.min()), float(v.max())
    if not hi > lo:
        hi = lo + 1.0
    return float(lo), float(hi)


# --------------------------------------------------------------------------
# matplotlib figures (imported on use: the command line starts without it)
# --------------------------------------------------------------------------

def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _to_rgb(fig):
    """Render a figure to an (H, W, 3) uint8 array and close it."""
    plt = _plt()
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    out = np.array(rgba[:, :, :3], dtype=np.uint8)                     # (H, W, 3)
    plt.close(fig)
    return out


def _panel_inches(shape, longest=6.0):
    m, n = shape[:2]
    s = max(m, n)
    return longest * n / s, longest * m / s


def _legend_entries(rows, with_area):
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=np.array(UNCHANGED_RGB) / 255, edgecolor="0.5",
                     label="unchanged")]
    cols = palette(max(len(rows), 1))
    for r in rows:
        share = r.get("fraction")
        pct = None if share is None else 100 * share
        text = f"type {r['type']}" if pct is None else \
            f"type {r['type']}: {pct:.1f} %" if pct >= 0.1 or pct == 0 else \
            f"type {r['type']}: {pct:.2g} %"
        if with_area and r.get("area_m2") is not None:
            text += f", {r['area_m2'] / 1e4:.2f} ha"
        handles.append(Patch(facecolor=cols[r["type"] - 1] / 255, edgecolor="0.5",
                             label=text))
    return handles


def map_figure(labels, rows, title, area_unit=True):
    """A change-type map with its title above and a legend beside it.

    Parameters
    ----------
    labels : ndarray of int, shape (M, N)
        0 unchanged, 1..K types, negative masked.
    rows : list of dict
        :func:`drl_np.report.change_types` rows of this map (share, area).
    title : str
    area_unit : bool
        Whether the rows carry areas (shown in ha).

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
    """
    plt = _plt()
    w, h = _panel_inches(np.shape(labels))
    fig = plt.figure(figsize=(w + 2.8, h + 0.7), dpi=120)
    ax = fig.add_axes([0.02, 0.02, w / (w + 2.8) * 0.96, h / (h + 0.7) * 0.92])
    ax.imshow(label_rgb(labels), interpolation="nearest")
    ax.set_title(title, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.legend(handles=_legend_entries(rows, area_unit), loc="center right",
               fontsize=8, frameon=False)
    return _to_rgb(fig)


def intensity_figure(ci, title="change intensity"):
    """The change-intensity map with a colour bar, stretched between the 2nd
    and 98th percentiles of its valid pixels (NaN masked, grey)."""
    plt = _plt()
    ci = np.asarray(ci, dtype=np.float64)
    lo, hi = robust_range(ci)
    w, h = _panel_inches(ci.shape)
    fig, ax = plt.subplots(figsize=(w + 1.6, h + 0.7), dpi=120)
    cmap = plt.get_cmap("viridis").with_extremes(bad=np.array(MASKED_RGB) / 255)
    im = ax.imshow(np.ma.masked_invalid(ci), cmap=cmap, vmin=lo, vmax=hi,
                   interpolation="nearest")
    ax.set_title(title, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, extend="both")
    bar.set_label(f"2-98 % stretch ({lo:.3g} to {hi:.3g})", fontsize=8)
    fig.tight_layout()
    return _to_rgb(fig)


def _gt_rgb(gt, ignore, matching):
    """Ground truth coloured by the matched change type: class c is painted
    with the colour of the type matched to it (light grey when none or when
    the ground truth is binary: white)."""
    gt = np.asarray(gt).astype(np.int64)
    out = np.empty(gt.shape + (3,), np.uint8)
    out[:] = UNCHANGED_RGB
    out[gt == ignore] = MASKED_RGB
    classes = [int(c) for c in np.unique(gt[(gt > 0) & (gt != ignore)])]
    by_class = {}
    for t, c in (matching or {}).items():
        if c is not None:
            by_class[int(c)] = int(t)
    cols = palette(max([1] + list(by_class.values())))
    for c in classes:
        t = by_class.get(c)
        out[gt == c] = cols[t - 1] if t is not None and t > 0 else (235, 235, 235)
    return out


def summary_figure(r1, r2, valid, result, gt, rep, ignore=255):
    """The paper's Fig. 2 in kind: T1, T2, the map at every K_t, the change
    intensity, and the ground truth coloured by the matched types; one
    legend of the final map's types."""
    plt = _plt()
    tiles = composite_rgb([r1.data, r2.data], valid=valid, band_names=r1.band_names)
    panels = [("T1", tiles[0]), ("T2", tiles[1])]
    for k in sorted(result.maps, reverse=True):
        panels.append((f"K = {k}", label_rgb(result.maps[k])))
    ci = np.asarray(result.ci_map, dtype=np.float64)
    panels.append(("change intensity", ci))
    if gt is not None:
        matching = None
        m = rep.get("metrics") or {}
        if "multiclass" in m:
            matching = m["multiclass"]["matching"]
            title = "ground truth (matched type colours)"
        else:
            title = "ground truth (changed: white)"
        panels.append((title, _gt_rgb(gt, ignore, matching)))
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    w, h = _panel_inches(ci.shape, 3.2)
    fig = plt.figure(figsize=(cols * (w + 0.3), rows * (h + 0.5) + 0.9), dpi=110)
    grid = fig.add_gridspec(rows + 1, cols, height_ratios=[h + 0.5] * rows + [0.9])
    lo, hi = robust_range(ci)
    for i, (title, img) in enumerate(panels):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        if img.ndim == 2:
            cmap = plt.get_cmap("viridis").with_extremes(bad=np.array(MASKED_RGB) / 255)
            im = ax.imshow(np.ma.masked_invalid(img), cmap=cmap, vmin=lo, vmax=hi,
                           interpolation="nearest")
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
        else:
            ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    lax = fig.add_subplot(grid[rows, :])
    lax.axis("off")
    entries = _legend_entries(rep["change_types"],
                              rep["pixel_area"]["value"] is not None)
    lax.legend(handles=entries, loc="center", ncol=min(len(entries), 4), fontsize=8,
               frameon=False, title=f"{rep['method']}: change types (share of valid pixels)",
               title_fontsize=9)
    fig.subplots_adjust(left=0.02, right=0.95, top=0.96, bottom=0.02, wspace=0.15, hspace=0.25)
    return _to_rgb(fig)
