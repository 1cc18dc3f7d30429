"""Driver of benches/dask.sh: `dask_bench.py OUTDIR SIDE` (SIDE `quick` = 4096)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np


def work(tile, info):
    """CPU-bound stand-in for a model: a few passes of a 3x3 box blur in float32."""
    x = tile.astype(np.float32)
    for _ in range(3):
        x = (x + np.roll(x, 1, 0) + np.roll(x, -1, 0) + np.roll(x, 1, 1) + np.roll(x, -1, 1)) / 5
    return x.astype(tile.dtype)


def main():
    import imkit
    import imkit.dask as idask
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    out = Path(sys.argv[1]).resolve()
    side = 4096 if sys.argv[2] == "quick" else int(sys.argv[2])
    os.environ.setdefault("IMKIT_CACHE_DIR", str(out / "cache"))
    os.makedirs(os.environ["IMKIT_CACHE_DIR"], exist_ok=True)
    src = out / f"src{side}.png"
    if not src.exists():
        y = np.linspace(0, 20, side, dtype=np.float32)[:, None]
        img = np.stack([(np.sin(y * (k + 1) + np.linspace(0, 30, side, dtype=np.float32)) * 100
                         + 128) for k in range(3)], -1).astype(np.uint8)
        imkit.save(src, img)
        del img
    cell = 1024
    rows = []
    t0 = time.perf_counter()
    imkit.map_tiles(src, work, out / "single.png", cell=cell)
    single = time.perf_counter() - t0
    rows.append(("imkit.map_tiles, one process", single))
    p = imkit.Partition(src, cell=cell, cache_dir=os.environ["IMKIT_CACHE_DIR"])
    t0 = time.perf_counter()
    for region in p:
        work(region.numpy(), None)
    loop = time.perf_counter() - t0
    rows.append(("plain loop: read + fn per cell", loop))
    times = {}
    for n in (1, 2):
        with LocalCluster(processes=True, n_workers=n, threads_per_worker=1,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            t0 = time.perf_counter()
            idask.map_tiles(src, work, out / f"dask{n}.png", cell=cell, client=client)
            times[n] = time.perf_counter() - t0
            rows.append((f"imkit.dask.map_tiles, {n} worker(s)", times[n]))
            if n == 2:
                t0 = time.perf_counter()
                arr = idask.to_dask_array(src, chunks=(cell, cell))
                res = da.map_overlap(lambda b: work(b, None), arr, depth=(0, 0, 0),
                                     boundary="none", dtype=arr.dtype)
                res.compute()
                rows.append(("dask.array.map_overlap over to_dask_array, 2 workers",
                             time.perf_counter() - t0))
    same = (out / "dask2.png").read_bytes() == (out / "single.png").read_bytes()
    print(f"source {side}x{side} RGB PNG, {p.shape[0]}x{p.shape[1]} cells of {cell}^2")
    for name, t in rows:
        print(f"  {name:<55} {t:8.2f} s")
    print(f"  2 workers vs 1 worker: {times[1] / times[2]:.2f}x (target >= 1.8)")
    print(f"  dask overhead vs imkit.map_tiles in one process (1 worker): "
          f"{times[1] / single - 1:+.1%} (target < +10 %)")
    print(f"  dask overhead vs the plain loop (1 worker): {times[1] / loop - 1:+.1%}")
    print(f"  dask output bytes == imkit.map_tiles output: {same}")


if __name__ == "__main__":
    main()
