"""imkit: tile-based processing of images of any size, numpy-native.

- I/O: :func:`load`, :func:`save` (format from the data, JSON sidecar metadata), lists and
  directories, metadata only, and the background :class:`SaveQueue`.
- Tiles: :func:`extract_tile`, :func:`paste_tile` (file to file, array to array),
  :func:`fragment` a partition into tile files and :func:`stitch` them back.
- :class:`Partition`: a lazy grid of cells over a file or array, indexed like NumPy.
- :class:`IidFile` / :class:`IidWriter`: ``.iid`` segmentation files.
- Errors: :class:`Error` and its subclasses, which also derive from the matching builtin.

Everything runs in the Rust core with the GIL released, so Python threads run in parallel.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional, Sequence, Tuple, Union

from . import _errors, _imkit, _progress
from ._errors import (
    BadStateError,
    BufferTooSmallError,
    CancelledError,
    Error,
    FormatError,
    InternalError,
    InvalidArgumentError,
    IoError,
    MismatchError,
    NoMemoryError,
    OutOfBoundsError,
    TooLargeError,
    UnsupportedError,
    WouldBlockError,
)
from ._imkit import (
    IidEntry,
    IidFile,
    IidWriter,
    Partition,
    Region,
    SaveQueue,
    info,
    load,
    load_dir,
    load_list,
    load_metadata,
    save,
    save_dir,
    save_list,
    save_metadata,
    set_num_threads,
    set_max_pixels,
    get_max_pixels,
)
from ._progress import ProgressArg
from ._types import OverlapGraph, Rect, TileInfo

__version__: str = _imkit.__version__

PathLike = Union[str, "os.PathLike[str]"]


def extract_tile(source, output: Optional[PathLike] = None, *, progress: ProgressArg = False, **kwargs):
    return _imkit.extract_tile(source, output, progress=_progress.callback(progress, "extract"), **kwargs)


def paste_tile(base, tile, output: Optional[PathLike] = None, *, progress: ProgressArg = False, **kwargs):
    return _imkit.paste_tile(base, tile, output, progress=_progress.callback(progress, "paste"), **kwargs)


extract_tile.__doc__ = _imkit.extract_tile.__doc__
paste_tile.__doc__ = _imkit.paste_tile.__doc__


def fragment(
    source,
    directory: PathLike,
    *,
    template: Optional[str] = None,
    cells: Optional[Iterable[Tuple[int, int]]] = None,
    manifest: str = "manifest.json",
    png_compression: int = 1,
    exr_compression: str = "zip",
    resume: bool = False,
    progress: ProgressArg = False,
    **partition_options,
) -> Path:
    """Writes the cells of a partition as tile files into ``directory`` (created when
    missing), plus a manifest that :func:`stitch` reads; returns the manifest path.

    ``source`` is a :class:`Partition`, or a path or array to partition with
    ``partition_options`` (``cell``, ``stride``/``step``, ``edge``, ``channels``, ``fill``,
    ``cache_dir``, ``volume``; see :class:`Partition`). ``template`` names the files:
    ``{row}``, ``{col}`` (cell indices), ``{y}``, ``{x}`` (pixel position), ``{z}`` (first
    slice, required for volumes), each optionally zero-padded (``{row:04}``); its extension
    picks the format (PNG, TIFF, NPY, EXR). The default is ``tile_{row:04}_{col:04}.png``,
    ``tile_{z:04}_{row:04}_{col:04}.png`` for volumes, ``.npy`` when the partition's cells
    are deeper than one slice (each tile is then a volume file). ``cells``: only these ``(row, col)`` cells. Every file is
    written atomically; tiles are byte-for-byte deterministic.

    ``progress=True`` draws a bar on a terminal, a callable ``f(done, total)`` is called
    instead (return ``False`` to cancel: :class:`CancelledError`). Ctrl-C raises
    ``KeyboardInterrupt`` and leaves no temporary file; ``resume=True`` then continues the
    interrupted run, keeping the tiles already written, and ends with the same files and
    manifest as an uninterrupted run.
    """
    if isinstance(source, Partition):
        if partition_options:
            raise TypeError("partition options go to Partition(...), not with a Partition")
        partition = source
    else:
        partition = Partition(source, **partition_options)
    os.makedirs(directory, exist_ok=True)
    label = "" if not isinstance(partition.source, (str, os.PathLike)) else os.fspath(partition.source)
    return _imkit.fragment(
        partition,
        directory,
        template=template,
        cells=None if cells is None else [tuple(c) for c in cells],
        manifest=manifest,
        source_label=label,
        png_compression=png_compression,
        exr_compression=exr_compression,
        resume=resume,
        progress=_progress.callback(progress, "fragment"),
    )


def map_tiles(
    source: PathLike,
    function,
    output: Optional[PathLike],
    *,
    progress: ProgressArg = False,
    **options,
):
    return _imkit.map_tiles(source, function, output,
                            progress=_progress.callback(progress, "map_tiles"), **options)


map_tiles.__doc__ = _imkit.map_tiles.__doc__


def stitch(
    manifest: PathLike,
    output: PathLike,
    *,
    blend: str = "overwrite",
    slice: Optional[int] = None,
    band_rows: int = 256,
    png_compression: int = 1,
    exr_compression: str = "zip",
    progress: ProgressArg = False,
) -> Path:
    """Rebuilds the image of a :func:`fragment` manifest from its tile files into ``output``
    (format from its extension; PNG output streams in bands of ``band_rows`` rows); returns
    ``output`` as a Path.

    ``blend``: ``"overwrite"`` (later tiles win), ``"average"``, ``"linear"`` (feathered
    overlaps) or ``"gaussian"``; float tiles of an unmodified fragment recompose bit for bit
    under every blend. A volume manifest rebuilds every slice into a multi-page ``.tif`` or a
    ``(d, h, w[, c])`` ``.npy``, or one file per slice when ``output`` holds ``{z}``
    (``"slice_{z:03}.png"``); ``slice``: only that slice, as an image. ``progress`` as in
    :func:`fragment`; Ctrl-C raises ``KeyboardInterrupt`` and leaves no temporary file.
    """
    return _imkit.stitch(
        manifest,
        output,
        blend=blend,
        slice=slice,
        band_rows=band_rows,
        png_compression=png_compression,
        exr_compression=exr_compression,
        progress=_progress.callback(progress, "stitch"),
    )


__all__: Sequence[str] = [
    "__version__",
    # I/O
    "info",
    "load",
    "save",
    "load_list",
    "save_list",
    "load_dir",
    "save_dir",
    "load_metadata",
    "save_metadata",
    "SaveQueue",
    # tiles
    "extract_tile",
    "paste_tile",
    "fragment",
    "stitch",
    "map_tiles",
    "TileInfo",
    # partitions
    "Partition",
    "Region",
    "Rect",
    # iid
    "IidFile",
    "IidEntry",
    "IidWriter",
    "OverlapGraph",
    # library
    "set_num_threads",
    "set_max_pixels",
    "get_max_pixels",
    # errors: every class of imkit._errors
    *_errors.__all__,
]
