"""imkerutils' ``tiling_utils`` package on imkit: extract and paste square tiles."""

from .core import TILE, extract_tile, paste_tile, rect_from_corner, top_left_from_corner

__all__ = ["TILE", "extract_tile", "paste_tile", "rect_from_corner", "top_left_from_corner"]
