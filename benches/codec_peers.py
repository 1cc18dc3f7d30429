"""Peer timings for benches/all.sh: OpenCV (PNG u8/u16), the OpenEXR package (ZIP) and numpy
(NPY) on the frames codec_bench wrote. Prints `name seconds bytes` lines (best of RUNS).
usage: codec_peers.py DIR RUNS [CASE...]   CASE: png exr npy (default: all)"""
import os
import sys
import time
from pathlib import Path

import numpy as np

out, runs = Path(sys.argv[1]), int(sys.argv[2])
cases = sys.argv[3:] or ["png", "exr", "npy"]


def best(f, setup=lambda: None):
    t = []
    for _ in range(runs):
        setup()
        s = time.perf_counter()
        f()
        t.append(time.perf_counter() - s)
    return min(t)


def report(name, f, path, setup=lambda: None):
    t = best(f, setup)
    print(f"{name} {t:.4f} {os.path.getsize(path)}", flush=True)


f32 = np.load(out / "frame_f32.npy")
f32 += 0  # touched: warm memory
if "png" in cases:
    import cv2
    cv2.setNumThreads(os.cpu_count() or 1)
    for depth in ("u8", "u16"):
        bgr = np.ascontiguousarray(np.load(out / f"frame_{depth}.npy")[..., ::-1])
        png = str(out / f"cv_{depth}.png")
        report(f"cv_png_{depth}_write", lambda: cv2.imwrite(png, bgr), png)
        report(f"cv_png_{depth}_read", lambda: cv2.imread(png, cv2.IMREAD_UNCHANGED), png)
    # The floor under any PNG decoder: inflating imkit's u8 file's zlib stream alone
    # (one stream, so one core), with zlib.
    import struct
    import zlib
    raw = (out / "imkit_u8.png").read_bytes()
    pos, idat = 8, bytearray()
    while pos < len(raw):
        n, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        if kind == b"IDAT":
            idat += raw[pos + 8:pos + 8 + n]
        pos += 12 + n
    report("zlib_inflate_png_u8", lambda: zlib.decompress(bytes(idat)), out / "imkit_u8.png")
if "exr" in cases:
    import OpenEXR
    exr = str(out / "py.exr")
    planes = {c: np.ascontiguousarray(f32[..., i]) for i, c in enumerate("RGB")}
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    report("openexr_exr_write", lambda: OpenEXR.File(hdr, planes).write(exr), exr)

    def read():
        with OpenEXR.File(exr) as f:
            for channel in f.channels().values():
                channel.pixels
    report("openexr_exr_read", read, exr)


def settle():
    """The previous write's dirty pages written back (and a pause for any background release),
    so no timing pays for the one before it."""
    os.sync()
    time.sleep(0.2)


def floor_save(path, header, array):
    """The bare system calls of a save: create the file, allocate its blocks (ext4 then takes a
    big write in one extent, as numpy.save's fallocate does), one write of the same bytes as
    numpy's (header and the array's memory, gathered)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.posix_fallocate(fd, 0, len(header) + array.nbytes)
        os.writev(fd, [header, memoryview(array).cast("B")])
    finally:
        os.close(fd)


def floor_load(path, shape, dtype):
    """The bare system calls of a load: open, one read into fresh memory allocated as numpy.load
    allocates it (numpy's allocator; huge pages for big arrays)."""
    out = np.empty(shape, dtype)
    with open(path, "rb", buffering=0) as f:
        f.readinto(memoryview(out).cast("B"))
    return out


def npy_rows():
    """NPY save (new file, overwrite) and load, imkit's Python package against numpy and the
    bare system calls (the floor), alternating in this one process: each round times every
    side once, in a rotating order, from the same warm source array, each new-file save after
    the destination was removed, each load from the page cache into fresh memory that is freed
    before the next side. Best of the rounds."""
    try:
        import imkit
    except ImportError:
        imkit = None
    path = out / "np.npy"
    header = _npy_header(f32)
    sides = {
        "numpy": (lambda: np.save(path, f32), lambda: np.load(path)),
        "floor_py": (lambda: floor_save(path, header, f32),
                  lambda: floor_load(path, len(header) + f32.nbytes, np.uint8)),
    }
    if imkit is not None:
        sides["imkit_py"] = (lambda: imkit.save(path, f32), lambda: imkit.load(path)[0])
    names = list(sides)
    best = {}

    def timed(key, f):
        """Best wall time as `key`, and best CPU time of the process (every thread: user +
        system) as `key_cpu`, which a loaded machine disturbs less."""
        s, c = time.perf_counter(), time.process_time()
        result = f()
        t, cpu = time.perf_counter() - s, time.process_time() - c
        del result
        best[key] = min(best.get(key, t), t)
        best[key + "_cpu"] = min(best.get(key + "_cpu", cpu), cpu)

    np.save(path, f32)
    for r in range(runs):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            path.unlink(missing_ok=True)
            settle()
            timed(f"{name}_npy_write", sides[name][0])
        for name in order:
            settle()
            timed(f"{name}_npy_overwrite", sides[name][0])
        for name in order:
            settle()
            timed(f"{name}_npy_read", sides[name][1])
    size = os.path.getsize(path)
    path.unlink()
    for key, t in best.items():
        print(f"{key} {t:.4f} {size}", flush=True)


def _npy_header(array):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(array))
    return buf.getvalue()


if "npy" in cases:
    npy_rows()
