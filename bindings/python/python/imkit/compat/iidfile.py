"""Drop-in for iidfile 0.2.0: ``from imkit.compat.iidfile import IIDFile``.

``IIDFile(fpath=None)`` reads ``.iid`` files by read-only mmap through imkit (every offset
validated) and writes them byte for byte as the reference does, group key order included.
The API is the reference's: ``add``, ``save``, ``fetch``, ``look_for``, ``filter``, ``at``,
``region``, ``overlap_graph`` (alias ``compute_overlap``), ``meta.data``, ``groups.add`` /
``get`` / ``list``, ``lut.entries`` / ``lut.fetched_keys``; entries have ``.key``,
``.iid.address``, ``.iid.domain``, ``.seg.bbox``, ``.seg.area``, ``.seg.mask(bbox=None)``,
``.seg.regions()``, ``bbox_xywh``, ``bbox_polygon``, ``intersects_bbox``,
``intersects_segment``. Queries use imkit's spatial index: no query re-decodes the file.

Differences from the reference, all deliberate:

- **Results are in ascending key order** everywhere (the reference returned a CPython set
  order, e.g. keys ``[5, 8]`` as 8 then 5).
- **Files open read-only**; a read-only file or one without write permission opens fine.
  Damaged files raise ``imkit.FormatError`` (a ``ValueError``) naming the structure, at open
  or when the damaged part is first read, instead of reading on into the next section or
  returning shifted bytes.
- **save() is atomic** and checks every box and size before touching the target: a bad box
  (negative, above 65535) raises ``ValueError`` and the old file stays intact (the reference
  truncated it first). Saving an opened file needs no ``fetch(everything=True)`` first, and
  the object keeps working after ``save()`` (it reads the new file).
- **Keys are checked**: a negative or too large key raises ``IndexError`` (the reference
  indexed from the end for negatives).
- ``only_loaded`` queries never crash on entries fetched without segments; queries on a file
  that was built with ``add()`` and not saved yet answer for the added entries.
- Masks: any non-zero value is a true pixel (the reference labelled integer masks per value);
  a mask of the wrong shape or with a zero side raises ``ValueError``.
- ``Segment.mask(bbox)`` with a crop box above or left of the segment returns an empty array
  (the reference returned a wrong non-empty slice, Q21).
- ``groups.add(name)`` with no keys creates an empty group that saves fine.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import numpy as np

import imkit

__all__ = ["IIDFile", "LookupTableEntry", "IID", "Segment", "Region"]

BBox = Tuple[int, int, int, int]


def _xywh(bbox: BBox, center: bool = False) -> Tuple[Any, Any, int, int]:
    minr, minc, maxr, maxc = bbox
    x, y, w, h = minc, minr, maxc - minc, maxr - minr
    if center:
        return x + w / 2.0, y + h / 2.0, w, h
    return x, y, w, h


def _polygon(bbox: BBox) -> List[Tuple[int, int]]:
    x, y, w, h = _xywh(bbox)
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


class IID:
    """An entry's label: ``address`` (bytes) and ``domain`` (bytes, ``None`` when empty)."""

    __slots__ = ("address", "domain", "key")

    def __init__(self, address: Optional[bytes] = None, domain: Optional[bytes] = None,
                 key: Optional[int] = None) -> None:
        if address is not None and not isinstance(address, bytes):
            raise ValueError("'iid' must be encoded as bytes")
        if domain is not None and not isinstance(domain, bytes):
            raise ValueError("'domain' must be encoded as bytes")
        self.address = address
        self.domain = domain
        self.key = key

    def __repr__(self) -> str:
        return f"IID(key={self.key}, address={self.address!r}, domain={self.domain!r})"


class Region:
    """One 8-connected component of a segment: ``bbox`` (absolute) and its boolean ``mask``."""

    __slots__ = ("mask", "bbox")

    def __init__(self, mask: Optional[np.ndarray] = None, bbox: Optional[BBox] = None) -> None:
        self.mask = mask
        self.bbox = bbox

    def bbox_xywh(self, center: bool = False) -> Tuple[Any, Any, int, int]:
        """``(x, y, w, h)`` with ``(x, y)`` the top-left corner (or the centre)."""
        return _xywh(self.bbox, center)

    def bbox_polygon(self) -> List[Tuple[int, int]]:
        """The four corners, clockwise from the top-left."""
        return _polygon(self.bbox)


