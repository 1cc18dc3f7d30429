"""immetaio's ``save`` / ``load`` / ``wait_saves`` dispatch on imkit's I/O."""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

import imkit

from ._codec import decode, encode

PathLike = Union[str, Path]
Saved = Tuple[Path, Optional[Path]]

_KNOWN_EXTENSIONS = {".png", ".tif", ".tiff", ".exr", ".npy", ".jpg", ".jpeg"}
_DIR_EXTENSIONS = (".png", ".exr", ".npy")
# immetaio writes EXR with PIZ (through OpenCV); so does this module (same sizes, and any EXR
# reader decodes it).
_EXR_COMPRESSION = "piz"
_QUEUE_BYTES = 256 << 20


def _auto_extension(arr: np.ndarray) -> str:
    """immetaio's table: u8/u16 2-D or (h, w, 3|4) -> PNG, f32 2-D or (h, w, 3) -> EXR, else NPY
    (also for big-endian and empty arrays)."""
    native = arr.dtype.byteorder in ("=", "|") or arr.dtype.isnative
    image2d = arr.ndim == 2 or arr.ndim == 3
    if not native or arr.size == 0 or not image2d:
        return ".npy"
    if arr.dtype in (np.uint8, np.uint16) and (arr.ndim == 2 or arr.shape[2] in (3, 4)):
        return ".png"
    if arr.dtype == np.float32 and (arr.ndim == 2 or arr.shape[2] == 3):
        return ".exr"
    return ".npy"


def _target_path(path: PathLike, arr: np.ndarray) -> Path:
    path = Path(path)
    if path.suffix.lower() in _KNOWN_EXTENSIONS:
        return path
    return Path(str(path) + _auto_extension(arr))


def _sidecar(path: Path, metadata: Dict[str, Any]) -> Optional[Path]:
    return path.with_suffix(".json") if metadata else None


def _save_one(path: PathLike, arr: Any, metadata: Dict[str, Any]) -> Saved:
    arr = np.asarray(arr)
    target = _target_path(path, arr)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = imkit.save(target, arr, encode(metadata) or None, exr_compression=_EXR_COMPRESSION,
                         python_tokens=True)
    return Path(written), _sidecar(Path(written), metadata)


