"""Writes the large inputs of benches/all.sh's streaming section, without holding them in memory
where the format allows: a C-order NPY (memmap), a tiled deflate TIFF (tifffile, tile by tile)
and a scan-line ZIP EXR (OpenEXR; half floats, one channel, built in memory).
usage: make_big.py DIR SIDE"""
import sys
from pathlib import Path

import numpy as np

out, side = Path(sys.argv[1]), int(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
band = 1024
x = np.arange(side, dtype=np.uint32)


def rows(top, n, channels):
    y = np.arange(top, top + n, dtype=np.uint32)[:, None]
    v = ((x[None, :] * 7 + y * 13) ^ (x[None, :] >> 5)).astype(np.uint8)
    return np.repeat(v[:, :, None], channels, axis=2) if channels > 1 else v


npy = out / f"big{side}.npy"
if not npy.exists():
    a = np.lib.format.open_memmap(npy, mode="w+", dtype=np.uint8, shape=(side, side, 3))
    for top in range(0, side, band):
        a[top:top + band] = rows(top, band, 3)
    a.flush()
    del a

tif = out / f"big{side}.tif"
if not tif.exists():
    import tifffile

    def tiles():
        for top in range(0, side, 512):
            strip = rows(top, 512, 3)
            for left in range(0, side, 512):
                yield strip[:, left:left + 512]

    tifffile.imwrite(tif, tiles(), shape=(side, side, 3), dtype=np.uint8, tile=(512, 512),
                     photometric="rgb", compression="zlib", bigtiff=True)

exr = out / f"big{side}.exr"
if not exr.exists():
    import OpenEXR
    img = np.empty((side, side), dtype=np.float16)
    for top in range(0, side, band):
        img[top:top + band] = rows(top, band, 1).astype(np.float16) / 255
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(hdr, {"Y": img}).write(str(exr))