class Segment:
    """An entry's mask placed in the image: ``bbox`` (minr, minc, maxr, maxc; max exclusive),
    ``area`` (true pixels), ``regions()``, ``mask(bbox=None)``."""

    __slots__ = ("key", "bbox", "area", "_file")

    def __init__(self, key: int, bbox: BBox, area: int, file: "imkit.IidFile") -> None:
        self.key = key
        self.bbox = bbox
        self.area = area
        self._file = file

    def regions(self) -> List[Region]:
        """The stored 8-connected components, in file order."""
        return [Region(mask, tuple(bbox)) for bbox, mask in self._file.regions(self.key)]

    def mask(self, bbox: Optional[Sequence[int]] = None) -> np.ndarray:
        """The full boolean mask of the segment box, or its overlap with ``bbox``."""
        full = self._file.mask(self.key)
        if bbox is None:
            return full
        minr, minc, maxr, maxc = bbox
        y, x = self.bbox[0], self.bbox[1]
        r0, c0 = max(0, minr - y), max(0, minc - x)
        r1, c1 = max(r0, min(full.shape[0], maxr - y)), max(c0, min(full.shape[1], maxc - x))
        return full[r0:r1, c0:c1]

    def bbox_xywh(self, center: bool = False) -> Tuple[Any, Any, int, int]:
        """``(x, y, w, h)`` with ``(x, y)`` the top-left corner (or the centre)."""
        return _xywh(self.bbox, center)

    def bbox_polygon(self) -> List[Tuple[int, int]]:
        """The four corners, clockwise from the top-left."""
        return _polygon(self.bbox)

    def intersects_bbox(self, bbox: Sequence[int]) -> bool:
        """True when at least one true pixel lies inside the half-open ``bbox``."""
        minr, minc, maxr, maxc = (int(v) for v in bbox)
        return self.key in set(self._file.region(minr, minc, maxr, maxc).tolist())

    def intersects_segment(self, entry: "LookupTableEntry") -> int:
        """Number of pixels true in both this segment and ``entry``'s."""
        a, b = self.bbox, entry.seg.bbox
        top, left = max(a[0], b[0]), max(a[1], b[1])
        bottom, right = min(a[2], b[2]), min(a[3], b[3])
        if bottom <= top or right <= left:
            return 0
        box = (top, left, bottom, right)
        return int(np.count_nonzero(self.mask(box) & entry.seg.mask(box)))

    def __repr__(self) -> str:
        return f"Segment(key={self.key}, bbox={self.bbox}, area={self.area})"


#: One entry: ``key``, ``iid`` (label) and ``seg`` (segment), read from the file when first
#: used. Made in Rust by ``imkit._imkit.EntryTable``, so opening and fetching a file creates no
#: Python object per entry.
LookupTableEntry = imkit._imkit.LookupTableEntry


def _describe(file: "imkit.IidFile", key: int) -> Tuple[IID, Segment]:
    """An entry's label and segment, read from ``file``."""
    core = file[key]
    return (IID(bytes(core.address), bytes(core.domain) or None, key),
            Segment(key, tuple(core.bbox), int(core.area), file))


class _Entries(Sequence[LookupTableEntry]):
    """``lut.entries``: every entry by key, built on first access."""

    def __init__(self, owner: "IIDFile") -> None:
        self._owner = owner

    def __len__(self) -> int:
        return self._owner._count()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return [self._owner._entry(k) for k in range(len(self))[key]]
        return self._owner._entry(self._owner._check_key(key))


class LookupTable:
    """``lut``: ``entries`` (all entries by key) and ``fetched_keys`` (the loaded set)."""

    def __init__(self, owner: "IIDFile") -> None:
        self.entries = _Entries(owner)
        self._fetched: Set[int] = set()
        # Keys below this count are loaded too: fetching everything keeps a count, and the
        # set is only filled when asked for.
        self._below = 0
        self._owner = owner

    @property
    def fetched_keys(self) -> Set[int]:
        """The loaded keys."""
        if self._below:
            self._fetched.update(range(self._below))
            self._below = 0
        return self._fetched

    @fetched_keys.setter
    def fetched_keys(self, keys: Set[int]) -> None:
        self._fetched = keys
        self._below = 0

    def _load_all(self, count: int) -> None:
        self._below = max(self._below, count)

    def fetched_entries(self) -> List[LookupTableEntry]:
        """The loaded entries, ascending."""
        return [self._owner._entry(k) for k in sorted(self.fetched_keys)]


class Metadata:
    """``meta``: ``data`` is the file's JSON value (a dict unless set otherwise)."""

    def __init__(self, data: Any) -> None:
        self.data = data


