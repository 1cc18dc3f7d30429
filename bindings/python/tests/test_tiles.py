"""extract/paste (files and arrays), fragment/stitch with progress and Ctrl-C."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import imkit


def test_extract_and_paste_arrays(rgb):
    tile = imkit.extract_tile(rgb, x=10, y=20, width=16, height=8)
    np.testing.assert_array_equal(tile, rgb[20:28, 10:26])
    centre = imkit.extract_tile(rgb, x=50, y=50, width=4, corner="center")
    np.testing.assert_array_equal(centre, rgb[48:52, 48:52])
    padded = imkit.extract_tile(rgb, x=120, y=90, width=16, edge="pad", fill=7)
    assert padded.shape == (16, 16, 3) and (padded[7:, :] == 7).all()
    with pytest.raises(imkit.OutOfBoundsError):
        imkit.extract_tile(rgb, x=120, y=90, width=16)
    out = np.empty((8, 16, 3), np.uint8)
    assert imkit.extract_tile(rgb, x=1, y=2, width=16, height=8, out=out) is out
    np.testing.assert_array_equal(out, rgb[2:10, 1:17])

    base = rgb.copy()
    patch = np.full((8, 16, 3), 255, np.uint8)
    rect = imkit.paste_tile(base, patch, x=10, y=20)
    assert rect == imkit.Rect(10, 20, 26, 28) and rect.width == 16
    assert (base[rect.slices] == 255).all()
    base[rect.slices] = rgb[rect.slices]
    np.testing.assert_array_equal(base, rgb)  # nothing outside the tile changed
    with pytest.raises(imkit.InvalidArgumentError, match="writeable"):
        frozen = rgb.copy()
        frozen.flags.writeable = False
        imkit.paste_tile(frozen, patch, x=0, y=0)
    overlapping = rgb.copy()
    imkit.paste_tile(overlapping, overlapping[0:8, 0:16], x=4, y=4)  # tile aliases base
    np.testing.assert_array_equal(overlapping[4:12, 4:20], rgb[0:8, 0:16])


def test_extract_and_paste_files(tmp_path, rgb):
    src = imkit.save(tmp_path / "src.png", rgb)
    rect = imkit.extract_tile(src, tmp_path / "tile.png", x=130, y=96, width=10, corner="br", edge="clip")
    assert rect == imkit.Rect(121, 87, 131, 97)
    np.testing.assert_array_equal(imkit.load(tmp_path / "tile.png")[0], rgb[87:97, 121:131])
    imkit.save(tmp_path / "white.png", np.full((5, 6, 3), 255, np.uint8))
    imkit.paste_tile(src, tmp_path / "white.png", tmp_path / "out.png", x=3, y=4)
    out = imkit.load(tmp_path / "out.png")[0]
    expect = rgb.copy()
    expect[4:9, 3:9] = 255
    np.testing.assert_array_equal(out, expect)


def test_fragment_and_stitch_round_trip_with_progress(tmp_path, rgb):
    calls = []
    manifest = imkit.fragment(rgb, tmp_path / "tiles", cell=32, stride=0.5, progress=lambda d, t: calls.append((d, t)))
    assert manifest.name == "manifest.json" and calls and calls[-1][0] == calls[-1][1]
    files = sorted(os.listdir(tmp_path / "tiles"))
    assert "tile_0000_0000.png" in files
    for blend in ["overwrite", "average", "linear", "gaussian"]:
        out = imkit.stitch(manifest, tmp_path / f"{blend}.png", blend=blend, progress=True)
        np.testing.assert_array_equal(imkit.load(out)[0], rgb)
    p = imkit.Partition(rgb.astype(np.float32), cell=(20, 40), step=(10, 30), edge="pad")
    m = imkit.fragment(p, tmp_path / "f32", template="t_{row}_{col}.npy")
    out = imkit.stitch(m, tmp_path / "f32.exr", blend="linear")
    np.testing.assert_array_equal(imkit.load(out)[0], rgb.astype(np.float32))


def test_volumes_fragment_and_stitch_back_every_slice(tmp_path):
    vol = (np.arange(9 * 40 * 50, dtype=np.uint16).reshape(9, 40, 50) * 7) % 4099
    np.save(tmp_path / "vol.npy", vol)
    # 3-D cells with a depth step (overlap in z): NPY volume tiles by default.
    m = imkit.fragment(tmp_path / "vol.npy", tmp_path / "v", volume=True, cell=(4, 16, 16), step=(2, 12, 12))
    assert "tile_0000_0000_0000.npy" in os.listdir(tmp_path / "v")
    for blend in ["overwrite", "linear", "gaussian"]:
        out = imkit.stitch(m, tmp_path / f"{blend}.npy", blend=blend)
        np.testing.assert_array_equal(np.load(out), vol)
    # Slices as images: one file per slice with {z}, one slice with slice=.
    m = imkit.fragment(tmp_path / "vol.npy", tmp_path / "s", volume=True, cell=16)
    imkit.stitch(m, tmp_path / "z_{z}.png")
    np.testing.assert_array_equal(imkit.load(tmp_path / "z_8.png")[0], vol[8])
    out = imkit.stitch(m, tmp_path / "four.png", slice=4)
    np.testing.assert_array_equal(imkit.load(out)[0], vol[4])
    with pytest.raises(imkit.Error, match="holds one image"):
        imkit.stitch(m, tmp_path / "all.png")


def test_cancel_from_the_callback(tmp_path, rgb):
    with pytest.raises(imkit.CancelledError):
        imkit.fragment(rgb, tmp_path / "t", cell=16, progress=lambda d, t: d == 0)
    with pytest.raises(ZeroDivisionError):
        imkit.fragment(rgb, tmp_path / "u", cell=16, progress=lambda d, t: 1 / 0)
    # Only finished tiles and the resume marker (`.manifest.json.partial`) stay; no temp file.
    leftovers = [f for f in os.listdir(tmp_path / "t") + os.listdir(tmp_path / "u")
                 if not f.startswith("tile_") and f != ".manifest.json.partial"]
    assert leftovers == []


def test_ctrl_c_raises_keyboard_interrupt_and_leaves_no_temporary_file(tmp_path):
    script = textwrap.dedent(
        """
        import os, signal, sys, numpy as np, imkit
        out = sys.argv[1]
        img = np.random.default_rng(1).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
        sent = []
        def progress(done, total):
            if done > 0 and not sent:
                sent.append(1)
                os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would
            return True
        try:
            imkit.fragment(img, out, cell=64, progress=progress)
        except KeyboardInterrupt:
            print("interrupted")
        """
    )
    out = tmp_path / "tiles"
    run = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "interrupted", run.stderr
    names = os.listdir(out)
    assert 0 < len(names) < 256 and "manifest.json" not in names
    names.remove(".manifest.json.partial")  # what fragment(..., resume=True) continues from
    assert all(n.startswith("tile_") and n.endswith(".png") for n in names), names


def test_fragment_resume_after_cancel_gives_the_same_files(tmp_path):
    image = np.random.default_rng(9).integers(0, 256, (200, 260, 3), dtype=np.uint8)
    imkit.save(tmp_path / "src.png", image)
    whole = imkit.fragment(tmp_path / "src.png", tmp_path / "whole", cell=64)
    with pytest.raises(imkit.CancelledError):
        imkit.fragment(tmp_path / "src.png", tmp_path / "cut", cell=64,
                       progress=lambda done, total: done < 5)
    resumed = imkit.fragment(tmp_path / "src.png", tmp_path / "cut", cell=64, resume=True)
    assert resumed.read_text().replace("cut", "whole") == whole.read_text() or \
        resumed.read_bytes() == whole.read_bytes()
    for f in (tmp_path / "whole").iterdir():
        assert (tmp_path / "cut" / f.name).read_bytes() == f.read_bytes()
