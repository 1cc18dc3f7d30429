"""Drop-in for immetaio 0.1.0: ``import imkit.compat.immetaio as immetaio``.

``save(target, arr, nonblock=False, max_workers=None, **metadata)``, ``load(target,
max_workers=None)``, ``wait_saves()`` and ``meta.save`` / ``meta.load`` behave as immetaio's:
one array to one file with an optional ``<stem>.json`` sidecar, a list of paths with a list of
arrays (metadata values split per image), a directory of numbered files, and background saves.
The extension immetaio would choose is chosen (``.png`` for u8/u16 2-D or 3/4-channel,
``.exr`` for f32 2-D or 3-channel, ``.npy`` for everything else); ndarray and numpy-scalar
metadata are encoded as immetaio does (``{"type": "ndarray", "values", "dtype"}``).

Differences from immetaio, all deliberate:

- **RGB on disk.** Arrays are stored in RGB(A) order, as they are in memory; immetaio (through
  OpenCV) writes BGR, so its RGB arrays open colour-swapped in every other viewer. Arrays
  round-trip exactly either way; files written by immetaio load here with red and blue
  swapped (reverse the last axis: ``arr[..., [2, 1, 0]]``).
- **No silent conversions.** An explicit extension that cannot hold the data (float into
  ``.png``, 4-D into ``.png``, anything into ``.jpg``) raises ``imkit.UnsupportedError`` (a
  ``ValueError``) instead of saturating to 8 bits or reporting a write that never happened.
- **Atomic writes.** Image and sidecar are each written to a temporary file and renamed, so a
  failure never leaves a truncated file; a metadata value that cannot be encoded fails before
  anything is written.
- **Dotted stems** (``scan_1.5mm``) get the extension appended instead of failing: only the
  known extensions (``.png .tif .tiff .exr .npy .jpg .jpeg``, any case) count as extensions.
- **Stale sidecars are removed**: saving without metadata deletes an older ``<stem>.json``
  (immetaio left it, and ``load`` returned stale metadata). A directory save replaces the
  numbered files and removes numbered files beyond the new count.
- **Sequences are not stacked**: list and directory saves take arrays of different shapes and
  dtypes (immetaio promoted them to one dtype or failed). A scalar metadata value is given to
  every image (immetaio raised ``TypeError``).
- **Merged metadata on multi-load** is the union of keys with ``None`` where an image lacks
  one, so ``metadata[key][i]`` always belongs to image ``i`` (immetaio misaligned or raised
  ``KeyError``). Only objects with all three of ``type``, ``values`` and ``dtype`` are turned
  back into arrays.
- **Background saves copy the array** at submit (immetaio let the caller's later writes tear
  the file), the queue is bounded (a submit waits when 256 MiB are pending instead of growing
  without limit), ``wait_saves()`` raises the first failure *and clears it*, and failures
  still pending at interpreter exit are printed. The sidecar is written by the background job
  right after its image, never before it.
- ``load`` of a name without extension finds ``name.png`` / ``.exr`` / ``.npy`` / ... when
  exactly one exists.
"""

from __future__ import annotations

from ._core import load, save, wait_saves
from . import meta

__all__ = ["save", "load", "wait_saves", "meta"]
