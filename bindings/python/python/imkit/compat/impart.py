"""Drop-in for impart 0.0.5: ``from imkit.compat.impart import ImagePartition``.

``ImagePartition(image, cell_shape, stride=1.0, channels=(0, 1, 2))`` builds the same grid as
impart, bit for bit: ``step = cell * stride`` in binary64, cell ``k`` covers
``[ceil(k * step), min(ceil(cell + k * step), extent))`` on each axis, rounding artefacts
included. ``p[key]`` returns a lazy :class:`Region` (``.width``, ``.height``,
``.numpy(dtype=None)``); pixels are read only then, and only the TIFF/EXR/NPY chunks the region
touches (PNG and JPEG are decoded once into imkit's cache and memory-mapped, so even the first
read of a large PNG is cheap in later processes). Iterating yields the full-width row strips.

Differences from impart, all deliberate (impart gave a silent wrong answer or a late crash):

- **Negative slice stops work** like NumPy: ``p[:-1]``, ``p[1:-1]`` (impart: "Empty or inverted
  slice"). A negative index is normalised once and bounds-checked: ``p[-n - 1]`` and below raise
  ``IndexError`` (impart normalised ``-2n..-n-2`` twice and returned another row, or failed
  inside pyvips). ``p[-1:2]``-style inverted slices raise ``IndexError``.
- **Slice steps are refused** (``ValueError``): impart ignored them (``p[::2]`` was ``p[:]``).
- **No zero or negative spans**: where impart's arithmetic puts a cell at or past the far edge
  (stride > 1, or stride 0.99 on 30 px) that cell is not part of the grid, so ``shape`` can be
  smaller than impart's by those cells.
- **Bad arguments fail at construction** with ``ValueError``: cell or stride 0, negative,
  NaN, infinite, float cell sizes, more or fewer than 2 items (impart: ZeroDivisionError,
  negative grids, errors at the first index).
- numpy integers are accepted as indices (impart: ``TypeError``).
- A single-channel 1x1 region's ``.numpy()`` is ``(1, 1)``, not a 0-d array.
- Partitions compare equal when path, cell shape, stride and channels are equal (impart's
  ``==`` raised), hash on them, and pickle (path + arguments; impart's pyvips handle did not).
- ``image`` is a :class:`Region` over the whole (channel-selected) image, not a pyvips image;
  in-memory numpy arrays are accepted as ``image`` too.
"""

from __future__ import annotations

import math
import operator
import os
from typing import Any, Iterator, Sequence, Tuple, Union

import numpy as np

import imkit

__all__ = ["ImagePartition", "Region", "default_cache_dir"]

Number = Union[int, float]


def _pair(value: Any, name: str, integer: bool) -> Tuple[Number, Number]:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"{name} must be a number or a 2-tuple, got {value!r}")
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name} must hold numbers, got {value!r}")
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be finite and > 0, got {value!r}")
        if integer and int(v) != v:
            raise ValueError(f"{name} must hold whole pixel counts, got {value!r}")
        out.append(int(v) if integer or isinstance(v, (int, np.integer)) else float(v))
    return out[0], out[1]