class Groups:
    """Named key sets: ``add(name, keys)``, ``get(names, ...)``, ``list()``."""

    def __init__(self, owner: "IIDFile", stored: Dict[str, List[int]]) -> None:
        self._owner = owner
        # Python sets filled in the reference's insertion order iterate in the order the
        # reference writes: CPython's own set order.
        self._sets: Dict[str, Set[int]] = {name: set(keys) for name, keys in stored.items()}

    def add(self, name: str, keys: Optional[Iterable[int]] = None) -> None:
        """Create group ``name`` if needed and add existing ``keys`` to it."""
        keys = [self._owner._check_key(k) for k in (keys or [])]
        self._owner._modify()
        group = self._sets.setdefault(name, set())
        group.update(keys)

    def list(self) -> List[str]:
        """Group names, sorted."""
        return sorted(self._sets)

    def _keys(self, names: Union[str, Iterable[str]]) -> List[int]:
        names = [names] if isinstance(names, str) else list(names)
        keys: Set[int] = set()
        for name in names:
            if name not in self._sets:
                raise KeyError(name)
            keys |= self._sets[name]
        return sorted(keys)

    def get(self, groups: Union[str, Iterable[str]], keys_only: bool = False, iids: bool = True,
            segs: bool = False) -> Any:
        """The union of the groups' keys (``keys_only``) or their entries (fetched)."""
        keys = self._keys(groups)
        if keys_only:
            return keys
        return self._owner.fetch(keys=keys, iids=iids, segs=segs)


def _domains(domains: Any) -> Optional[List[Optional[bytes]]]:
    """The reference's rule: a falsy value means no domain filter, a non-list is one domain."""
    if not domains:
        return None
    return domains if isinstance(domains, list) else [domains]


