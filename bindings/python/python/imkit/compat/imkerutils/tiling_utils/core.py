"""imkerutils' tiling core (``imkerutils.tiling_utils.core``) on imkit.

Same functions, arguments, return values and ``ValueError`` cases as imkerutils 0.1.0:
``(x, y)`` is a pixel anchor, ``corner`` (``tl``, ``tr``, ``bl``, ``br``, any case) says which
tile pixel sits on it, rectangles are ``(left, top, right, bottom)`` with right/bottom
exclusive, tiles are ``tile`` x ``tile`` (default :data:`TILE` = 1024).

Differences from imkerutils, all deliberate:

- **Pixels are never converted.** imkerutils converts a patch to the base's mode (RGB to
  luma, RGBA losing alpha, palette re-quantised, RGB into 16-bit grey) and reads 16-bit RGB(A)
  PNGs as 8-bit, so a paste rewrites the *whole* base as 8-bit. imkit keeps 16-bit, alpha and
  palette images exact (palette PNGs are read as RGB/RGBA) and raises ``ValueError`` when the
  patch's pixel type or channel count differs from the base's.
- **Big images work.** PNGs stream row by row; there is no decompression-bomb limit at 179 MP.
- **Writes are atomic** (temp file + rename): a crash never leaves a truncated output.
- An output format that cannot hold the pixels exactly (e.g. ``.jpg``) is an error instead of
  a lossy re-encode of the whole image.
- ``tile <= 0`` is a ``ValueError`` with a clear message (imkerutils fails inside Pillow).
- Output directories are created when missing (imkerutils raises ``FileNotFoundError``), and
  nothing is created at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Tuple, Union

import imkit

#: The tile side imkerutils uses when none is given.
TILE = 1024

_CORNERS = ("tl", "tr", "bl", "br")

PathLike = Union[str, "os.PathLike[str]"]


def _corner(corner: str) -> str:
    code = str(corner).lower()
    if code not in _CORNERS:
        raise ValueError(f"corner must be one of {_CORNERS}, got {corner!r}")
    return code


def _tile(tile: int) -> int:
    if int(tile) != tile or tile <= 0:
        raise ValueError(f"tile must be a positive integer, got {tile!r}")
    return int(tile)


def top_left_from_corner(x: int, y: int, corner: str, tile: int = TILE) -> Tuple[int, int]:
    """Return the ``(left, top)`` pixel of a ``tile`` x ``tile`` tile whose ``corner`` pixel
    sits on ``(x, y)`` (``tr`` means ``left = x - (tile - 1)``)."""
    code = _corner(corner)
    size = _tile(tile)
    left = x - (size - 1) if code in ("tr", "br") else x
    top = y - (size - 1) if code in ("bl", "br") else y
    return left, top


def rect_from_corner(x: int, y: int, corner: str, tile: int = TILE) -> Tuple[int, int, int, int]:
    """Return the tile's ``(left, top, right, bottom)`` rectangle, right/bottom exclusive."""
    left, top = top_left_from_corner(x, y, corner, tile)
    return left, top, left + _tile(tile), top + _tile(tile)


def _check_inside(rect: Tuple[int, int, int, int], width: int, height: int) -> None:
    left, top, right, bottom = rect
    if left < 0 or top < 0 or right > width or bottom > height:
        raise ValueError(f"Rect out of bounds: {rect} for image size {width}x{height}")


def _size(path: PathLike) -> Tuple[int, int]:
    shape = imkit.info(path)["shape"]
    return shape[1], shape[0]


def extract_tile(
    input_path: PathLike,
    output_path: PathLike,
    *,
    x: int,
    y: int,
    corner: str = "tl",
    tile: int = TILE,
) -> Tuple[int, int, int, int]:
    """Crop the ``tile`` x ``tile`` tile anchored at ``(x, y)`` out of ``input_path`` and save
    it to ``output_path`` (format from its extension). Returns ``(left, top, right, bottom)``.

    Raises ``ValueError`` when the tile crosses the image border, as imkerutils does.
    """
    rect = rect_from_corner(x, y, corner, tile)
    width, height = _size(input_path)
    _check_inside(rect, width, height)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    try:
        imkit.extract_tile(input_path, output_path, x=rect[0], y=rect[1], corner="tl",
                           width=tile, height=tile)
    except imkit.Error as e:
        if isinstance(e, OSError):
            raise
        raise ValueError(str(e)) from e
    return rect


def paste_tile(
    base_path: PathLike,
    tile_path: PathLike,
    output_path: PathLike,
    *,
    x: int,
    y: int,
    corner: str = "tl",
    tile: int = TILE,
) -> Tuple[int, int]:
    """Paste the ``tile`` x ``tile`` image ``tile_path`` into ``base_path`` with its ``corner``
    pixel on ``(x, y)`` and save the whole image to ``output_path``. Every pixel outside the
    tile stays bit-identical. Returns ``(left, top)``.

    Raises ``ValueError`` when the patch is not exactly ``tile`` x ``tile`` (checked first),
    when it crosses the base's border, or when its pixel type or channels differ from the base.
    """
    size = _tile(tile)
    tw, th = _size(tile_path)
    if (tw, th) != (size, size):
        raise ValueError(f"Tile must be exactly {size}x{size}, got {tw}x{th}")
    rect = rect_from_corner(x, y, corner, size)
    width, height = _size(base_path)
    _check_inside(rect, width, height)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    try:
        imkit.paste_tile(base_path, tile_path, output_path, x=rect[0], y=rect[1], corner="tl")
    except imkit.Error as e:
        if isinstance(e, OSError):
            raise
        raise ValueError(str(e)) from e
    return rect[0], rect[1]