def default_cache_dir() -> str:
    """Where PNG/JPEG partitions keep their decode-once cache: ``$IMKIT_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/imkit``, else ``~/.cache/imkit`` (created when missing)."""
    path = os.environ.get("IMKIT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "imkit")
    os.makedirs(path, exist_ok=True)
    return path


def _axis(key: Any) -> Union[int, slice]:
    if key is None or key is Ellipsis:
        return slice(None)
    if isinstance(key, slice):
        if key.step not in (None, 1):
            raise ValueError(
                f"slice steps are not supported (impart ignored them silently): {key!r}")
        return slice(_bound(key.start), _bound(key.stop))
    try:
        return operator.index(key)
    except TypeError:
        raise TypeError(f"indices must be integers, slices, None or Ellipsis, not "
                        f"{type(key).__name__}") from None


def _bound(v: Any) -> Any:
    return None if v is None else operator.index(v)


class Region:
    """A lazy rectangle of the image: nothing is read until :meth:`numpy`."""

    __slots__ = ("_region", "left", "top", "width", "height", "bands")

    def __init__(self, region: "imkit.Region", bands: int) -> None:
        self._region = region
        left, top, right, bottom = region.rect
        self.left, self.top = left, top
        self.width, self.height = right - left, bottom - top
        self.bands = bands

    def numpy(self, dtype: Any = None) -> np.ndarray:
        """Read the pixels: ``(height, width, bands)``, or ``(height, width)`` for one band.
        ``dtype`` is a plain numeric cast (``astype``), as in pyvips."""
        arr = self._region.numpy()
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        return arr if dtype is None else arr.astype(dtype)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.numpy(dtype)

    def write_to_file(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Save the region's pixels (format from the extension, no metadata sidecar)."""
        imkit.save(path, self.numpy())

    def __repr__(self) -> str:
        return (f"<Region left={self.left} top={self.top} width={self.width} "
                f"height={self.height} bands={self.bands}>")


class ImagePartition:
    """impart's virtual grid of cells over an image file (or a numpy array), with stride as a
    fraction of the cell: overlap between neighbours is ``1 - stride``.

    PNG and JPEG files are decoded once into ``cache_dir`` (default :func:`default_cache_dir`)
    and memory-mapped, so any cell is then read at memory speed, by every process."""

    def __init__(self, image: Any, cell_shape: Any, stride: Any = 1.0,
                 channels: Sequence[int] = (0, 1, 2), *, cache_dir: Any = None) -> None:
        self.cell_shape = _pair(cell_shape, "cell_shape", integer=True)
        self._stride = _pair(stride, "stride", integer=False)
        self.channels = channels
        try:
            selected = list(channels)
        except TypeError:
            raise TypeError(f"channels must be an iterable of band indices, got {channels!r}") \
                from None
        self._source = image
        try:
            self._p = imkit.Partition(image, cell=self.cell_shape,
                                      stride=tuple(float(s) for s in self._stride),
                                      edge="clip", channels=selected,
                                      cache_dir=cache_dir or default_cache_dir())
        except imkit.Error as e:
            if "channel" in str(e).lower():
                raise IndexError(f"Invalid channels for image: {e}") from e
            raise
        self.step_size = (self.cell_shape[0] * self._stride[0],
                          self.cell_shape[1] * self._stride[1])
        self.image_shape = tuple(self._p.image_shape[:2])
        self.shape = tuple(self._p.shape)

    @property
    def stride(self) -> Tuple[Number, Number]:
        """The stride as given, ``(sy, sx)``."""
        return self._stride

    @property
    def image(self) -> Region:
        """The whole channel-selected image as a lazy region."""
        return self[None]

    def _select(self, key: Any) -> Any:
        if isinstance(key, tuple):
            if len(key) == 0:
                raise TypeError("an empty tuple is not a partition key")
            if len(key) > 2:
                raise ValueError(f"partition keys have at most 2 items, got {len(key)}")
            axes = tuple(_axis(k) for k in key)
        else:
            axes = (_axis(key),)
        if len(axes) == 1:
            axes = (axes[0], slice(None))
        return self._p[axes]

    def __getitem__(self, key: Any) -> Region:
        return Region(self._select(key), len(list(self.channels)))

    def compute_image_subregion(self, y: Any, x: Any = None) -> Tuple[int, int, int, int]:
        """``(left, top, width, height)`` of the cell(s) ``[y, x]`` (``x=None``: all columns).
        Note the order: x first in the result, while keys are row-first."""
        r = self[(y, x)]
        return r.left, r.top, r.width, r.height

    def image_subregion_of_cell(self, row: Any, col: Any = None) -> Tuple[int, int, int, int]:
        """The name impart's quickstart uses for :meth:`compute_image_subregion`."""
        return self.compute_image_subregion(row, col)

    def __iter__(self) -> Iterator[Region]:
        for row in range(self.shape[0]):
            yield self[row]

    def _params(self) -> Tuple[Any, ...]:
        src = os.fspath(self._source) if isinstance(self._source, (str, os.PathLike)) \
            else id(self._source)
        return (src, self.cell_shape, self._stride, tuple(self.channels))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImagePartition):
            return NotImplemented
        return self._params() == other._params()

    def __hash__(self) -> int:
        return hash(self._params())

    def __reduce__(self) -> Any:
        return (ImagePartition, (self._source, self.cell_shape, self._stride, self.channels))

    def __repr__(self) -> str:
        return (f"ImagePartition(image={self._source!r}, cell_shape={self.cell_shape}, "
                f"stride={self._stride}, channels={self.channels!r})")
