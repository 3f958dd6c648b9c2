"""Tiles of a scene: the windows a whole scene is mapped in (``docs/scenes.md``).

A tile is a core window, whose pixels the tile maps, and a read window: the
core grown by a halo on every side and clipped to the scene, so that the
sample windows and the superpixels of pixels near the core's border see the
scene around them as they would in the whole image. Tiles cover the scene
without overlap of their cores; their read windows overlap by two halos.
"""
from dataclasses import dataclass

import numpy as np

from ._validation import InputError, check_positive_int

__all__ = ["Tile", "tile_grid", "DEFAULT_TILE", "DEFAULT_HALO"]

#: Default core side of a tile in pixels (``docs/scenes.md``: at 512 a
#: DRLnet tile needs about 0.4 GiB; the member windows of the 'interior'
#: statistic grow with the tile's area).
DEFAULT_TILE = 512
#: Default halo in pixels: the window half-width (1 for w = 3) plus about
#: two and a half SLIC segment spacings at the default 150 pixels per
#: segment (spacing ~12 px), so superpixels at a core border are cut by the
#: border only, not by the edge of what was read (measured in
#: ``docs/scenes.md``).
DEFAULT_HALO = 32


@dataclass(frozen=True)
class Tile:
    """One tile: its core and read windows as ``(row, col, height, width)``
    in scene pixels, and its position ``index`` in the grid (raster order)."""

    index: int
    core: tuple
    read: tuple

    @property
    def inner(self):
        """Slices of the core inside the read window."""
        r, c, h, w = self.core
        rr, rc = self.read[0], self.read[1]
        return slice(r - rr, r - rr + h), slice(c - rc, c - rc + w)

    @property
    def core_slices(self):
        """Slices of the core in the scene."""
        r, c, h, w = self.core
        return slice(r, r + h), slice(c, c + w)


def tile_grid(shape, tile=DEFAULT_TILE, halo=DEFAULT_HALO):
    """The tiles covering a scene of ``shape`` (M, N) in raster order.

    Parameters
    ----------
    shape : (int, int)
    tile : int or (int, int)
        Core height and width (the last row and column of tiles are
        smaller when they do not divide the scene).
    halo : int
        Pixels read around each core (clipped at the scene's border).

    Returns
    -------
    list of Tile

    Examples
    --------
    >>> [t.core for t in tile_grid((5, 3), tile=3, halo=1)]
    [(0, 0, 3, 3), (3, 0, 2, 3)]
    >>> tile_grid((5, 3), tile=3, halo=1)[1].read
    (2, 0, 3, 3)
    """
    m, n = (int(v) for v in shape)
    th, tw = (tile, tile) if np.isscalar(tile) else tile
    th, tw = check_positive_int(th, "tile"), check_positive_int(tw, "tile")
    if isinstance(halo, bool) or not isinstance(halo, (int, np.integer)) or halo < 0:
        raise InputError(f"halo must be an integer >= 0, got {halo!r}")
    tiles = []
    for r in range(0, m, th):
        for c in range(0, n, tw):
            h, w = min(th, m - r), min(tw, n - c)
            r0, c0 = max(r - halo, 0), max(c - halo, 0)
            r1, c1 = min(r + h + halo, m), min(c + w + halo, n)
            tiles.append(Tile(len(tiles), (r, c, h, w), (r0, c0, r1 - r0, c1 - c0)))
    return tiles
