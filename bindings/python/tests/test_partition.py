"""Partition: NumPy keys, lazy regions, out=, dtypes, volumes, files."""

from __future__ import annotations

import numpy as np
import pytest

import imkit


def test_geometry_matches_impart(rgb):
    p = imkit.Partition(rgb, cell=32, stride=0.5)
    assert p.shape == (6, 8) and p.step == (16.0, 16.0) and len(p) == 48
    assert p.image_shape == (97, 131) and p.dtype == "uint8" and p.channels == 3
    assert p.cell_rect(0, 0) == imkit.Rect(0, 0, 32, 32)
    assert p.cell_rect(-1, -1) == imkit.Rect(112, 80, 131, 97)  # clipped at the far edge
    assert p.cells_at(20, 40) == [(1, 0), (1, 1), (2, 0), (2, 1)]


@pytest.mark.parametrize(
    "key, rows, cols",
    [
        (1, (1, 2), (0, 8)),
        (-1, (5, 6), (0, 8)),
        ((1, 2), (1, 2), (2, 3)),
        ((slice(1, 3), slice(None, -1)), (1, 3), (0, 7)),
        ((Ellipsis, 3), (0, 6), (3, 4)),
        ((np.int64(2), Ellipsis), (2, 3), (0, 8)),
        (slice(None), (0, 6), (0, 8)),
    ],
)
def test_numpy_keys(rgb, key, rows, cols):
    p = imkit.Partition(rgb, cell=32, stride=0.5)
    region = p[key]
    assert region.cells == [rows, cols]
    r = region.rect
    np.testing.assert_array_equal(region.numpy(), rgb[r.top : r.bottom, r.left : r.right])
    np.testing.assert_array_equal(np.asarray(region), region.numpy())


def test_bad_keys(rgb):
    p = imkit.Partition(rgb, cell=32)
    with pytest.raises(imkit.OutOfBoundsError) as e:
        p[6]
    assert isinstance(e.value, IndexError) and "row index 6 is out of range" in str(e.value)
    with pytest.raises(IndexError):
        p[0, 0, 0]
    with pytest.raises(imkit.InvalidArgumentError):
        p[::2]
    with pytest.raises(TypeError):
        p["a"]


def test_out_dtype_pad_and_channels(rgb):
    p = imkit.Partition(rgb, cell=40, edge="pad", fill=9, channels=[2, 0])
    region = p[-1, -1]
    assert region.shape == (40, 40, 2)
    out = np.empty(region.shape, np.uint8)
    assert region.numpy(out=out) is out
    np.testing.assert_array_equal(out[:17, :11], rgb[80:, 120:][:, :, [2, 0]])
    assert (out[17:] == 9).all()
    as_float = region.numpy(dtype=np.float32)
    assert as_float.dtype == np.float32 and (as_float == out).all()
    with pytest.raises(imkit.MismatchError):
        region.numpy(out=np.empty((40, 40, 3), np.uint8))
    with pytest.raises(imkit.MismatchError):
        region.numpy(out=np.empty((40, 80, 2), np.uint8)[:, ::2])
    grey = imkit.Partition(rgb, cell=40, channels=[1])[0, 0].numpy()
    assert grey.shape == (40, 40)


def test_iteration_visits_every_cell(rgb):
    p = imkit.Partition(rgb, cell=50)
    regions = list(p)
    assert len(regions) == len(p) == 6
    assert [r.cells for r in regions][:2] == [[(0, 1), (0, 1)], [(0, 1), (1, 2)]]


