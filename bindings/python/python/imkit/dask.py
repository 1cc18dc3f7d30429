"""imkit on a Dask cluster: lazy arrays over image files, and the tile pipeline, fragment and
stitch spread over workers (``pip install ./bindings/python[dask]``).

The graphs hold paths, options and cell indices, never pixels: every task opens the file on
its worker (workers must share the file system with each other, e.g. a network mount) and
reads only what it needs. Task names are tokens of (path, size, mtime, options), so building
a graph is cheap and identical across clients.

Pointing at an existing cluster: ``from dask.distributed import Client; client =
Client("tcp://scheduler:8786")`` and pass ``client=client`` (or make it the default client).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

import imkit

try:
    import dask
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
except ImportError as e:  # pragma: no cover - the extra is missing
    raise ImportError("imkit.dask needs dask: pip install 'imkit[dask]'") from e

__all__ = ["to_dask_array", "map_tiles", "fragment", "stitch"]

PathLike = Union[str, "os.PathLike[str]"]

#: Default chunk side for files without a block layout of their own.
DEFAULT_CHUNK = 1024

#: Bytes a default row band of a row-addressable file (PNG through the cache, NPY) aims at.
BAND_BYTES = 64 << 20


def _file_token(path: PathLike) -> Tuple[str, int, int]:
    st = os.stat(path)
    return os.path.abspath(os.fspath(path)), st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=32)
def _partition(path: str, cell: Tuple[int, int], step: Tuple[int, int],
               channels: Optional[Tuple[int, ...]], cache_dir: Optional[str],
               token: Any) -> "imkit.Partition":
    """One open partition per worker process and (file version, options)."""
    return imkit.Partition(path, cell=cell, step=step, edge="clip",
                           channels=None if channels is None else list(channels),
                           cache_dir=cache_dir)


def _default_chunks(probe: "imkit.Partition") -> Tuple[int, int]:
    """Chunks following the file's own blocks: whole multiples of a TIFF/EXR tile or strip
    (at least ``DEFAULT_CHUNK`` per side where the image allows), row bands of about
    ``BAND_BYTES`` for files read by rows (PNG, NPY), ``DEFAULT_CHUNK`` squares otherwise."""
    height, width = probe.image_shape[-2:]
    block = probe.source_chunk
    if block is None:
        return min(height, DEFAULT_CHUNK), min(width, DEFAULT_CHUNK)
    bh, bw = block
    if bw >= width:  # rows or strips: bands of whole blocks
        row_bytes = width * probe.channels * np.dtype(probe.dtype).itemsize
        rows = max(bh, BAND_BYTES // max(1, row_bytes) // bh * bh)
        return min(height, rows), width

    def side(b: int, extent: int) -> int:
        return min(extent, b * max(1, -(-DEFAULT_CHUNK // b)))

    return side(bh, height), side(bw, width)


def _read_chunk(path: str, cell: Tuple[int, int], channels: Optional[Tuple[int, ...]],
                cache_dir: Optional[str], token: Any, row: int, col: int,
                three: bool) -> np.ndarray:
    arr = _partition(path, cell, cell, channels, cache_dir, token)[row, col].numpy()
    return arr[..., None] if three and arr.ndim == 2 else arr


def to_dask_array(source: PathLike, *, chunks: Optional[Tuple[int, int]] = None,
                  channels: Optional[Sequence[int]] = None,
                  cache_dir: Optional[PathLike] = None) -> "da.Array":
    """A lazy ``dask.array.Array`` over an image file: ``(h, w)`` for one channel, else
    ``(h, w, c)``. Each chunk is read by the worker computing it (only the chunks of the file
    it covers). ``chunks = (rows, cols)``; by default they follow the file's own blocks
    (:attr:`imkit.Partition.source_chunk`): TIFF and EXR tiles (or strips / scan-line blocks)
    grouped into chunks of at least 1024 per side, row bands of about 64 MiB for PNG (through
    the decode cache in ``cache_dir``, default ``$IMKIT_CACHE_DIR`` or ``~/.cache/imkit``) and
    NPY, 1024 x 1024 otherwise."""
    from .compat.impart import default_cache_dir

    path = os.path.abspath(os.fspath(source))
    cache = os.fspath(cache_dir) if cache_dir else default_cache_dir()
    chans = None if channels is None else tuple(int(c) for c in channels)
    probe = imkit.Partition(path, cell=1, channels=None if chans is None else list(chans),
                            cache_dir=cache)
    height, width = probe.image_shape[:2]
    nchan, dtype = probe.channels, np.dtype(probe.dtype)
    ch, cw = chunks or _default_chunks(probe)
    token = _file_token(path)
    name = "imkit-read-" + tokenize(token, (ch, cw), chans)
    rows = tuple(min(ch, height - y) for y in range(0, height, ch))
    cols = tuple(min(cw, width - x) for x in range(0, width, cw))
    three = nchan > 1
    layers = {}
    for i in range(len(rows)):
        for j in range(len(cols)):
            key = (name, i, j, 0) if three else (name, i, j)
            layers[key] = (_read_chunk, path, (ch, cw), chans, cache, token, i, j, three)
    graph = HighLevelGraph.from_collections(name, layers, dependencies=())
    dask_chunks = (rows, cols, (nchan,)) if three else (rows, cols)
    return da.Array(graph, name, dask_chunks, dtype=dtype)


def _client(client: Any) -> Any:
    if client is not None:
        return client
    from dask.distributed import default_client
    return default_client()


def _tile_name(row: int, col: int) -> str:
    return f"tile_{row:05}_{col:05}.npy"


def _run_band(src: str, fn: Callable, tile_dir: str, cell: Tuple[int, int],
              step: Tuple[int, int], cache_dir: Optional[str], token: Any,
              cells: List[Tuple[int, int]], scale: int) -> List[Dict[str, Any]]:
    """One task: read each cell, apply ``fn``, write its tile atomically; return the
    manifest entries (rects scaled to the output)."""
    p = _partition(src, cell, step, None, cache_dir, token)
    out = []
    for row, col in cells:
        rect = p.cell_rect(row, col)
        info = imkit.TileInfo(row, col, rect, rect, imkit.Rect(*(v * scale for v in rect)))
        try:
            tile = np.asarray(fn(p[row, col].numpy(), info))
        except Exception as e:
            note = f"raised by the tile function in cell (row {row}, col {col})"
            if hasattr(e, "add_note"):
                e.add_note(note)
            e.imkit_cell = (row, col)
            raise
        want = (rect.height * scale, rect.width * scale)
        if tile.shape[:2] != want:
            raise imkit.MismatchError(
                f"cell (row {row}, col {col}): the function returned a "
                f"{tile.shape[1]}x{tile.shape[0]} tile, the output tile is {want[1]}x{want[0]}")
        name = _tile_name(row, col)
        written = imkit.save(Path(tile_dir) / name, np.ascontiguousarray(tile))
        digest = hashlib.sha256(Path(written).read_bytes()).hexdigest()
        left, top, right, bottom = rect
        out.append({"z": 0, "row": row, "col": col,
                    "rect": [left * scale, top * scale, (right - left) * scale,
                             (bottom - top) * scale],
                    "file": name, "sha256": digest,
                    "dtype": str(tile.dtype), "channels": 1 if tile.ndim == 2 else tile.shape[2]})
    return out


def _write_manifest(tile_dir: Path, src: str, shape: Tuple[int, int],
                    size: Tuple[int, int], cell: Tuple[int, int], step: Tuple[int, int],
                    entries: List[Dict[str, Any]]) -> Path:
    kinds = {(e["dtype"], e["channels"]) for e in entries}
    if len(kinds) != 1:
        raise imkit.MismatchError(f"the tile function returned tiles of different types: "
                                  f"{sorted(kinds)}")
    dtype, nchan = kinds.pop()
    manifest = {
        "imkit_manifest": 1,
        "source": {"path": src, "width": size[1], "height": size[0], "depth": 1,
                   "dtype": dtype, "channels": list(range(nchan))},
        "grid": {"shape": list(shape), "cell": list(cell),
                 "stride": [{"pixels": step[0]}, {"pixels": step[1]}],
                 "edge": "clip", "fill": 0.0},
        "template": "tile_{row:05}_{col:05}.npy",
        "tiles": [{k: e[k] for k in ("z", "row", "col", "rect", "file", "sha256")}
                  for e in sorted(entries, key=lambda e: (e["row"], e["col"]))],
    }
    path = tile_dir / "manifest.json"
    tmp = path.with_name(f".manifest.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, path)
    return path


def _stitch_task(manifest: str, output: str, blend: str, png_compression: int) -> str:
    return os.fspath(imkit.stitch(manifest, output, blend=blend,
                                  png_compression=png_compression))


def _identity(tile: np.ndarray, info: Any) -> np.ndarray:
    return tile


def _map_to_tiles(src: PathLike, fn: Callable, tiles: Path, cell: Union[int, Tuple[int, int]],
                  overlap: int, scale: int, client: Any, rows_per_task: int,
                  cache_dir: Optional[PathLike], retries: int) -> Path:
    """Tasks over bands of grid rows write the tiles; then the manifest; returns its path."""
    from .compat.impart import default_cache_dir

    client = _client(client)
    path = os.path.abspath(os.fspath(src))
    cache = os.fspath(cache_dir) if cache_dir else default_cache_dir()
    ch, cw = (cell, cell) if isinstance(cell, int) else tuple(cell)
    if not 0 <= overlap < min(ch, cw):
        raise imkit.InvalidArgumentError(f"overlap {overlap} must be smaller than the cell")
    step = (ch - overlap, cw - overlap)
    token = _file_token(path)
    grid = _partition(path, (ch, cw), step, None, cache, token)
    rows, cols = grid.shape
    height, width = grid.image_shape[:2]
    tiles.mkdir(parents=True, exist_ok=True)
    bands = [[(r, c) for r in range(r0, min(rows, r0 + rows_per_task)) for c in range(cols)]
             for r0 in range(0, rows, rows_per_task)]
    n = len(bands)
    key = tokenize(token, (ch, cw), step, scale, os.fspath(tiles), fn)
    futures = client.map(_run_band, [path] * n, [fn] * n, [os.fspath(tiles)] * n,
                         [(ch, cw)] * n, [step] * n, [cache] * n, [token] * n, bands,
                         [scale] * n, retries=retries, pure=False,
                         key=[f"imkit-map-{key}-{i}" for i in range(n)])
    entries = [e for band in client.gather(futures) for e in band]
    return _write_manifest(tiles, path, (rows, cols), (height * scale, width * scale),
                           (ch * scale, cw * scale), (step[0] * scale, step[1] * scale),
                           entries)


def map_tiles(src: PathLike, fn: Callable[[np.ndarray, Any], np.ndarray], out: PathLike, *,
              cell: Union[int, Tuple[int, int]] = 1024, overlap: int = 0,
              blend: str = "overwrite", scale: int = 1, client: Any = None,
              tile_dir: Optional[PathLike] = None, rows_per_task: int = 1,
              cache_dir: Optional[PathLike] = None, retries: int = 2,
              png_compression: int = 1) -> Path:
    """:func:`imkit.map_tiles` on a Dask cluster, with the same output bytes.

    Each task reads its cells (``rows_per_task`` rows of the grid) from ``src`` itself,
    applies ``fn(tile, info)`` and writes each result atomically as an NPY tile into
    ``tile_dir`` (default ``<out>.tiles/``, the fragment layout); the manifest is written
    last, then one task stitches ``out`` with ``blend``. A failed task is retried ``retries``
    times (an atomic tile is never torn, so a retry is harmless); an exception from ``fn`` is
    raised here with the cell in its notes and as ``exc.imkit_cell``. The grid clips at the
    far edges, as :func:`imkit.map_tiles` does by default; canvas growth (``grow``) is not
    available on a cluster."""
    tiles = Path(tile_dir) if tile_dir else Path(os.fspath(out) + ".tiles")
    manifest = _map_to_tiles(src, fn, tiles, cell, overlap, scale, client, rows_per_task,
                             cache_dir, retries)
    done = _client(client).submit(_stitch_task, os.fspath(manifest),
                                  os.path.abspath(os.fspath(out)), blend, png_compression,
                                  retries=retries, pure=False)
    return Path(done.result())


def fragment(src: PathLike, directory: PathLike, *, cell: Union[int, Tuple[int, int]] = 1024,
             overlap: int = 0, client: Any = None, rows_per_task: int = 1,
             cache_dir: Optional[PathLike] = None, retries: int = 2) -> Path:
    """Fragment ``src`` into NPY tiles + ``manifest.json`` in ``directory`` on a cluster
    (tasks over bands of grid rows); returns the manifest path, which :func:`stitch` and
    :func:`imkit.stitch` read."""
    return _map_to_tiles(src, _identity, Path(directory), cell, overlap, 1, client,
                         rows_per_task, cache_dir, retries)


def stitch(manifest: PathLike, out: PathLike, *, blend: str = "overwrite", client: Any = None,
           retries: int = 2) -> Path:
    """Run :func:`imkit.stitch` as a task on the cluster (it streams row bands and uses every
    core of its worker); returns ``out``."""
    client = _client(client)
    done = client.submit(_stitch_task, os.path.abspath(os.fspath(manifest)),
                         os.path.abspath(os.fspath(out)), blend, 1, retries=retries, pure=False)
    return Path(done.result())
