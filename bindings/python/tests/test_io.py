"""load/save, lists, directories, metadata only, SaveQueue."""

from __future__ import annotations

import numpy as np
import pytest

import imkit


@pytest.mark.parametrize(
    "dtype, shape, ext",
    [
        (np.uint8, (5, 7), ".png"),
        (np.uint8, (5, 7, 3), ".png"),
        (np.uint16, (5, 7, 4), ".png"),
        (np.float32, (5, 7), ".exr"),
        (np.float16, (5, 7, 6), ".exr"),
        (np.float64, (5, 7), ".npy"),
        (np.int16, (3, 4, 5, 2), ".npy"),
        (np.uint8, (11,), ".npy"),
        (np.uint8, (5, 7, 1), ".npy"),
    ],
)
def test_format_follows_data_and_round_trips(tmp_path, dtype, shape, ext):
    a = (np.arange(np.prod(shape)) % 200).astype(dtype).reshape(shape)
    written = imkit.save(tmp_path / "scan_1.5mm", a, {"k": [1, 2.5, "x", None, True]})
    assert written.name == "scan_1.5mm" + ext
    b, meta = imkit.load(written)
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    assert meta == {"k": [1, 2.5, "x", None, True]}
    assert imkit.load(tmp_path / "scan_1.5mm")[0].shape == shape  # extension optional


def test_strided_and_foreign_inputs_save_the_same_pixels(tmp_path, rgb):
    imkit.save(tmp_path / "a.png", rgb[::2, ::3])  # not row-packed: one documented copy
    np.testing.assert_array_equal(imkit.load(tmp_path / "a.png")[0], rgb[::2, ::3])
    imkit.save(tmp_path / "b.png", rgb[10:50])  # row-strided view: read in place
    np.testing.assert_array_equal(imkit.load(tmp_path / "b.png")[0], rgb[10:50])
    big_endian = np.arange(12, dtype=">u2").reshape(3, 4)
    imkit.save(tmp_path / "c.png", big_endian)
    np.testing.assert_array_equal(imkit.load(tmp_path / "c.png")[0], big_endian)
    imkit.save(tmp_path / "d", [[1.0, 2.0]])  # a list: float64 -> NPY
    assert imkit.load(tmp_path / "d.npy")[0].dtype == np.float64


def test_metadata_only_and_numpy_values(tmp_path, rgb):
    path = imkit.save(tmp_path / "img.png", rgb, {"a": 1})
    assert imkit.load_metadata(path) == {"a": 1}
    sidecar = imkit.save_metadata(path, {"spacing": np.float32(0.5), "shape": np.array([2, 3]), "nan": float("nan")}, python_tokens=True)
    assert sidecar.name == "img.json"
    meta = imkit.load_metadata(path)
    assert meta["spacing"] == 0.5 and meta["shape"] == [2, 3] and np.isnan(meta["nan"])
    with pytest.raises(imkit.InvalidArgumentError, match="NaN"):
        imkit.save_metadata(path, {"nan": float("nan")})
    imkit.save(path, rgb)  # no metadata: the stale sidecar goes
    assert not sidecar.exists() and imkit.load(path)[1] == {}


def test_lists_and_directories(tmp_path, rgb):
    arrays = [rgb, rgb[:, :, 0], rgb.astype(np.float32)]
    paths = imkit.save_list([tmp_path / "x.png", tmp_path / "y.png", tmp_path / "z"], arrays, {"shared": 1})
    assert [p.name for p in paths] == ["x.png", "y.png", "z.exr"]
    loaded = imkit.load_list(paths)
    for a, (b, meta) in zip(arrays, loaded):
        np.testing.assert_array_equal(a, b)
        assert meta == {"shared": 1}
    written = imkit.save_dir(tmp_path / "seq", [rgb] * 12, [{"i": i} for i in range(12)])
    assert written[10].name == "10.png"
    listing = imkit.load_dir(tmp_path / "seq")
    assert [m["i"] for _, _, m in listing] == list(range(12))  # natural order
    with pytest.raises(imkit.Error):
        imkit.save_dir(tmp_path / "seq", [rgb])
    imkit.save_dir(tmp_path / "seq", [rgb], overwrite=True)
    assert len(imkit.load_dir(tmp_path / "seq")) == 1


def test_save_queue(tmp_path, rgb):
    with imkit.SaveQueue(workers=2, max_jobs=4) as q:
        for i in range(10):
            assert q.push(tmp_path / f"f{i}", rgb, {"i": i}).name == f"f{i}.png"
        assert q.pending()[0] <= 4
    for i in range(10):
        a, meta = imkit.load(tmp_path / f"f{i}.png")
        np.testing.assert_array_equal(a, rgb)
        assert meta == {"i": i}
    q = imkit.SaveQueue(workers=1)
    q.push(tmp_path / "missing_dir" / "a.png", rgb)
    with pytest.raises(imkit.IoError):
        q.flush()
    (path, message), = q.errors()  # every error stays listed after flush
    assert path.name == "a.png" and "missing_dir" in message
    q.close()
    with pytest.raises(imkit.BadStateError):
        q.push(tmp_path / "b.png", rgb)


def test_save_queue_try_push_would_block(tmp_path):
    big = np.zeros((2048, 2048, 3), np.uint8)
    q = imkit.SaveQueue(workers=1, max_jobs=1)
    raised = False
    try:
        for i in range(20):
            q.try_push(tmp_path / f"b{i}.png", big)
    except imkit.WouldBlockError as e:
        raised = True
        assert isinstance(e, BlockingIOError)
    finally:
        q.close()
    assert raised


def test_load_decodes_into_the_returned_array_without_a_second_copy(tmp_path):
    a = np.ones((512, 512), np.float32)
    path = imkit.save(tmp_path / "f.npy", a)
    b, _ = imkit.load(path)
    assert b.flags.c_contiguous and b.flags.aligned and b.flags.writeable
    base = b
    while base.base is not None and isinstance(base.base, np.ndarray):
        base = base.base
    assert base.nbytes == a.nbytes  # the pixels' own buffer, handed over, not copied


def test_npy_load_normalises_byte_and_axis_order(tmp_path):
    for a in [np.arange(60, dtype=">i4").reshape(3, 4, 5),
              np.asfortranarray(np.arange(60, dtype="<f8").reshape(3, 4, 5)),
              np.asfortranarray(np.arange(24, dtype=">u2").reshape(6, 4))]:
        np.save(tmp_path / "a.npy", a)
        b, meta = imkit.load(tmp_path / "a.npy")
        assert meta == {} and b.flags.c_contiguous and b.dtype.isnative
        np.testing.assert_array_equal(b, a)
