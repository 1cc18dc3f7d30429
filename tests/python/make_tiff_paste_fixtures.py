"""Writes the TIFF fixtures of tests/tiff_paste.rs (tiled and striped, deflate / LZW / none,
predictors 2 and 3, both byte orders, two pages) with tifffile + imagecodecs.
usage: make_tiff_paste_fixtures.py DIR"""
import sys
from pathlib import Path

import numpy as np
import tifffile

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(14)


def pattern(h, w, c, dtype):
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 3 + y * 5)[:, :, None] + np.arange(c)[None, None, :] * 40
    noise = rng.integers(0, 4, size=(h, w, c))
    v = base + noise
    if np.dtype(dtype).kind == "f":
        return (v / 7.0 - 20.0).astype(dtype)
    return (v % (np.iinfo(dtype).max + 1)).astype(dtype).squeeze() if c == 1 else (
        v % (np.iinfo(dtype).max + 1)).astype(dtype)


def gray(a):
    return a[:, :, 0] if a.ndim == 3 else a


tifffile.imwrite(out / "rgb8_deflate_pred2.tif", pattern(200, 300, 3, np.uint8), tile=(64, 64),
                 compression="zlib", predictor=True, photometric="rgb",
                 resolution=(300, 300))
tifffile.imwrite(out / "gray16_lzw_pred2_be.tif", gray(pattern(130, 190, 1, np.uint16) * 97),
                 tile=(32, 48), compression="lzw", predictor=True, byteorder=">")
tifffile.imwrite(out / "rgba_f32_deflate_pred3.tif", pattern(100, 150, 4, np.float32),
                 tile=(32, 32), compression="zlib", predictor=3, photometric="rgb",
                 extrasamples=[2])
tifffile.imwrite(out / "gray8_none.tif", gray(pattern(80, 100, 1, np.uint8)), tile=(32, 32))
tifffile.imwrite(out / "rgb8_deflate_strips.tif", pattern(90, 120, 3, np.uint8),
                 rowsperstrip=16, compression="zlib", photometric="rgb")
with tifffile.TiffWriter(out / "pages2_deflate.tif") as tif:
    for k in range(2):
        tif.write(gray(pattern(64, 96, 1, np.uint8)) + k, tile=(32, 32), compression="zlib")
tifffile.imwrite(out / "rgb8_packbits.tif", pattern(64, 96, 3, np.uint8), tile=(32, 32),
                 compression="packbits", photometric="rgb")
# JPEG tiles: lossy, so the chunk paste does not re-encode them and paste decodes the file whole.
tifffile.imwrite(out / "gray8_jpeg.tif", gray(pattern(64, 96, 1, np.uint8)), tile=(32, 32),
                 compression="jpeg")
