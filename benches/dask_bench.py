"""Driver of benches/dask.sh: `dask_bench.py OUTDIR SIDE` (SIDE `quick` = 4096)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np


def work(tile, info):
    """CPU-bound stand-in for a model: a few passes of a 3x3 box blur in float32."""
    x = tile.astype(np.float32)
    for _ in range(3):
        x = (x + np.roll(x, 1, 0) + np.roll(x, -1, 0) + np.roll(x, 1, 1) + np.roll(x, -1, 1)) / 5
    return x.astype(tile.dtype)


def cpu() -> float:
    """CPU seconds (user + system) this process has used: under load a fairer measure of work
    than wall time."""
    t = os.times()
    return t.user + t.system


def source(out: Path, side: int) -> Path:
    """A smooth RGB test image of side x side (made once)."""
    import imkit

    src = out / f"src{side}.png"
    if not src.exists():
        y = np.linspace(0, 20, side, dtype=np.float32)[:, None]
        img = np.stack([(np.sin(y * (k + 1) + np.linspace(0, 30, side, dtype=np.float32)) * 100
                         + 128) for k in range(3)], -1).astype(np.uint8)
        imkit.save(src, img)
    return src


def plain_loop(src: Path, out: Path, cell: int):
    """The per-cell work of the Dask tasks (read the cell, apply the function, write the NPY
    tile and hash it) in a plain loop in this process, then the manifest and the stitch;
    imkit on one thread, as in a task. Returns the wall seconds of the tiles and end to end,
    then the CPU seconds of both."""
    import imkit
    import imkit.dask as idask

    imkit.set_num_threads(idask.TASK_THREADS)
    try:
        path = os.path.abspath(src)
        cache = os.environ["IMKIT_CACHE_DIR"]
        token = idask._file_token(path)
        t0, c0 = time.perf_counter(), cpu()
        grid = idask._partition(path, (cell, cell), (cell, cell), None, cache, token)
        rows, cols = grid.shape
        cells = [(r, c) for r in range(rows) for c in range(cols)]
        tiles = out / "loop.tiles"
        tiles.mkdir(exist_ok=True)
        entries = idask._run_band(path, work, os.fspath(tiles), (cell, cell), (cell, cell),
                                  cache, token, cells, 1)
        t_tiles, c_tiles = time.perf_counter() - t0, cpu() - c0
        height, width = grid.image_shape[:2]
        meta = idask._Grid(path, (rows, cols), (height, width), (cell, cell), (cell, cell))
        manifest = idask._write_manifest(tiles, meta.manifest(entries))
        imkit.stitch(manifest, out / "loop.png")
        return t_tiles, time.perf_counter() - t0, c_tiles, cpu() - c0
    finally:
        imkit.set_num_threads(0)


def breakdown(stream, workers: int, wall: float) -> str:
    """Busy seconds per kind of task (from Dask's task stream) and the idle share."""
    busy = defaultdict(float)
    count = defaultdict(int)
    for task in stream:
        kind = task["key"].split("-")[1] if task["key"].startswith("imkit-") else \
            task["key"].split("-")[0]
        for ss in task["startstops"]:
            if ss["action"] == "compute":
                busy[kind] += ss["stop"] - ss["start"]
        count[kind] += 1
    parts = ", ".join(f"{k} {count[k]} tasks {v:.2f} s" for k, v in sorted(busy.items()))
    idle = 1 - sum(busy.values()) / (workers * wall)
    return f"{parts}; workers idle {idle:.0%} of {workers} x {wall:.2f} s"


def main():
    import imkit
    import imkit.dask as idask
    import dask.array as da
    from dask.distributed import Client, LocalCluster, get_task_stream

    out = Path(sys.argv[1]).resolve()
    side = 4096 if sys.argv[2] == "quick" else int(sys.argv[2])
    os.environ.setdefault("IMKIT_CACHE_DIR", str(out / "cache"))
    os.makedirs(os.environ["IMKIT_CACHE_DIR"], exist_ok=True)
    src = source(out, side)
    cell = 1024
    load0 = os.getloadavg()[0]
    rows = []
    notes = []
    t0 = time.perf_counter()
    imkit.map_tiles(src, work, out / "single.png", cell=cell)
    single = time.perf_counter() - t0
    rows.append(("imkit.map_tiles, one process, every core", single))
    loop_tiles, loop, loop_tiles_cpu, loop_cpu = plain_loop(src, out, cell)
    rows.append(("plain loop, one thread: read + fn + write tile per cell", loop_tiles))
    rows.append(("plain loop, one thread: the above + manifest + stitch", loop))
    times, tile_busy, work_cpu, worker_cpu = {}, {}, {}, {}
    for n in (1, 2):
        with LocalCluster(processes=True, n_workers=n, threads_per_worker=1,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            before, c0 = client.run(cpu), cpu()
            with get_task_stream(client) as ts:
                t0 = time.perf_counter()
                idask.map_tiles(src, work, out / f"dask{n}.png", cell=cell, client=client)
                times[n] = time.perf_counter() - t0
            # The client process runs the scheduler of a LocalCluster too.
            here = cpu() - c0
            worker_cpu[n] = [v - before[w] for w, v in client.run(cpu).items()]
            work_cpu[n] = sum(worker_cpu[n]) + here
            notes.append(f"{n} worker(s): CPU s per worker "
                         f"{', '.join(f'{v:.2f}' for v in worker_cpu[n])}, "
                         f"client + scheduler {here:.2f}")
            rows.append((f"imkit.dask.map_tiles, {n} worker(s)", times[n]))
            notes.append(f"{n} worker(s): {breakdown(ts.data, n, times[n])}")
            tile_busy[n] = sum(ss["stop"] - ss["start"] for t in ts.data
                               if t["key"].startswith("imkit-map-")
                               for ss in t["startstops"] if ss["action"] == "compute")
            if n == 2:
                t0 = time.perf_counter()
                arr = idask.to_dask_array(src, chunks=(cell, cell))
                res = da.map_overlap(lambda b: work(b, None), arr, depth=(0, 0, 0),
                                     boundary="none", dtype=arr.dtype)
                res.compute()
                rows.append(("dask.array.map_overlap over to_dask_array, 2 workers (no write)",
                             time.perf_counter() - t0))
    single_bytes = (out / "single.png").read_bytes()
    same = all((out / f"dask{n}.png").read_bytes() == single_bytes for n in (1, 2))
    # The NPY tiles are intermediate (3 bytes a pixel each run): gone, so reruns start alike.
    for tiles in ("loop.tiles", "dask1.png.tiles", "dask2.png.tiles"):
        shutil.rmtree(out / tiles, ignore_errors=True)
    print(f"source {side}x{side} RGB PNG, {-(-side // cell)}^2 cells of {cell}^2; load "
          f"average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (on "
          f"{os.cpu_count()} cores: wall times are only fair on a quiet machine)")
    for name, t in rows:
        print(f"  {name:<66} {t:8.2f} s")
    for note in notes:
        print(f"  tasks, {note}")
    print(f"  2 workers vs 1 worker: {times[1] / times[2]:.2f}x wall (target >= 1.8); "
          f"CPU bound {work_cpu[1] / max(worker_cpu[2]):.2f}x (1-worker CPU over the busiest "
          f"of 2 workers)")
    print(f"  per-task overhead, 1 worker vs the plain loop (same per-cell work): "
          f"tile tasks busy {tile_busy[1] / loop_tiles - 1:+.1%}, end to end "
          f"{times[1] / loop - 1:+.1%} wall, {work_cpu[1] / loop_cpu - 1:+.1%} CPU (target "
          f"< +10 %); plain loop CPU {loop_tiles_cpu:.2f} s tiles, {loop_cpu:.2f} s in all")
    print(f"  end to end, 1 worker vs imkit.map_tiles in one process on every core: "
          f"{times[1] / single - 1:+.1%}; 2 workers: {times[2] / single - 1:+.1%}")
    print(f"  dask output bytes == imkit.map_tiles output (1 and 2 workers): {same}")


if __name__ == "__main__":
    main()
