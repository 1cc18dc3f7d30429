"""immetaio's metadata value encoding: ndarray as ``{"type": "ndarray", "values", "dtype"}``,
numpy scalars as Python scalars, tuples as lists."""

from __future__ import annotations

from typing import Any

import numpy as np


def encode(value: Any) -> Any:
    """A JSON-ready copy of ``value`` (raises ``TypeError`` for values JSON cannot hold)."""
    if isinstance(value, np.ndarray):
        return {"type": "ndarray", "values": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {_key(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _key(k: Any) -> str:
    """Dict keys as Python's json module writes them."""
    if isinstance(k, str):
        return k
    if isinstance(k, bool) or k is None:
        return {True: "true", False: "false", None: "null"}[k]
    if isinstance(k, int):
        return str(k)
    if isinstance(k, float):
        return repr(k)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")


def decode(value: Any) -> Any:
    """Turns ``{"type": "ndarray", "values", "dtype"}`` objects (all three keys) back into
    arrays, recursively."""
    if isinstance(value, dict):
        if value.get("type") == "ndarray" and "values" in value and "dtype" in value:
            return np.array(value["values"], dtype=value["dtype"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value
