"""Error mapping, pickling, threads and memory (no hidden copies)."""

from __future__ import annotations

import errno
import pickle
import threading
import time
import tracemalloc

import numpy as np
import pytest

import imkit


def test_error_classes_derive_from_builtins(tmp_path):
    assert issubclass(imkit.FormatError, ValueError) and issubclass(imkit.OutOfBoundsError, IndexError)
    assert issubclass(imkit.IoError, OSError) and issubclass(imkit.WouldBlockError, BlockingIOError)
    with pytest.raises(imkit.IoError) as e:
        imkit.load(tmp_path / "none.png")
    assert e.value.errno == errno.ENOENT and e.value.filename.endswith("none.png")
    assert str(e.value).startswith(str(tmp_path / "none.png"))  # the C layer's message
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(imkit.FormatError) as e:
        imkit.load(tmp_path / "bad.png")
    assert e.value.status == "IMKIT_STATUS_FORMAT" and isinstance(e.value, ValueError)
    with pytest.raises(imkit.UnsupportedError, match="float32"):
        imkit.save(tmp_path / "x.png", np.zeros((2, 2), np.float32))
    with pytest.raises(imkit.InvalidArgumentError, match="corner"):
        imkit.extract_tile(np.zeros((4, 4), np.uint8), x=0, y=0, width=2, corner="middle")
    with pytest.raises(imkit.UnsupportedError, match="dtype"):
        imkit.save(tmp_path / "b.npy", np.zeros(3, complex))


def test_pickling_reopens_files_and_carries_arrays(tmp_path, rgb, fixtures):
    path = imkit.save(tmp_path / "a.npy", rgb)
    p = imkit.Partition(path, cell=(20, 30), stride=(0.5, 1.0), edge="pad", channels=[1], fill=3)
    q = pickle.loads(pickle.dumps(p))
    assert (q.shape, q.step, q.channels, q.source) == (p.shape, p.step, p.channels, p.source)
    np.testing.assert_array_equal(q[-1, -1].numpy(), p[-1, -1].numpy())
    m = imkit.Partition(rgb, cell=25, step=10)
    n = pickle.loads(pickle.dumps(m))
    assert n.shape == m.shape and n.source is not rgb
    np.testing.assert_array_equal(n[2:4, 1].numpy(), m[2:4, 1].numpy())
    f = imkit.IidFile(fixtures / "iid" / "overlapping.iid")
    g = pickle.loads(pickle.dumps(f))
    assert g.path == f.path and len(g) == len(f)
    h = pickle.loads(pickle.dumps(imkit.IidFile.from_bytes(f.to_bytes())))
    assert h.path is None and h.at(32, 36).tolist() == f.at(32, 36).tolist()
    r = pickle.loads(pickle.dumps(imkit.Rect(1, 2, 3, 4)))
    assert r.width == 2


def test_contiguous_inputs_are_not_copied(tmp_path):
    big = np.zeros((2048, 2048, 3), np.uint8)  # 12 MiB
    tracemalloc.start()
    imkit.save(tmp_path / "big.png", big, png_compression=0)
    p = imkit.Partition(big, cell=1024)
    p[0, 0].numpy()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # numpy allocations are traced: a copy of the 12 MiB input would show; the 3 MiB cell read does.
    assert 3 << 20 <= peak < big.nbytes // 2, peak


def test_reads_from_two_threads_at_once(tmp_path, rgb):
    path = imkit.save(tmp_path / "a.exr", rgb.astype(np.float32))
    p = imkit.Partition(path, cell=16)
    results, errors = {}, []

    def work(name, key):
        try:
            for _ in range(20):
                results[name] = p[key].numpy()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=kv) for kv in [("a", (1, 2)), ("b", (-1, slice(0, 3)))]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    np.testing.assert_array_equal(results["a"], rgb[16:32, 32:48].astype(np.float32))
    np.testing.assert_array_equal(results["b"], rgb[96:97, 0:48].astype(np.float32))


def test_the_gil_is_released_during_decoding(tmp_path):
    rng = np.random.default_rng(3)
    path = imkit.save(tmp_path / "noise.png", rng.integers(0, 256, (1500, 1500, 3), dtype=np.uint8))
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    start = time.perf_counter()
    for _ in range(3):
        imkit.load(path)
    elapsed = time.perf_counter() - start
    done.set()
    t.join()
    # With the GIL held for the whole decode the ticker would stall for each load.
    during = [x for x in ticks if start < x < start + elapsed]
    assert len(during) > 0.25 * elapsed / 0.0011, (len(during), elapsed)


def test_size_limit_raises_too_large(tmp_path):
    imkit.save(tmp_path / "big.png", np.zeros((64, 64, 3), np.uint8))
    old = imkit.get_max_pixels()
    imkit.set_max_pixels(1000)
    try:
        with pytest.raises(imkit.TooLargeError) as exc:
            imkit.load(tmp_path / "big.png")
        assert isinstance(exc.value, MemoryError) and "limit" in str(exc.value)
    finally:
        imkit.set_max_pixels(old)
    assert imkit.load(tmp_path / "big.png")[0].shape == (64, 64, 3)