def test_files_png_needs_cache_dir_tiff_npy_exr(tmp_path, rgb):
    png = imkit.save(tmp_path / "a.png", rgb)
    (tmp_path / "cache").mkdir()
    p = imkit.Partition(png, cell=32, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(p[1:3, 2].numpy(), rgb[32:96, 64:96])
    f32 = imkit.save(tmp_path / "f.exr", rgb.astype(np.float32))
    np.testing.assert_array_equal(imkit.Partition(f32, cell=32)[2, 3].numpy(), rgb[64:96, 96:128].astype(np.float32))
    npy = imkit.save(tmp_path / "g.npy", rgb[:, :, 0].astype(np.int16))
    np.testing.assert_array_equal(imkit.Partition(npy, cell=10)[1, 1].numpy(), rgb[10:20, 10:20, 0])


def test_volumes(tmp_path):
    vol = np.arange(6 * 20 * 30, dtype=np.uint16).reshape(6, 20, 30)
    for source in [vol, imkit.save(tmp_path / "v.npy", vol)]:
        p = imkit.Partition(source, cell=(2, 10, 10), volume=True)
        assert p.shape == (3, 2, 3) and len(p) == 18 and p.image_shape == (6, 20, 30)
        region = p[1, 0, 1:]
        assert region.depth == (2, 4) and region.shape == (2, 10, 20)
        np.testing.assert_array_equal(region.numpy(), vol[2:4, 0:10, 10:30])


def test_contiguous_array_is_read_in_place(rgb):
    p = imkit.Partition(rgb, cell=32)
    assert p.source is rgb  # the caller's array itself, not a copy
    view = rgb[5:90]
    assert imkit.Partition(view, cell=32).source is view  # row-strided: in place too
    copied = imkit.Partition(rgb[:, ::2], cell=32).source
    assert copied is not rgb and copied.flags.c_contiguous  # the one documented copy
    rgb[0, 0] = [1, 2, 3]
    assert tuple(p[0, 0].numpy()[0, 0]) == (1, 2, 3)  # reads see the live array


@pytest.mark.parametrize("shape", [(7, 23, 31), (5, 19, 26, 3)])
def test_volume_reads_match_numpy_slicing(tmp_path, shape):
    vol = np.random.default_rng(11).integers(0, 60000, size=shape, dtype=np.uint16)
    rng = np.random.default_rng(12)
    for source in [vol, imkit.save(tmp_path / "v.npy", vol)]:
        p = imkit.Partition(source, cell=(2, 8, 9), step=(2, 8, 9), volume=True)
        d, r, c = p.shape
        for _ in range(25):
            key = []
            for n in (d, r, c):
                a = int(rng.integers(0, n))
                b = int(rng.integers(a + 1, n + 1))
                neg = rng.random() < 0.5  # the same cells counted from the end
                if rng.random() < 0.4:
                    key.append(a - n if neg else a)
                else:
                    key.append(slice(a - n if neg else a, (b - n or None) if neg else b))
            region = p[tuple(key)]
            rect, (z0, z1) = region.rect, region.depth
            want = vol[z0:z1, rect.top:rect.bottom, rect.left:rect.right]
            got = region.numpy()
            assert got.shape == region.shape and got.flags.c_contiguous
            np.testing.assert_array_equal(got, want)
            out = np.empty(region.shape, vol.dtype)
            assert region.numpy(out=out) is out
            np.testing.assert_array_equal(out, want)
        np.testing.assert_array_equal(p[-1, ..., -1].numpy(dtype=np.float32),
                                      vol[(d - 1) * 2:, :, 9 * (c - 1):].astype(np.float32))


def test_source_chunk_reports_the_file_blocks(tmp_path, rgb):
    assert imkit.Partition(rgb, cell=32).source_chunk is None
    npy = imkit.save(tmp_path / "a.npy", rgb[..., 0].astype(np.int16))
    assert imkit.Partition(npy, cell=32).source_chunk == (1, 131)
    (tmp_path / "cache").mkdir()
    png = imkit.save(tmp_path / "a.png", rgb)
    assert imkit.Partition(png, cell=32, cache_dir=tmp_path / "cache").source_chunk == (1, 131)
    exr = imkit.save(tmp_path / "a.exr", rgb.astype(np.float32))
    bh, bw = imkit.Partition(exr, cell=32).source_chunk
    assert bw == 131 and bh in (1, 16, 32)  # scan-line blocks of the compression
    pyvips = pytest.importorskip("pyvips", reason="SKIPPED (pyvips is not installed)")
    tif = tmp_path / "t.tif"
    pyvips.Image.new_from_array(rgb).copy(interpretation="srgb").tiffsave(
        str(tif), tile=True, tile_width=48, tile_height=32)
    assert imkit.Partition(tif, cell=32).source_chunk == (32, 48)