class _Background:
    """The process-wide background saver behind ``nonblock=True``: one bounded imkit
    SaveQueue, created on first use, drained at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: Optional[imkit.SaveQueue] = None

    def push(self, path: PathLike, arr: Any, metadata: Dict[str, Any]) -> Saved:
        arr = np.asarray(arr)
        target = _target_path(path, arr)
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self._queue is None:
                self._queue = imkit.SaveQueue(max_bytes=_QUEUE_BYTES,
                                              exr_compression=_EXR_COMPRESSION,
                                              python_tokens=True)
            queue = self._queue
        written = Path(queue.push(target, arr, encode(metadata) or None))
        return written, _sidecar(written, metadata)

    def wait(self) -> None:
        with self._lock:
            queue = self._queue
        if queue is None:
            return
        try:
            queue.flush()
        finally:
            queue.errors()  # taken: the next wait_saves() does not raise them again

    def drain_at_exit(self) -> None:
        with self._lock:
            queue, self._queue = self._queue, None
        if queue is None:
            return
        for path, message in queue.close():
            print(f"imkit.compat.immetaio: the background save of {path} failed: {message}",
                  file=sys.stderr)


_background = _Background()
atexit.register(_background.drain_at_exit)


def wait_saves() -> None:
    """Block until every background save has finished; raise the first failure (and forget
    the failures, so the next call does not raise them again)."""
    _background.wait()


def _per_image(metadata: Dict[str, Any], n: int) -> List[Dict[str, Any]]:
    """Split metadata lists per image: ``{key: values[i]}``; scalars (and strings) go to every
    image."""
    out: List[Dict[str, Any]] = [{} for _ in range(n)]
    for key, value in metadata.items():
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
            for d in out:
                d[key] = value
            continue
        if len(value) != n:
            raise ValueError(f"metadata {key!r} has {len(value)} values for {n} images")
        for d, v in zip(out, value):
            d[key] = v
    return out


def _pool_map(fn: Any, items: Sequence[Any], max_workers: Optional[int]) -> List[Any]:
    if max_workers == 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return list(pool.map(fn, items))


def _save_many(paths: Sequence[PathLike], arrs: Sequence[Any], metadata: Dict[str, Any],
               max_workers: Optional[int]) -> List[Saved]:
    if isinstance(arrs, np.ndarray):
        arrs = list(arrs)
    if len(paths) != len(arrs):
        raise ValueError(f"{len(paths)} paths for {len(arrs)} arrays")
    metas = _per_image(metadata, len(arrs))
    return _pool_map(lambda job: _save_one(*job), list(zip(paths, arrs, metas)), max_workers)


def _numbered(name: str) -> bool:
    return re.fullmatch(r"\d+\.(png|exr|npy|json)", name) is not None


def _save_dir(directory: Path, arrs: Sequence[Any], metadata: Dict[str, Any],
              max_workers: Optional[int]) -> List[Saved]:
    directory.mkdir(parents=True, exist_ok=True)
    stale = [p for p in directory.iterdir() if _numbered(p.name)]
    saved = _save_many([directory / str(i) for i in range(len(arrs))], arrs, metadata,
                       max_workers)
    keep = {p for pair in saved for p in pair if p is not None}
    for p in stale:
        if p not in keep:
            p.unlink(missing_ok=True)
    return saved


def save(target: Any, arr: Any, nonblock: bool = False, max_workers: Optional[int] = None,
         **metadata: Any) -> Union[Saved, List[Saved]]:
    """Save one array (``target`` a path), a list of arrays to a list of paths (``target`` a
    list), or a sequence of arrays into a directory as ``0``, ``1``, ... (``target`` a path and
    ``arr`` not an ndarray). Returns ``(array_path, sidecar_path or None)``, or a list of them.
    With ``nonblock=True`` a single save runs in the background (see :func:`wait_saves`)."""
    if isinstance(target, list):
        return _save_many(target, arr, metadata, max_workers)
    if not isinstance(target, (str, Path)):
        raise TypeError(f"target must be a str, Path or list, not {type(target).__name__}")
    if isinstance(arr, np.ndarray):
        if nonblock:
            return _background.push(target, arr, metadata)
        return _save_one(target, arr, metadata)
    return _save_dir(Path(target), list(arr), metadata, max_workers)


def _load_one(path: PathLike) -> Tuple[np.ndarray, Dict[str, Any]]:
    arr, md = imkit.load(path)
    return arr, decode(md)


def _natural_key(path: Path) -> List[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def _merge(metas: Sequence[Dict[str, Any]]) -> Dict[str, List[Any]]:
    keys: Dict[str, None] = {}
    for md in metas:
        keys.update(dict.fromkeys(md))
    return {k: [md.get(k) for md in metas] for k in keys}


def _load_many(paths: Sequence[PathLike],
               max_workers: Optional[int]) -> Tuple[List[np.ndarray], Dict[str, List[Any]]]:
    loaded = _pool_map(_load_one, list(paths), max_workers)
    return [a for a, _ in loaded], _merge([m for _, m in loaded])


def load(target: Any, max_workers: Optional[int] = None) -> Any:
    """Load one file (``(array, metadata)``), a list of files or a directory's ``.png`` /
    ``.exr`` / ``.npy`` files in natural order (``([arrays], {key: [values]})``)."""
    if isinstance(target, list):
        return _load_many(target, max_workers)
    if not isinstance(target, (str, Path)):
        raise TypeError(f"target must be a str, Path or list, not {type(target).__name__}")
    path = Path(target)
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.suffix in _DIR_EXTENSIONS and p.is_file()),
                       key=_natural_key)
        return _load_many(files, max_workers)
    return _load_one(path)
