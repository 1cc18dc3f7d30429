"""imkit.map_tiles: the streaming tile pipeline with a Python function in the loop."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import imkit


@pytest.fixture
def image(tmp_path):
    rng = np.random.default_rng(11)
    arr = rng.integers(0, 256, size=(301, 517, 3), dtype=np.uint8)
    path = tmp_path / "in.png"
    imkit.save(path, arr)
    return path, arr


@pytest.mark.parametrize("blend", ["overwrite", "average", "linear", "gaussian"])
@pytest.mark.parametrize("edge", ["clip", "shift", "pad"])
def test_identity_reproduces_the_input(image, blend, edge):
    path, arr = image
    out = imkit.map_tiles(path, lambda tile, info: tile, None, cell=96, overlap=24,
                          blend=blend, edge=edge)
    np.testing.assert_array_equal(out, arr)


def test_edit_equals_fragment_edit_stitch(image, tmp_path):
    path, arr = image

    def edit(tile, info):
        return (255 - tile) // 2 + (info.row * 7 + info.col) % 50

    piped = imkit.map_tiles(path, edit, tmp_path / "piped.png", cell=128, overlap=32,
                            blend="linear")
    manifest = imkit.fragment(path, tmp_path / "tiles", cell=128, step=96,
                              template="t_{row}_{col}.npy")
    import json
    for t in json.loads(manifest.read_text())["tiles"]:
        tile_path = tmp_path / "tiles" / t["file"]
        tile, _ = imkit.load(tile_path)

        class Info:
            row, col = t["row"], t["col"]

        imkit.save(tile_path, edit(tile, Info).astype(np.uint8))
    imkit.stitch(manifest, tmp_path / "stitched.png", blend="linear")
    assert piped.read_bytes() == (tmp_path / "stitched.png").read_bytes()


def test_upscaler_and_dtype(image):
    path, arr = image
    up = imkit.map_tiles(path, lambda t, i: np.repeat(np.repeat(t, 2, 0), 2, 1), None,
                         cell=100, overlap=20, blend="linear", scale=2)
    np.testing.assert_array_equal(up, np.repeat(np.repeat(arr, 2, 0), 2, 1))
    f = imkit.map_tiles(path, lambda t, i: t.astype(np.float32) / 255, None, cell=128,
                        dtype="float32")
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f, arr.astype(np.float32) / 255)


@pytest.mark.parametrize("grow", [(16, 0, 0, 0), (0, 16, 0, 0), (0, 0, 16, 0), (0, 0, 0, 16)])
def test_canvas_growth(image, grow):
    path, arr = image
    seen = []

    def fn(tile, info):
        seen.append(info.input_rect)
        return tile

    out = imkit.map_tiles(path, fn, None, cell=128, overlap=32, blend="linear", grow=grow,
                          fill=7)
    top, right, bottom, left = grow
    assert out.shape == (301 + top + bottom, 517 + left + right, 3)
    np.testing.assert_array_equal(out[top:top + 301, left:left + 517], arr)
    margin = out[:top] if top else out[:, :left] if left else \
        out[top + 301:] if bottom else out[:, left + 517:]
    assert (margin == 7).all()


def test_failing_function_names_the_cell_and_leaves_no_file(image, tmp_path):
    path, _ = image

    def fn(tile, info):
        if (info.row, info.col) == (1, 2):
            raise RuntimeError("model failed")
        return tile

    with pytest.raises(RuntimeError, match="model failed") as exc:
        imkit.map_tiles(path, fn, tmp_path / "out.png", cell=100)
    assert exc.value.imkit_cell == (1, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_wrong_tile_shape_is_a_clear_error(image, tmp_path):
    path, _ = image
    with pytest.raises(imkit.MismatchError, match="returned a"):
        imkit.map_tiles(path, lambda t, i: t[:10], tmp_path / "o.png", cell=100)


def test_thread_count_does_not_change_bytes(image, tmp_path):
    path, _ = image
    calls = set()

    def fn(tile, info):
        calls.add(threading.get_ident())
        return np.clip(tile.astype(np.int32) * 2 - 60, 0, 255).astype(np.uint8)

    a = imkit.map_tiles(path, fn, tmp_path / "a.png", cell=64, overlap=16, blend="gaussian")
    b = imkit.map_tiles(path, fn, tmp_path / "b.png", cell=64, overlap=16, blend="gaussian",
                        threads=2)
    assert a.read_bytes() == b.read_bytes()


def test_progress_callback_can_cancel(image, tmp_path):
    path, _ = image
    with pytest.raises(imkit.CancelledError):
        imkit.map_tiles(path, lambda t, i: t, tmp_path / "c.png", cell=64,
                        progress=lambda done, total: done < 3)
    assert not (tmp_path / "c.png").exists()
