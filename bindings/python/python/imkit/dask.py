"""imkit on a Dask cluster: lazy arrays over image files, and the tile pipeline, fragment and
stitch spread over workers (``pip install ./bindings/python[dask]``).

The graphs hold paths, options and cell indices, never pixels: every task opens the file on
its worker (workers must share the file system with each other, e.g. a network mount) and
reads only what it needs. Task names are tokens of (path, size, mtime, options), so building
a graph is cheap and identical across clients.

Pointing at an existing cluster: ``from dask.distributed import Client; client =
Client("tcp://scheduler:8786")`` and pass ``client=client`` (or make it the default client).
With neither, each call runs on a :func:`local_cluster` of its own (one worker process per
core, Dask settings suited to imkit's tasks: :data:`CLUSTER_CONFIG`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

import imkit

try:
    import dask
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
except ImportError as e:  # pragma: no cover - the extra is missing
    raise ImportError("imkit.dask needs dask: pip install 'imkit[dask]'") from e

__all__ = ["to_dask_array", "map_tiles", "fragment", "stitch", "local_cluster"]

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


#: Dask settings of the clusters :func:`local_cluster` starts (its workers get them through
#: their nannies, its scheduler and nannies when created): Dask's statistical profiler off
#: (it samples each worker's task thread every 10 ms on the worker's event loop, taking the
#: GIL from the task) and the event loop's other periodic checks spaced out: loop health
#: ticks every second instead of every 20 ms, the memory monitor (spill, pause) every second
#: instead of every 100 ms, the system monitor every 2 s instead of 500 ms. Measured on the
#: benchmark's workers: the event loop's CPU goes from about 4.5 % of a worker's wall time to
#: under 1 %.
CLUSTER_CONFIG: Dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def local_cluster(n_workers: Optional[int] = None, **kwargs: Any) -> Any:
    """A ``dask.distributed.LocalCluster`` suited to imkit's tasks: ``n_workers`` worker
    processes (default one per core) of one thread each, under :data:`CLUSTER_CONFIG`
    (overridden by the keys of a ``config`` dict given here). Other keyword arguments go to
    ``LocalCluster`` and override these defaults. The functions of this module start one
    for the job when called with no client and no default client. Start it under
    ``if __name__ == "__main__":`` (the workers are spawned processes)."""
    from dask.distributed import LocalCluster

    config = {**CLUSTER_CONFIG, **kwargs.pop("config", {})}
    options: Dict[str, Any] = dict(processes=True, n_workers=n_workers or _cores(),
                                   threads_per_worker=1)
    options.update(kwargs)
    with dask.config.set(config):
        return LocalCluster(config=config, **options)


@contextlib.contextmanager
def _client(client: Any) -> Iterator[Any]:
    """``client``, else the default client, else a client of a :func:`local_cluster` started
    for the block and closed after it."""
    from dask.distributed import Client, default_client

    if client is None:
        try:
            client = default_client()
        except ValueError:  # no client: a cluster of our own
            pass
    if client is not None:
        yield client
        return
    with local_cluster() as cluster, Client(cluster) as own:
        yield own


def _tile_name(row: int, col: int) -> str:
    return f"tile_{row:05}_{col:05}.npy"


#: Threads imkit uses inside a task on a worker: one, as a Dask worker thread is one core
#: (Dask sets ``OMP_NUM_THREADS=1`` in workers for the same reason).
TASK_THREADS = 1

_task_threads: Optional[int] = None


def _use_task_threads() -> None:
    """Sizes imkit's pool in this worker process to :data:`TASK_THREADS` (once)."""
    global _task_threads
    if _task_threads != TASK_THREADS:
        imkit.set_num_threads(TASK_THREADS)
        _task_threads = TASK_THREADS


# glibc's ``mallopt`` parameters, and its default trim and mmap thresholds.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_DEFAULT_THRESHOLD = 128 << 10

#: Allocations from this size up are mapped afresh while imkit's tasks run in a worker (the
#: largest mmap threshold of glibc's adaptive mode on 64-bit); see :class:`_TaskMalloc`.
TASK_MMAP_THRESHOLD = 32 << 20


