"""Type stubs of the extension module imkit._imkit (re-exported by imkit)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._types import OverlapGraph, Rect

_Path = Union[str, os.PathLike[str]]
_Meta = Optional[dict[str, Any]]
_Progress = Optional[Callable[[int, int], Optional[bool]]]
_Label = Union[str, bytes]

__version__: str

def load(path: _Path) -> Tuple[np.ndarray, dict[str, Any]]: ...
def save(
    path: _Path,
    array: npt.ArrayLike,
    metadata: _Meta = None,
    *,
    png_compression: int = 1,
    exr_compression: str = "zip",
    python_tokens: bool = False,
) -> Path: ...
def load_list(paths: Sequence[_Path]) -> list[Tuple[np.ndarray, dict[str, Any]]]: ...
def save_list(
    paths: Sequence[_Path],
    arrays: Iterable[npt.ArrayLike],
    metadata: Union[None, dict[str, Any], Iterable[dict[str, Any]]] = None,
    *,
    png_compression: int = 1,
    exr_compression: str = "zip",
    python_tokens: bool = False,
) -> list[Path]: ...
def load_dir(directory: _Path) -> list[Tuple[Path, np.ndarray, dict[str, Any]]]: ...
def save_dir(
    directory: _Path,
    arrays: Iterable[npt.ArrayLike],
    metadata: Union[None, dict[str, Any], Iterable[dict[str, Any]]] = None,
    *,
    overwrite: bool = False,
    png_compression: int = 1,
    exr_compression: str = "zip",
    python_tokens: bool = False,
) -> list[Path]: ...
def load_metadata(path: _Path) -> dict[str, Any]: ...
def info(path: _Path) -> dict[str, Any]: ...
def save_metadata(path: _Path, metadata: dict[str, Any], *, python_tokens: bool = False) -> Path: ...

class SaveQueue:
    def __init__(
        self,
        *,
        workers: int = 2,
        max_bytes: int = 512 << 20,
        max_jobs: int = 64,
        png_compression: int = 1,
        exr_compression: str = "zip",
        python_tokens: bool = False,
    ) -> None: ...
    def push(self, path: _Path, array: npt.ArrayLike, metadata: _Meta = None) -> Path: ...
    def try_push(self, path: _Path, array: npt.ArrayLike, metadata: _Meta = None) -> Path: ...
    def flush(self) -> None: ...
    def errors(self) -> list[Tuple[Path, str]]: ...
    def pending(self) -> Tuple[int, int]: ...
    def close(self) -> list[Tuple[Path, str]]: ...
    def __enter__(self) -> SaveQueue: ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool: ...

def extract_tile(
    source: Union[_Path, npt.ArrayLike],
    output: Optional[_Path] = None,
    *,
    x: int,
    y: int,
    width: int = 1024,
    height: Optional[int] = None,
    corner: str = "tl",
    edge: str = "error",
    fill: float = 0.0,
    out: Optional[np.ndarray] = None,
    png_compression: int = 1,
    exr_compression: str = "zip",
    progress: _Progress = None,
) -> Union[np.ndarray, Rect]: ...
def paste_tile(
    base: Union[_Path, np.ndarray],
    tile: Union[_Path, npt.ArrayLike],
    output: Optional[_Path] = None,
    *,
    x: int,
    y: int,
    corner: str = "tl",
    edge: str = "error",
    png_compression: int = 1,
    exr_compression: str = "zip",
    progress: _Progress = None,
) -> Rect: ...
def fragment(
    partition: Partition,
    directory: _Path,
    *,
    template: Optional[str],
    cells: Optional[list[Tuple[int, int]]],
    manifest: str,
    source_label: str,
    png_compression: int,
    exr_compression: str,
    resume: bool,
    progress: _Progress,
) -> Path: ...
def stitch(
    manifest: _Path,
    output: _Path,
    *,
    blend: str,
    slice: Optional[int],
    band_rows: int,
    png_compression: int,
    exr_compression: str,
    progress: _Progress,
) -> Path: ...
def set_num_threads(n: int) -> None: ...
def set_max_pixels(samples: int) -> None: ...
def get_max_pixels() -> int: ...

_Key = Union[int, slice, "ellipsis", Tuple[Union[int, slice, "ellipsis"], ...]]

class Partition:
    def __init__(
        self,
        source: Union[_Path, np.ndarray],
        cell: Union[int, Sequence[int], None] = None,
        stride: Union[float, Sequence[float], None] = None,
        step: Union[int, Sequence[int], None] = None,
        edge: str = "clip",
        channels: Optional[Sequence[int]] = None,
        fill: float = 0.0,
        cache_dir: Optional[_Path] = None,
        volume: bool = False,
    ) -> None: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def step(self) -> Tuple[float, ...]: ...
    @property
    def cell(self) -> Tuple[int, ...]: ...
    @property
    def image_shape(self) -> Tuple[int, ...]: ...
    @property
    def dtype(self) -> str: ...
    @property
    def channels(self) -> int: ...
    @property
    def source_chunk(self) -> Optional[Tuple[int, int]]: ...
    @property
    def source(self) -> Union[Path, np.ndarray]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, key: _Key) -> Region: ...
    def __iter__(self) -> Iterator[Region]: ...
    def cell_rect(self, r: int, c: int) -> Rect: ...
    def cells_at(self, x: int, y: int) -> list[Tuple[int, int]]: ...

class Region:
    @property
    def rect(self) -> Rect: ...
    @property
    def depth(self) -> Tuple[int, int]: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def cells(self) -> list[Tuple[int, int]]: ...
    def numpy(self, dtype: npt.DTypeLike = None, out: Optional[np.ndarray] = None) -> np.ndarray: ...
    def __array__(self, dtype: npt.DTypeLike = None, copy: Optional[bool] = None) -> np.ndarray: ...

class IidEntry:
    key: int
    address: bytes
    domain: bytes
    bbox: Tuple[int, int, int, int]
    area: int
    @property
    def mask(self) -> npt.NDArray[np.bool_]: ...

class IidFile:
    def __init__(self, path: _Path) -> None: ...
    @staticmethod
    def from_bytes(data: bytes) -> IidFile: ...
    @property
    def path(self) -> Optional[Path]: ...
    @property
    def meta(self) -> Any: ...
    @property
    def groups(self) -> dict[str, npt.NDArray[np.uint32]]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, key: int) -> IidEntry: ...
    def fetch(self, keys: Optional[Sequence[int]] = None, *, groups: Union[None, str, Sequence[str]] = None) -> list[IidEntry]: ...
    def look_for(
        self,
        addresses: Union[_Label, Sequence[_Label]],
        *,
        domains: Union[None, _Label, Sequence[_Label]] = None,
        groups: Union[None, str, Sequence[str]] = None,
    ) -> npt.NDArray[np.uint32]: ...
    def filter(
        self,
        *,
        groups: Union[None, str, Sequence[str]] = None,
        domains: Union[None, _Label, Sequence[_Label]] = None,
        min_area: Optional[int] = None,
        max_area: Optional[int] = None,
        exclusive: bool = False,
    ) -> npt.NDArray[np.uint32]: ...
    def region(self, minr: int, minc: int, maxr: int, maxc: int) -> npt.NDArray[np.uint32]: ...
    def at(self, row: int, col: int) -> npt.NDArray[np.uint32]: ...
    def at_compat(self, x: int, y: int) -> npt.NDArray[np.uint32]: ...
    def regions(self, key: int) -> list[Tuple[Tuple[int, int, int, int], npt.NDArray[np.bool_]]]: ...
    @property
    def stored_groups(self) -> dict[str, list[int]]: ...
    @property
    def meta_json(self) -> str: ...
    def overlap_graph(self, keys: Optional[Sequence[int]] = None) -> OverlapGraph: ...
    def mask(self, key: int) -> npt.NDArray[np.bool_]: ...
    def groups_of(self, key: int) -> list[str]: ...
    def validate(self) -> None: ...
    def to_bytes(self) -> bytes: ...

class LookupTableEntry:
    @property
    def key(self) -> int: ...
    @property
    def iid(self) -> Any: ...
    @property
    def seg(self) -> Any: ...

class EntryTable:
    def __init__(self, file: IidFile, describe: Any, count: int) -> None: ...
    def entries(self, keys: Iterable[int]) -> list[LookupTableEntry]: ...

class IidWriter:
    def __init__(self) -> None: ...
    @staticmethod
    def from_file(file: IidFile) -> IidWriter: ...
    def __len__(self) -> int: ...
    def add(
        self,
        address: _Label,
        mask: npt.ArrayLike,
        bbox: Optional[Tuple[int, int, int, int]] = None,
        domain: Optional[_Label] = None,
    ) -> int: ...
    def add_many(self, entries: Iterable[Tuple[Any, ...]]) -> npt.NDArray[np.uint32]: ...
    def add_to_group(self, name: str, key: int) -> None: ...
    def set_group(self, name: str, keys: Sequence[int]) -> None: ...
    def set_meta_json(self, text: str) -> None: ...
    meta: Any
    def to_bytes(self) -> bytes: ...
    def save(self, path: _Path) -> Path: ...

def map_tiles(
    source: _Path,
    function: Callable[[npt.NDArray[Any], Any], npt.ArrayLike],
    output: Optional[_Path],
    *,
    cell: Union[int, Tuple[int, int], None] = None,
    overlap: int = 0,
    step: Union[int, Tuple[int, int], None] = None,
    edge: str = "clip",
    blend: str = "overwrite",
    scale: int = 1,
    grow: Tuple[int, int, int, int] = (0, 0, 0, 0),
    dtype: Any = None,
    channels: Optional[int] = None,
    fill: float = 0.0,
    threads: Optional[int] = None,
    png_compression: int = 1,
    exr_compression: str = "zip",
    progress: Optional[Callable[[int, int], Optional[bool]]] = None,
) -> Any: ...
