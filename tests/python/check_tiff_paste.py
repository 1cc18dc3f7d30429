"""Reads TIFFs imkit pasted into with tifffile and compares them with reference NPYs, byte for
byte (NaN payloads included). usage: check_tiff_paste.py TIF NPY [TIF NPY ...]"""
import sys

import numpy
import tifffile

pairs = list(zip(sys.argv[1::2], sys.argv[2::2]))
for tif, ref in pairs:
    got, want = tifffile.imread(tif, key=0), numpy.load(ref)
    got = got.reshape(want.shape).astype(want.dtype)
    assert got.tobytes() == want.tobytes(), f"{tif}: pixels differ from {ref}"
print("ok", len(pairs))
