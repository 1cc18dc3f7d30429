"""Small value types returned by imkit."""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np


class Rect(NamedTuple):
    """A half-open pixel rectangle: columns ``left..right``, rows ``top..bottom``."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        """``right - left``."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """``bottom - top``."""
        return self.bottom - self.top

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices selecting the rectangle in an ``(h, w[, c])`` array."""
        return slice(self.top, self.bottom), slice(self.left, self.right)


class TileInfo(NamedTuple):
    """Where a :func:`imkit.map_tiles` cell is: grid ``row`` and ``col``, ``rect`` on the
    (grown) canvas, ``input_rect`` (the part of the input it covers, or ``None``) and
    ``out_rect`` (where the returned tile goes in the output)."""

    row: int
    col: int
    rect: Rect
    input_rect: Optional[Rect]
    out_rect: Rect


class OverlapGraph(NamedTuple):
    """Entries sharing true pixels: ``edges[i] = (a, b)`` with ``a < b`` share ``weights[i]`` pixels."""

    nodes: np.ndarray
    edges: np.ndarray
    weights: np.ndarray
