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
    """As codec_bench's settle() before imkit's rows: the previous row's dirty pages written
    back (and a pause for any release still running), so no row pays for the one before."""
    os.sync()
    time.sleep(0.3)


if "npy" in cases:
    npy = out / "np.npy"

    # A new file each run; removing the previous one is not timed (nor is it for imkit).
    settle()
    report("numpy_npy_write", lambda: np.save(npy, f32), npy,
           setup=lambda: npy.unlink(missing_ok=True))
    settle()
    report("numpy_npy_overwrite", lambda: np.save(npy, f32), npy)
    settle()
    report("numpy_npy_read", lambda: np.load(npy), npy)
