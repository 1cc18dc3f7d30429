"""Shared helpers for the drop-in module tests: fixture paths, reference packages, images."""

from __future__ import annotations

import importlib
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[4]
FIXTURES = REPO / "tests" / "fixtures"


def reference(module: str):
    """Import an original package for differential tests, or skip loudly."""
    try:
        return importlib.import_module(module)
    except Exception as e:  # noqa: BLE001 - any import failure means "not available here"
        msg = f"SKIPPED (the original {module} is not installed: {e!r})"
        print(msg, file=sys.stderr)
        pytest.skip(msg)


def header_only_png(path: Path, width: int, height: int, bands: int, depth: int) -> Path:
    """A PNG with a valid IHDR and almost no pixel data: enough for geometry, no reads."""
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[bands]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\0"))  # a start of data: readers want one IDAT
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b""))
    return path


def pattern_u8(height: int, width: int, bands: int) -> np.ndarray:
    """The partition vectors' 8-bit pattern, ``[y][x][b]``."""
    y, x, b = np.meshgrid(np.arange(height), np.arange(width), np.arange(bands), indexing="ij")
    return ((7 * x + 13 * y + 85 * b + (x * y) // 16) % 256).astype(np.uint8)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261201)
