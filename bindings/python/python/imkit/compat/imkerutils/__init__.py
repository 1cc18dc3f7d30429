"""Drop-in for imkerutils' tiling utilities.

``from imkit.compat.imkerutils.tiling_utils import extract_tile, paste_tile`` replaces
``from imkerutils.tiling_utils import extract_tile, paste_tile``; this package re-exports the
same names, so ``from imkit.compat.imkerutils import extract_tile`` works too. The console
scripts ``extract-tile`` and ``paste-tile`` take imkerutils' arguments.

See :mod:`imkit.compat.imkerutils.tiling_utils.core` for the differences from imkerutils.
"""

from .tiling_utils.core import (
    TILE,
    extract_tile,
    paste_tile,
    rect_from_corner,
    top_left_from_corner,
)

__all__ = ["TILE", "extract_tile", "paste_tile", "rect_from_corner", "top_left_from_corner"]
