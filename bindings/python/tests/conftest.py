"""Shared fixtures: the repository's tests/fixtures directory and small images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(os.environ.get("IMKIT_FIXTURES", Path(__file__).resolve().parents[3] / "tests" / "fixtures"))


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def rgb() -> np.ndarray:
    """A 97x131 RGB uint8 image with distinct pixels (odd sizes catch off-by-ones)."""
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, size=(97, 131, 3), dtype=np.uint8)
