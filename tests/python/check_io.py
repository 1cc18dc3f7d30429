"""Checks files imkit wrote with numpy, Pillow and OpenEXR (driven by tests/io_python.rs).

usage: check_io.py numpy DIR | pillow DIR | openexr DIR | cv2 DIR | make-exr DIR
Each check reads every `<name>.<ext>` in DIR next to its `<name>.ref.npy` reference and exits
non-zero on the first difference. Prints one line per file checked.
"""
import io
import os
import sys
from pathlib import Path

import numpy as np


def fail(msg):
    print("MISMATCH:", msg)
    sys.exit(1)


def refs(d, ext):
    for f in sorted(Path(d).glob(f"*.{ext}")):
        yield f, np.load(f.with_suffix(".ref.npy"))


def check_numpy(d):
    for f in sorted(Path(d).glob("*.npy")):
        if f.name.endswith(".ref.npy"):
            continue
        a = np.load(f)
        ref = np.load(f.with_suffix(".ref.npy"))
        if a.dtype != ref.dtype or a.shape != ref.shape or not np.array_equal(a, ref):
            fail(f"{f}: {a.dtype}{a.shape} vs {ref.dtype}{ref.shape}")
        buf = io.BytesIO()
        np.save(buf, a)
        if buf.getvalue() != f.read_bytes():
            fail(f"{f}: numpy.save writes different bytes")
        print("ok", f.name)


def check_pillow(d):
    from PIL import Image

    for ext in ("png", "tif"):
        for f, ref in refs(d, ext):
            a = np.asarray(Image.open(f))
            if a.shape != ref.shape or not np.array_equal(a.astype(ref.dtype), ref):
                fail(f"{f}: Pillow read {a.dtype}{a.shape}, expected {ref.dtype}{ref.shape}")
            print("ok", f.name)


def names(channels):
    fixed = {1: ["Y"], 2: ["Y", "A"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "A"]}
    if channels in fixed:
        return fixed[channels]
    width = len(str(channels - 1))
    return [f"C{i:0{width}d}" for i in range(channels)]


def check_openexr(d):
    import OpenEXR

    for f, ref in refs(d, "exr"):
        ref3 = ref if ref.ndim == 3 else ref[..., None]
        chans = OpenEXR.File(str(f), separate_channels=True).channels()
        want = names(ref3.shape[2])
        if sorted(chans) != sorted(want):
            fail(f"{f}: channels {sorted(chans)}, expected {sorted(want)}")
        for i, name in enumerate(want):
            px = chans[name].pixels
            if px.dtype != ref.dtype or not np.array_equal(px, ref3[..., i]):
                fail(f"{f}: channel {name} differs ({px.dtype})")
        print("ok", f.name)


def check_cv2(d):
    """OpenCV reads imkit's EXR files (BGR(A) order, float32) with the reference's samples."""
    os.environ["OPENCV_IO_ENABLE_OPENEXR"] = "1"
    import cv2

    for f, ref in refs(d, "exr"):
        a = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        if a is None:
            fail(f"{f}: OpenCV could not read it")
        if a.ndim == 3:
            a = a[..., [2, 1, 0] + list(range(3, a.shape[2]))]
        want = ref.astype(np.float32)
        if a.shape != want.shape or not np.array_equal(a.view(np.uint32), want.view(np.uint32)):
            fail(f"{f}: OpenCV read {a.dtype}{a.shape}, expected {want.dtype}{want.shape}")
        print("ok", f.name)


def make_exr(d):
    """Writes EXR files with the OpenEXR package for imkit to read (PIZ, mixed names)."""
    import OpenEXR

    h, w = 5, 7
    rng = np.random.default_rng(1)
    rgb = rng.random((h, w, 3)).astype(np.float32)
    header = {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.scanlineimage}
    # The OpenEXR package needs contiguous planes (it misreads strided views).
    planes = {n: np.ascontiguousarray(rgb[..., i]) for i, n in enumerate("RGB")}
    OpenEXR.File(header, planes).write(
        str(Path(d) / "py_rgb.exr")
    )
    np.save(Path(d) / "py_rgb.ref.npy", rgb)
    y = rng.random((h, w)).astype(np.float16)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, {"Y": y}).write(str(Path(d) / "py_y.exr"))
    np.save(Path(d) / "py_y.ref.npy", y)
    # PIZ blocks of every sample type, 1 to 4 channels, an odd size of several blocks.
    header = {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.scanlineimage}
    h, w = 77, 67
    yy, xx = np.mgrid[0:h, 0:w]
    for dtype in (np.float16, np.float32, np.uint32):
        for names in ("Y", "YA", "RGB", "RGBA"):
            planes = {}
            for k, n in enumerate(names):
                v = (np.sin(xx * 0.1 + k) * 90 + 128 + rng.normal(0, 4, (h, w))).clip(0, 255)
                planes[n] = (v.astype(np.uint8) / 255).astype(dtype) if dtype != np.uint32 \
                    else v.astype(np.uint32) * 3
            name = f"py_piz_{np.dtype(dtype).name}_{len(names)}"
            ref = np.stack([planes[n] for n in names], axis=-1) if len(names) > 1 else planes[names]
            # The package turns the arrays of its dict into channel objects.
            OpenEXR.File(header, dict(planes)).write(str(Path(d) / f"{name}.exr"))
            np.save(Path(d) / f"{name}.ref.npy", ref)
    print("ok wrote")


{"numpy": check_numpy, "pillow": check_pillow, "openexr": check_openexr, "cv2": check_cv2,
 "make-exr": make_exr}[
    sys.argv[1]
](sys.argv[2])
