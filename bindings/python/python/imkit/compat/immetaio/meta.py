"""immetaio's ``meta`` module: the JSON sidecar alone (``save(path, **metadata)``,
``load(path)``), with immetaio's ndarray encoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Union

import imkit

from ._codec import decode, encode

#: The sidecar extension.
ext = ".json"


def save(path: Union[str, Path], **metadata: Any) -> Path:
    """Write ``metadata`` as JSON to ``path`` (parent folders created, atomic); returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imkit.save_metadata(path, encode(metadata), python_tokens=True)
    return path


def load(path: Union[str, Path]) -> Dict[str, Any]:
    """Read a JSON sidecar (``NaN``/``Infinity`` accepted) into a dict."""
    return decode(imkit.load_metadata(path))