class IIDFile:
    """An ``.iid`` file: open one (``IIDFile(path)``) or start an empty one (``IIDFile()``)."""

    def __init__(self, fpath: Optional[Any] = None) -> None:
        self.exists = fpath is not None
        self._reader: Optional[imkit.IidFile] = imkit.IidFile(fpath) if fpath else None
        self._writer: Optional[imkit.IidWriter] = None
        self._view: Optional[imkit.IidFile] = self._reader
        self._table: Optional[Any] = None
        meta = json.loads(self._reader.meta_json) if self._reader is not None else {}
        self.meta = Metadata(meta)
        stored = self._reader.stored_groups if self._reader is not None else {}
        self.groups = Groups(self, {name: list(keys) for name, keys in stored.items()})
        self.lut = LookupTable(self)

    # -- state ---------------------------------------------------------------------------

    def _count(self) -> int:
        if self._writer is not None:
            return len(self._writer)
        return len(self._reader) if self._reader is not None else 0

    def _check_key(self, key: Any) -> int:
        k = int(key)
        n = self._count()
        if not 0 <= k < n:
            raise IndexError(f"key {key} out of range (the file has {n} entries)")
        return k

    def _modify(self) -> imkit.IidWriter:
        if self._writer is None:
            self._writer = (imkit.IidWriter.from_file(self._reader) if self._reader is not None
                            else imkit.IidWriter())
        self._view = None
        self._table = None
        return self._writer

    def _file(self) -> "imkit.IidFile":
        """The file the queries run on: the opened one, or the unsaved entries."""
        if self._view is None:
            self._view = imkit.IidFile.from_bytes(self._build().to_bytes())
        return self._view

    def _entry(self, key: int) -> LookupTableEntry:
        return self._entries((key,))[0]

    def _entries(self, keys: Iterable[int]) -> List[LookupTableEntry]:
        if self._table is None:
            self._table = imkit._imkit.EntryTable(self._file(), _describe, self._count())
        return self._table.entries(keys)

    def _load(self, keys: Iterable[int]) -> Sequence[int]:
        if isinstance(keys, range):  # every key (range(count)): valid by construction
            self.lut._load_all(len(keys))
            return keys
        keys = sorted({self._check_key(k) for k in keys})
        self.lut.fetched_keys.update(keys)
        return keys

    def _build(self) -> imkit.IidWriter:
        writer = self._modify() if self._writer is None else self._writer
        writer.set_meta_json(json.dumps(self.meta.data))
        for name, keys in self.groups._sets.items():
            writer.set_group(name, list(keys))
        return writer

    # -- writing -------------------------------------------------------------------------

    def add(self, address: Optional[bytes], domain: Optional[bytes], bbox: Sequence[int],
            mask: Any, group: Optional[str] = None) -> int:
        """Add an entry (label ``address`` in ``domain``, segment ``bbox`` + ``mask``, optional
        ``group``); returns its key. Labels, box and mask shape are checked here and the mask
        is copied; masks are split, in parallel, when the file is next built."""
        if self._writer is None or self._view is not None:
            self._modify()
        key = self._writer.stage(address, domain, bbox, mask)
        if group:
            self.groups._sets.setdefault(group, set()).add(key)
        return key

    def save(self, fpath: Any) -> None:
        """Write the file atomically (byte-identical to the reference for the same calls) and
        continue on the new file."""
        self._build().save(fpath)
        self._reader = imkit.IidFile(fpath)
        self._writer = None
        self._view = self._reader
        self._table = None
        self.exists = True

    def dump(self) -> bytes:
        """The file's bytes, as ``save`` would write them."""
        return bytes(self._build().to_bytes())

    # -- queries -------------------------------------------------------------------------

    def fetch(self, keys: Any = None, all_keys: bool = False, groups: Any = None,
              iids: bool = True, segs: bool = True,
              everything: bool = False) -> List[LookupTableEntry]:
        """Select entries (``everything``, ``groups``, ``all_keys`` or ``keys``, first match
        wins), mark them loaded and return them ascending."""
        if everything:
            chosen: Iterable[int] = range(self._count())
        else:
            if isinstance(groups, str):
                groups = [groups]
            if groups:
                chosen = self.groups._keys(groups)
            elif all_keys:
                chosen = range(self._count())
            elif keys is None:
                chosen = []
            else:
                chosen = [keys] if isinstance(keys, (int, np.integer)) else keys
        return self._entries(self._load(chosen))

    def _candidates(self, groups: Any) -> Sequence[int]:
        if isinstance(groups, str):
            groups = [groups]
        return self.groups._keys(groups) if groups else range(self._count())

    def look_for(self, addresses: Any, domains: Any = None, groups: Any = None,
                 segs: bool = False) -> List[LookupTableEntry]:
        """Entries whose address equals one of ``addresses`` (a list; any other value is one
        address), optionally restricted to ``domains`` and ``groups``."""
        wanted = addresses if isinstance(addresses, list) else [addresses]
        doms = _domains(domains)
        candidates = self._load(self._candidates(groups))
        hits = []
        for entry in self._entries(candidates):
            if doms is not None and entry.iid.domain not in doms:
                continue
            if entry.iid.address in wanted:
                hits.append(entry)
        return hits

    def filter(self, groups: Any = None, area: Optional[Sequence[Optional[int]]] = None,
               domains: Any = None, iids: bool = True,
               segs: bool = False) -> List[LookupTableEntry]:
        """Entries of ``groups`` (or all) with ``min < area < max`` (both exclusive, as the
        reference) and a domain in ``domains``."""
        doms = _domains(domains)
        candidates = self._load(self._candidates(groups))
        lo = 0 if not area or area[0] is None else area[0]
        hi = None if not area else area[1]
        out = []
        for entry in self._entries(candidates):
            if doms is not None and entry.iid.domain not in doms:
                continue
            if area and not (lo < entry.seg.area and (hi is None or entry.seg.area < hi)):
                continue
            out.append(entry)
        return out

    def _spatial(self, keys: np.ndarray, only_loaded: bool) -> List[LookupTableEntry]:
        if only_loaded:
            loaded = self.lut.fetched_keys
            return self._entries(k for k in keys.tolist() if k in loaded)
        self._load(range(self._count()))  # the reference fetches everything first
        return self._entries(keys.tolist())

    def region(self, bbox: Sequence[int], only_loaded: bool = False) -> List[LookupTableEntry]:
        """Entries with at least one true pixel in the half-open box (minr, minc, maxr, maxc)."""
        minr, minc, maxr, maxc = (int(v) for v in bbox)
        return self._spatial(self._file().region(minr, minc, maxr, maxc), only_loaded)

    def at(self, x: int, y: int, only_loaded: bool = False) -> List[LookupTableEntry]:
        """The reference's ``at``: entries with a true pixel in rows ``y-1..y``, columns
        ``x-1..x`` (x is the column). ``imkit.IidFile.at`` tests the single pixel."""
        return self._spatial(self._file().at_compat(int(x), int(y)), only_loaded)

    def overlap_graph(self, everything: bool = True) -> Tuple[List[LookupTableEntry], List[Any]]:
        """``(nodes, edges)``: edges ``(A, B, shared pixels)`` for every pair of nodes whose
        masks share a true pixel, sorted by node order."""
        if everything:
            self._load(range(self._count()))
            graph = self._file().overlap_graph()
        else:
            graph = self._file().overlap_graph(sorted(self.lut.fetched_keys))
        entries = self._entries(graph.nodes.tolist())
        by_key = {e.key: e for e in entries}
        return entries, [(by_key[a], by_key[b], w)
                         for (a, b), w in zip(graph.edges.tolist(), graph.weights.tolist())]

    compute_overlap = overlap_graph
