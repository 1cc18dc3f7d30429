"""Regenerates tests/fixtures/io/*.npy with numpy (run once; the files are committed).

Values: element i of the C-order array is (i % 100) - 50 for signed and float types,
i % 100 for unsigned ones. Names: <dtype>_<shape>[_F|_BE].npy.
"""
import sys
from pathlib import Path

import numpy as np

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)


def values(dtype, shape):
    n = int(np.prod(shape)) if shape else 1
    v = np.arange(n) % 100
    if np.dtype(dtype).kind in "if":
        v = v - 50
    return v.astype(dtype).reshape(shape)


def name(dtype, shape, suffix=""):
    return f"{np.dtype(dtype).name}_{'x'.join(map(str, shape)) or 'scalar'}{suffix}.npy"


for dt in ["u1", "i1", "u2", "i2", "f2", "u4", "i4", "f4", "u8", "i8", "f8"]:
    for shape in [(), (7,), (3, 4), (2, 3, 5), (2, 2, 2, 3)]:
        np.save(out / name(dt, shape), values(dt, shape))
# Fortran order and big-endian files, which imkit reads by converting.
np.save(out / name("f4", (3, 4), "_F"), np.asfortranarray(values("f4", (3, 4))))
np.save(out / name("u2", (2, 3, 5), "_F"), np.asfortranarray(values("u2", (2, 3, 5))))
np.save(out / name("i4", (3, 4), "_BE"), values("i4", (3, 4)).astype(">i4"))
np.save(out / name("f8", (2, 3, 5), "_BE"), values("f8", (2, 3, 5)).astype(">f8"))
