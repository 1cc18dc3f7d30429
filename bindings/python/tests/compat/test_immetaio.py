"""imkit.compat.immetaio: the behaviour immetaio documents, with only the import changed, and
the deliberate differences (RGB on disk, no silent conversions, atomic, bounded queue)."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

import imkit
import imkit.compat.immetaio as immetaio


def test_single_save_and_load_with_metadata(tmp_path):
    img = (np.arange(48 * 64 * 3) % 251).astype(np.uint8).reshape(48, 64, 3)
    path, sidecar = immetaio.save(tmp_path / "frame", img, exposure=0.01, K=[[1000, 0, 320],
                                                                            [0, 1000, 240],
                                                                            [0, 0, 1]])
    assert path == tmp_path / "frame.png" and sidecar == tmp_path / "frame.json"
    arr, md = immetaio.load(path)
    np.testing.assert_array_equal(arr, img)
    assert md == {"exposure": 0.01, "K": [[1000, 0, 320], [0, 1000, 240], [0, 0, 1]]}


@pytest.mark.parametrize("shape,dtype,ext", [
    ((8, 9), np.uint8, ".png"), ((8, 9, 3), np.uint16, ".png"), ((8, 9, 4), np.uint8, ".png"),
    ((8, 9, 2), np.uint8, ".npy"), ((8, 9, 1), np.uint8, ".npy"), ((8, 9), np.float32, ".exr"),
    ((8, 9, 3), np.float32, ".exr"), ((8, 9, 4), np.float32, ".npy"), ((8, 9), np.float16, ".npy"),
    ((8, 9), np.float64, ".npy"), ((5,), np.uint8, ".npy"), ((2, 8, 9, 3), np.uint8, ".npy"),
    ((8, 9), np.int16, ".npy"), ((8, 9), ">u2", ".npy"), ((0, 5), np.uint8, ".npy"),
])
def test_automatic_format_follows_immetaio(tmp_path, shape, dtype, ext):
    arr = (np.arange(int(np.prod(shape))) % 200).astype(dtype).reshape(shape)
    path, sidecar = immetaio.save(tmp_path / "a", arr)
    assert path.suffix == ext and sidecar is None
    back, md = immetaio.load(path)
    assert md == {}
    assert back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_files_are_rgb_on_disk(tmp_path):
    img = np.zeros((2, 2, 3), np.uint8)
    img[..., 0] = 10
    img[..., 2] = 30
    path, _ = immetaio.save(tmp_path / "rgb", img)
    PIL = pytest.importorskip("PIL.Image")
    assert PIL.open(path).getpixel((0, 0)) == (10, 0, 30)


def test_ndarray_and_numpy_scalar_metadata(tmp_path):
    m = np.arange(4, dtype=np.uint16).reshape(2, 2)
    path, sidecar = immetaio.save(tmp_path / "x", np.zeros((3, 3), np.uint8), m=m,
                                  w=np.float32(0.5), bad=float("nan"), name="é")
    raw = json.loads(sidecar.read_text().replace("NaN", '"NaN"'))
    assert raw["m"] == {"type": "ndarray", "values": [[0, 1], [2, 3]], "dtype": "<u2"}
    _, md = immetaio.load(path)
    assert md["m"].dtype == np.uint16
    np.testing.assert_array_equal(md["m"], m)
    assert md["w"] == 0.5 and math.isnan(md["bad"]) and md["name"] == "é"
    assert immetaio.meta.load(sidecar)["w"] == 0.5


def test_meta_module(tmp_path):
    p = immetaio.meta.save(tmp_path / "sub" / "info.json", a=1, b=[1, 2])
    assert immetaio.meta.load(p) == {"a": 1, "b": [1, 2]}
    assert immetaio.meta.ext == ".json"


def test_list_mode_splits_metadata(tmp_path):
    arrs = [np.full((4, 5), i, np.uint8) for i in range(3)]
    pairs = immetaio.save([tmp_path / f"im{i}" for i in range(3)], arrs, idx=[0, 1, 2],
                          tag=("a", "b", "c"))
    assert [p.name for p, _ in pairs] == ["im0.png", "im1.png", "im2.png"]
    loaded, md = immetaio.load([p for p, _ in pairs])
    assert [int(a[0, 0]) for a in loaded] == [0, 1, 2]
    assert md == {"idx": [0, 1, 2], "tag": ["a", "b", "c"]}
    with pytest.raises(ValueError):
        immetaio.save([tmp_path / "a", tmp_path / "b"], arrs)
    with pytest.raises(ValueError):
        immetaio.save([tmp_path / f"m{i}" for i in range(3)], arrs, idx=[1, 2])


def test_directory_mode(tmp_path):
    arrs = [np.full((4, 5), i, np.uint8) for i in range(12)]
    immetaio.save(tmp_path / "seq", arrs, i=list(range(12)))
    loaded, md = immetaio.load(tmp_path / "seq")
    assert [int(a[0, 0]) for a in loaded] == list(range(12))  # natural order: 2 < 10
    assert md["i"] == list(range(12))
    # Re-saving fewer images leaves no stale files behind (immetaio mixed them in).
    immetaio.save(tmp_path / "seq", arrs[:3])
    loaded, md = immetaio.load(tmp_path / "seq")
    assert len(loaded) == 3 and md == {}
    # Mixed shapes and dtypes are fine (immetaio stacked them).
    immetaio.save(tmp_path / "mixed", [np.zeros((2, 2), np.uint8), np.zeros((3, 4, 3), np.float32)])
    assert sorted(p.name for p in (tmp_path / "mixed").iterdir()) == ["0.png", "1.exr"]


def test_multi_load_merges_keys_with_none(tmp_path):
    a, _ = immetaio.save(tmp_path / "a", np.zeros((2, 2), np.uint8), x=1)
    b, _ = immetaio.save(tmp_path / "b", np.zeros((2, 2), np.uint8), y=2)
    _, md = immetaio.load([a, b])
    assert md == {"x": [1, None], "y": [None, 2]}


def test_no_silent_conversion(tmp_path):
    with pytest.raises(ValueError):
        immetaio.save(tmp_path / "f.png", np.full((4, 4), 0.7, np.float32))
    with pytest.raises(ValueError):
        immetaio.save(tmp_path / "f.jpg", np.zeros((4, 4), np.uint8))
    assert not list(tmp_path.iterdir())


def test_dotted_stem_gets_an_extension(tmp_path):
    path, _ = immetaio.save(tmp_path / "scan_1.5mm", np.zeros((4, 4), np.uint8))
    assert path.name == "scan_1.5mm.png"


def test_nonblocking_saves(tmp_path):
    frames = []
    for i in range(20):
        img = np.full((64, 64, 3), i, np.uint8)
        path, sidecar = immetaio.save(tmp_path / f"f{i:02}", img, nonblock=True, i=i)
        img[:] = 255  # the queue copied the array: this must not reach the file
        frames.append((path, sidecar))
    immetaio.wait_saves()
    for i, (path, sidecar) in enumerate(frames):
        arr, md = immetaio.load(path)
        assert int(arr.max()) == i and md == {"i": i}


def test_nonblocking_failure_is_raised_once(tmp_path):
    big = np.random.default_rng(2).integers(0, 256, (2160, 4096, 3), dtype=np.uint8)
    immetaio.save(tmp_path / "a", big, nonblock=True)  # keep both workers busy
    immetaio.save(tmp_path / "b", big, nonblock=True)
    sub = tmp_path / "sub"
    immetaio.save(sub / "x", np.zeros((4, 4), np.uint8), nonblock=True)
    shutil.rmtree(sub)  # gone before a worker gets to the job: its write fails
    with pytest.raises(imkit.IoError):
        immetaio.wait_saves()
    immetaio.wait_saves()  # cleared: the old error is not raised again
    assert (tmp_path / "a.png").exists() and (tmp_path / "b.png").exists()


def test_type_errors(tmp_path):
    with pytest.raises(TypeError):
        immetaio.save((tmp_path / "a",), np.zeros((2, 2), np.uint8))
    with pytest.raises(TypeError):
        immetaio.load((tmp_path / "a",))
    with pytest.raises(TypeError):
        immetaio.save(tmp_path / "s", np.zeros((2, 2), np.uint8), when=object())
    assert not (tmp_path / "s.png").exists()