class _TaskMalloc:
    """glibc's malloc as imkit's tasks run with it in a worker process.

    Dask starts workers with ``MALLOC_TRIM_THRESHOLD_`` set (so that freed memory goes back
    to the OS), which also turns off glibc's adaptive mmap threshold: every array over
    128 KiB (a cell, each temporary of the tile function, imkit's stitch bands) is then a
    fresh mapping, faulted in page by page and unmapped when freed. While imkit tasks run,
    the thresholds are those the adaptive mode reaches (:data:`TASK_MMAP_THRESHOLD`, trim
    at twice that), so freed arrays are reused; when the last running task ends, the
    environment's thresholds are restored and free memory is returned to the OS
    (``malloc_trim``), as Dask's setting intends. Nothing changes outside glibc or when
    neither ``MALLOC_TRIM_THRESHOLD_`` nor ``MALLOC_MMAP_THRESHOLD_`` is set (the adaptive
    mode already reuses)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0

    def __enter__(self) -> "_TaskMalloc":
        with self._lock:
            self._running += 1
            tuned = _malloc_control()
            if self._running == 1 and tuned is not None:
                tuned[0].mallopt(_M_MMAP_THRESHOLD, TASK_MMAP_THRESHOLD)
                tuned[0].mallopt(_M_TRIM_THRESHOLD, 2 * TASK_MMAP_THRESHOLD)
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            self._running -= 1
            tuned = _malloc_control()
            if self._running == 0 and tuned is not None:
                libc, trim, mmap = tuned
                libc.mallopt(_M_TRIM_THRESHOLD, trim)
                libc.mallopt(_M_MMAP_THRESHOLD, mmap)
                libc.malloc_trim(0)


@functools.lru_cache(maxsize=1)
def _malloc_control() -> Optional[Tuple[Any, int, int]]:
    """glibc (through ctypes) and the (trim, mmap) thresholds this process's environment set
    at its start, when glibc read them (``os.environ`` changes since do not count), or None
    outside glibc or when the environment set neither."""
    try:
        start = Path("/proc/self/environ").read_bytes().split(b"\0")
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
    except (OSError, ValueError):
        return None
    given = dict(v.split(b"=", 1) for v in start if b"=" in v)
    env = [given.get(f"MALLOC_{k}_THRESHOLD_".encode()) for k in ("TRIM", "MMAP")]
    libc = ctypes.CDLL(None)
    if env == [None, None] or not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    try:
        trim, mmap = (_DEFAULT_THRESHOLD if v is None else int(v) for v in env)
    except ValueError:
        return None
    return libc, trim, mmap


_task_malloc = _TaskMalloc()


@contextlib.contextmanager
def _in_task() -> Iterator[None]:
    """What imkit's tasks run inside on a worker: imkit on :data:`TASK_THREADS` thread(s),
    malloc as :class:`_TaskMalloc` says."""
    _use_task_threads()
    with _task_malloc:
        yield


def _run_band(src: str, fn: Callable, tile_dir: str, cell: Tuple[int, int],
              step: Tuple[int, int], cache_dir: Optional[str], token: Any,
              cells: List[Tuple[int, int]], scale: int) -> List[Dict[str, Any]]:
    """One task: each of ``cells`` through :func:`_run_cell`; returns their manifest
    entries."""
    with _in_task():
        p = _partition(src, cell, step, None, cache_dir, token)
        return [_run_cell(p, fn, tile_dir, row, col, scale) for row, col in cells]


def _run_cell(p: "imkit.Partition", fn: Callable, tile_dir: str, row: int, col: int,
              scale: int) -> Dict[str, Any]:
    """Reads cell (row, col) of ``p``, applies ``fn``, writes the result tile atomically;
    returns its manifest entry (rect scaled to the output)."""
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
    return {"z": 0, "row": row, "col": col,
            "rect": [left * scale, top * scale, (right - left) * scale, (bottom - top) * scale],
            "file": name, "sha256": digest,
            "dtype": str(tile.dtype), "channels": 1 if tile.ndim == 2 else tile.shape[2]}


class _Grid:
    """The output grid of a run: what the manifest records besides its tiles."""

    def __init__(self, src: str, shape: Tuple[int, int], size: Tuple[int, int],
                 cell: Tuple[int, int], step: Tuple[int, int]):
        self.src, self.shape, self.size, self.cell, self.step = src, shape, size, cell, step

    def manifest(self, entries: List[Dict[str, Any]],
                 kind: Optional[Tuple[str, int]] = None) -> Dict[str, Any]:
        """The fragment manifest (the documented JSON) listing ``entries``, which must all
        have one pixel type (``kind = (dtype, channels)`` when given)."""
        kinds = {(e["dtype"], e["channels"]) for e in entries} | ({kind} if kind else set())
        if len(kinds) != 1:
            raise imkit.MismatchError(f"the tile function returned tiles of different types: "
                                      f"{sorted(kinds)}")
        dtype, nchan = kinds.pop()
        return {
            "imkit_manifest": 1,
            "source": {"path": self.src, "width": self.size[1], "height": self.size[0],
                       "depth": 1, "dtype": dtype, "channels": list(range(nchan))},
            "grid": {"shape": list(self.shape), "cell": list(self.cell),
                     "stride": [{"pixels": self.step[0]}, {"pixels": self.step[1]}],
                     "edge": "clip", "fill": 0.0},
            "template": "tile_{row:05}_{col:05}.npy",
            "tiles": [{k: e[k] for k in ("z", "row", "col", "rect", "file", "sha256")}
                      for e in sorted(entries, key=lambda e: (e["row"], e["col"]))],
        }


def _write_manifest(tile_dir: Path, manifest: Dict[str, Any]) -> Path:
    path = tile_dir / "manifest.json"
    tmp = path.with_name(f".manifest.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, path)
    return path


def _stitch_task(manifest: str, output: str, blend: str, png_compression: int) -> str:
    """One task: the whole stitch of ``manifest`` into ``output``; returns it."""
    with _task_malloc:
        return os.fspath(imkit.stitch(manifest, output, blend=blend,
                                      png_compression=png_compression))


def _stitch_part_task(header: Dict[str, Any], tile_dir: str, rows: Tuple[int, int], part: str,
                      blend: str, *bands: List[Dict[str, Any]]) -> str:
    """One task: output rows ``rows`` (PNG segment boundaries) of the manifest ``header``
    (without tiles) from the tiles of ``bands`` (in manifest order) touching them or the row
    above, encoded into the PNG part file ``part``; returns it."""
    y0, y1 = rows
    tiles = [e for band in bands for e in band
             if e["rect"][1] < y1 and e["rect"][1] + e["rect"][3] >= y0]
    with _in_task():
        imkit._imkit.stitch_png_part(json.dumps(dict(header, tiles=tiles)), tile_dir, rows,
                                     part, blend=blend)
    return part


def _stitch_in_parts(client: Any, header: Dict[str, Any], tile_dir: Path, starts: List[int],
                     tiles_for: Callable[[int, int], List[Any]], blend: str, retries: int,
                     key: str) -> List[Any]:
    """Submits one task per part of the PNG output of manifest ``header`` (without tiles),
    the parts starting at the segment boundaries at or above the rows ``starts``: each gets
    ``tiles_for(top, bottom)``, lists of tile entries (or futures of them) holding every
    tile touching rows ``top..bottom``, and runs ahead of tile tasks once they are done."""
    text = json.dumps(header)
    height = header["source"]["height"]
    bounds = ([0] + [imkit._imkit.png_part_rows(text, (y, y))[0] for y in starts if y > 0]
              + [height])
    return [client.submit(_stitch_part_task, header, os.fspath(tile_dir), (y0, y1),
                          os.fspath(tile_dir / f".part_{i:05}.imkit-png-part"), blend,
                          *tiles_for(y0, y1), retries=retries, pure=False,
                          priority=1, key=f"imkit-part-{key}-{i}")
            for i, (y0, y1) in enumerate(zip(bounds, bounds[1:]))]


def _join_task(output: str, *parts: str) -> str:
    """One task: joins the PNG part files (in row order) into ``output``, then removes them."""
    with _task_malloc:
        imkit._imkit.join_png_parts(list(parts), output)
    for part in parts:
        os.remove(part)
    return output


def _join(client: Any, output: str, parts: List[Any], retries: int) -> Path:
    """Joins the parts (futures of their files) into ``output`` in a task; returns it."""
    done = client.submit(_join_task, output, *parts, retries=retries, pure=False)
    return Path(done.result())


def _identity(tile: np.ndarray, info: Any) -> np.ndarray:
    return tile


class _Run:
    """The tile tasks of one job, submitted: their futures, the output rows each covers and
    the output grid."""

    def __init__(self, src: PathLike, fn: Callable, tiles: Path,
                 cell: Union[int, Tuple[int, int]], overlap: int, scale: int, client: Any,
                 rows_per_task: int, cache_dir: Optional[PathLike], retries: int):
        from .compat.impart import default_cache_dir

        self.client = client
        self.tiles = Path(os.path.abspath(tiles))
        path = os.path.abspath(os.fspath(src))
        cache = os.fspath(cache_dir) if cache_dir else default_cache_dir()
        ch, cw = (cell, cell) if isinstance(cell, int) else tuple(cell)
        if not 0 <= overlap < min(ch, cw):
            raise imkit.InvalidArgumentError(f"overlap {overlap} must be smaller than the cell")
        if rows_per_task < 1:
            raise imkit.InvalidArgumentError(f"rows_per_task must be at least 1, got "
                                             f"{rows_per_task}")
        step = (ch - overlap, cw - overlap)
        token = _file_token(path)
        grid = _partition(path, (ch, cw), step, None, cache, token)
        rows, cols = grid.shape
        height, width = grid.image_shape[:2]
        self.grid = _Grid(path, (rows, cols), (height * scale, width * scale),
                          (ch * scale, cw * scale), (step[0] * scale, step[1] * scale))
        tiles.mkdir(parents=True, exist_ok=True)
        firsts = range(0, rows, rows_per_task)
        bands = [[(r, c) for r in range(r0, min(rows, r0 + rows_per_task)) for c in range(cols)]
                 for r0 in firsts]
        spans = [(grid.cell_rect(r0, 0).top * scale,
                  grid.cell_rect(min(rows, r0 + rows_per_task) - 1, 0).bottom * scale)
                 for r0 in firsts]
        # Every band goes to one task per worker thread (column groups), so that tasks are
        # small and even in number per worker; the last band's part goes to as many tasks (row
        # groups), so that the job's tail keeps every worker busy.
        pieces = max(1, min(cols, sum(self.client.nthreads().values())))
        groups = [(cols * k // pieces, cols * (k + 1) // pieces) for k in range(pieces)]
        bands = [[(r, c) for r, c in band if c0 <= c < c1] for band in bands for c0, c1 in groups]
        #: Output rows [top, bottom) each task's tiles cover.
        self.spans = [span for span in spans for _ in groups]
        top, bottom = spans[-1]
        #: Output rows where the PNG parts start (moved up to segment boundaries later).
        self.starts = [t for t, _ in spans] + [top + (bottom - top) * k // pieces
                                               for k in range(1, pieces)]
        n = len(bands)
        self.key = tokenize(token, (ch, cw), step, scale, os.fspath(tiles), fn)
        self.retries = retries
        self.futures = self.client.map(
            _run_band, [path] * n, [fn] * n, [os.fspath(tiles)] * n, [(ch, cw)] * n,
            [step] * n, [cache] * n, [token] * n, bands, [scale] * n, retries=retries,
            pure=False, key=[f"imkit-map-{self.key}-{i}" for i in range(n)])

    def stitch_parts(self, blend: str) -> List[Any]:
        """Tasks stitching the PNG output in parts (one per band of tiles, the last band's
        split in as many as its tasks), each starting as soon as the tiles it needs are
        written (ahead of the remaining tile tasks)."""
        first = self.futures[0].result()[0]
        header = self.grid.manifest([], (first["dtype"], first["channels"]))

        def tiles_for(top: int, bottom: int) -> List[Any]:
            return [f for f, (t, b) in zip(self.futures, self.spans) if t < bottom and b > top]

        return _stitch_in_parts(self.client, header, self.tiles, self.starts, tiles_for, blend,
                                self.retries, self.key)

    def write_manifest(self) -> Path:
        """Waits for every tile and writes the manifest (last); returns its path."""
        entries = [e for band in self.client.gather(self.futures) for e in band]
        return _write_manifest(self.tiles, self.grid.manifest(entries))


def _parts_apply(out: PathLike, png_compression: int) -> bool:
    """Whether the output can be stitched in parts: PNG at the fast level."""
    return os.fspath(out).lower().endswith(".png") and png_compression == 1


def map_tiles(src: PathLike, fn: Callable[[np.ndarray, Any], np.ndarray], out: PathLike, *,
              cell: Union[int, Tuple[int, int]] = 1024, overlap: int = 0,
              blend: str = "overwrite", scale: int = 1, client: Any = None,
              tile_dir: Optional[PathLike] = None, rows_per_task: int = 1,
              cache_dir: Optional[PathLike] = None, retries: int = 2,
              png_compression: int = 1) -> Path:
    """:func:`imkit.map_tiles` on a Dask cluster, with the same output bytes.

    Each task reads its cells (``rows_per_task`` rows of the grid, split by columns into one
    task per worker thread, so that the tail keeps every worker busy) from
    ``src`` itself, applies ``fn(tile, info)`` and writes each result atomically as an NPY
    tile into ``tile_dir`` (default ``<out>.tiles/``, the fragment layout); the manifest is
    written once every tile is. A PNG output (at ``png_compression`` 1, the default) is
    stitched by tasks over bands of rows, each encoding its rows into a part file as soon as
    its tiles are written; the parts are joined into ``out`` after the manifest. Other outputs are
    stitched by one task after the manifest. A failed task is retried ``retries`` times
    (tiles and parts are written atomically, so a retry is harmless); an exception from
    ``fn`` is raised here with the cell in its notes and as ``exc.imkit_cell``. The grid
    clips at the far edges, as :func:`imkit.map_tiles` does by default; canvas growth
    (``grow``) is not available on a cluster. ``client`` defaults to the default client, else
    a :func:`local_cluster` started for the call. Tasks run imkit on :data:`TASK_THREADS`
    thread(s) each, and under Dask's ``MALLOC_TRIM_THRESHOLD_`` with glibc's adaptive malloc
    thresholds (:data:`TASK_MMAP_THRESHOLD`), restored when the worker's last imkit task
    ends."""
    tiles = Path(tile_dir) if tile_dir else Path(os.fspath(out) + ".tiles")
    output = os.path.abspath(os.fspath(out))
    with _client(client) as client:
        run = _Run(src, fn, tiles, cell, overlap, scale, client, rows_per_task, cache_dir,
                   retries)
        if not _parts_apply(out, png_compression):
            manifest = run.write_manifest()
            done = client.submit(_stitch_task, os.fspath(manifest), output, blend,
                                 png_compression, retries=retries, pure=False)
            return Path(done.result())
        parts = run.stitch_parts(blend)
        run.write_manifest()
        return _join(client, output, parts, retries)


def fragment(src: PathLike, directory: PathLike, *, cell: Union[int, Tuple[int, int]] = 1024,
             overlap: int = 0, client: Any = None, rows_per_task: int = 1,
             cache_dir: Optional[PathLike] = None, retries: int = 2) -> Path:
    """Fragment ``src`` into NPY tiles + ``manifest.json`` in ``directory`` on a cluster
    (tasks over bands of grid rows); returns the manifest path, which :func:`stitch` and
    :func:`imkit.stitch` read."""
    with _client(client) as client:
        return _Run(src, _identity, Path(directory), cell, overlap, 1, client, rows_per_task,
                    cache_dir, retries).write_manifest()


def stitch(manifest: PathLike, out: PathLike, *, blend: str = "overwrite", client: Any = None,
           retries: int = 2) -> Path:
    """:func:`imkit.stitch` on the cluster; returns ``out``. A 2-D manifest into a PNG is
    stitched by tasks over the rows of the grid, each encoding its rows into a part file from
    the tiles touching them, then joined (the bytes of :func:`imkit.stitch`); anything else
    runs as one task (which streams row bands on every core of its worker)."""
    with _client(client) as client:
        return _stitch_on(client, manifest, out, blend, retries)


def _stitch_on(client: Any, manifest: PathLike, out: PathLike, blend: str,
               retries: int) -> Path:
    """:func:`stitch` with ``client``."""
    path = os.path.abspath(os.fspath(manifest))
    output = os.path.abspath(os.fspath(out))
    m = json.loads(Path(path).read_text())
    tiles = m.get("tiles") if isinstance(m, dict) else None
    flat = isinstance(tiles, list) and tiles and m.get("source", {}).get("depth") == 1 and all(
        isinstance(t, dict) and t.get("slices", 1) == 1 for t in tiles)
    if not (flat and _parts_apply(out, 1)):
        done = client.submit(_stitch_task, path, output, blend, 1, retries=retries,
                             pure=False)
        return Path(done.result())
    header = dict(m, tiles=[])
    starts = sorted({t["rect"][1] for t in tiles})

    def tiles_for(top: int, bottom: int) -> List[Any]:
        return [[t for t in tiles if t["rect"][1] < bottom and t["rect"][1] + t["rect"][3] > top]]

    parts = _stitch_in_parts(client, header, Path(path).parent, starts, tiles_for, blend,
                             retries, tokenize(_file_token(path), blend))
    return _join(client, output, parts, retries)
