"""imkit.compat.imkerutils: imkerutils' own test cases (its fixture image, corner offsets,
bounds, exact paste) with only the import changed, plus 16-bit exactness it could not keep."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import imkit
from imkit.compat.imkerutils.tiling_utils import (extract_tile, paste_tile, rect_from_corner,
                                                  top_left_from_corner)
from imkit.compat.imkerutils.tiling_utils.core import TILE


@pytest.fixture(scope="module")
def patterned_png(tmp_path_factory):
    """imkerutils' fixture: 2048x2048 RGB, R=(37x+17y)%256, G=(13x+53y)%256, B=(97x+19y)%256."""
    y, x = np.mgrid[0:2048, 0:2048]
    img = np.stack([(37 * x + 17 * y) % 256, (13 * x + 53 * y) % 256, (97 * x + 19 * y) % 256],
                   axis=-1).astype(np.uint8)
    path = tmp_path_factory.mktemp("imker") / "patterned.png"
    imkit.save(path, img)
    return path, img


@pytest.mark.parametrize("corner,left,top", [("tl", 100, 200), ("tr", 100 - 1023, 200),
                                              ("bl", 100, 200 - 1023),
                                              ("br", 100 - 1023, 200 - 1023)])
def test_corner_offsets(corner, left, top):
    assert top_left_from_corner(100, 200, corner) == (left, top)
    assert rect_from_corner(100, 200, corner) == (left, top, left + TILE, top + TILE)
    assert top_left_from_corner(100, 200, corner.upper()) == (left, top)


def test_bad_corner_raises():
    with pytest.raises(ValueError):
        rect_from_corner(0, 0, "middle")


def test_extract_equals_crop(patterned_png, tmp_path):
    path, img = patterned_png
    out = tmp_path / "tile.png"
    assert extract_tile(path, out, x=512, y=256) == (512, 256, 1536, 1280)
    tile, _ = imkit.load(out)
    np.testing.assert_array_equal(tile, img[256:1280, 512:1536])


def test_paste_changes_only_inside(patterned_png, tmp_path):
    path, img = patterned_png
    tile_path = tmp_path / "t.png"
    extract_tile(path, tile_path, x=1023, y=1023, corner="br")
    tile, _ = imkit.load(tile_path)
    tile[10, 10] = [1, 2, 3]
    imkit.save(tile_path, tile)
    out = tmp_path / "patched.png"
    assert paste_tile(path, tile_path, out, x=1023, y=1023, corner="br") == (0, 0)
    patched, _ = imkit.load(out)
    np.testing.assert_array_equal(patched[:1024, :1024], tile)
    expected = img.copy()
    expected[:1024, :1024] = tile
    np.testing.assert_array_equal(patched, expected)


def test_out_of_bounds_and_wrong_size(patterned_png, tmp_path):
    path, img = patterned_png
    with pytest.raises(ValueError, match="out of bounds"):
        extract_tile(path, tmp_path / "x.png", x=2000, y=0)
    small = tmp_path / "small.png"
    imkit.save(small, img[:256, :256])
    with pytest.raises(ValueError, match="exactly"):
        paste_tile(path, small, tmp_path / "y.png", x=0, y=0)
    with pytest.raises(ValueError):
        extract_tile(path, tmp_path / "z.png", x=0, y=0, tile=0)


def test_sixteen_bit_rgba_stays_exact(tmp_path):
    rng = np.random.default_rng(5)
    base = rng.integers(0, 65535, (300, 260, 4), dtype=np.uint16)
    bpath = tmp_path / "b16.png"
    imkit.save(bpath, base)
    tile = rng.integers(0, 65535, (64, 64, 4), dtype=np.uint16)
    tpath = tmp_path / "t16.png"
    imkit.save(tpath, tile)
    out = tmp_path / "o16.png"
    paste_tile(bpath, tpath, out, x=100, y=50, tile=64)
    patched, _ = imkit.load(out)
    expected = base.copy()
    expected[50:114, 100:164] = tile
    np.testing.assert_array_equal(patched, expected)


def test_console_scripts(patterned_png, tmp_path):
    path, _ = patterned_png
    run = lambda mod, *args: subprocess.run(
        [sys.executable, "-m", f"imkit.compat.imkerutils.tiling_utils.{mod}", *map(str, args)],
        cwd=tmp_path, capture_output=True, text=True)
    r = run("extract_tile", path, "--x", 2047, "--y", 2047, "--corner", "br")
    assert r.returncode == 0, r.stderr
    default = tmp_path / "outputs" / "tiles" / "patterned__br__2047_2047.png"
    assert default.exists() and "exclusive" in r.stdout
    r = run("paste_tile", path, default, "--x", 2047, "--y", 2047, "--corner", "br")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "outputs" / "images" / "patterned__patched.png").exists()
    r = run("extract_tile", path, "--x", 2000, "--y", 0)
    assert r.returncode == 1 and "out of bounds" in r.stderr and "Traceback" not in r.stderr
