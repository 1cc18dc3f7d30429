"""Driver of benches/dask.sh: `dask_bench.py OUTDIR SIDE` (SIDE `quick` = 4096)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import List

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


def _loop_part(src: str, tiles: str, cell: int, cache: str, rows: List[int], fn_only: bool,
               start, results) -> None:
    """A process of :func:`loops_at_once`: once ``start`` lets every process go, the tile
    work of the grid rows ``rows`` (``fn_only``: the function alone, on cells read
    beforehand); puts (start, end, CPU seconds) on ``results``."""
    import imkit
    import imkit.dask as idask

    imkit.set_num_threads(idask.TASK_THREADS)
    token = idask._file_token(src)
    grid = idask._partition(src, (cell, cell), (cell, cell), None, cache, token)
    cells = [(r, c) for r in rows for c in range(grid.shape[1])]
    tiles_in = [grid[r, c].numpy() for r, c in cells] if fn_only else None
    start.wait()
    t0, c0 = time.perf_counter(), cpu()
    if fn_only:
        for tile in tiles_in:
            work(tile, None)
    else:
        idask._run_band(src, work, tiles, (cell, cell), (cell, cell), cache, token, cells, 1)
    results.put((t0, time.perf_counter(), cpu() - c0))


def loops_at_once(src: Path, out: Path, cell: int, processes: int, fn_only: bool):
    """The plain loop's tile work (or the function alone) split over ``processes`` processes
    running at once without Dask, each on every ``processes``-th grid row: what the machine
    gives two workers before any Dask cost. Returns the wall seconds (first start to last
    end) and the CPU seconds of all."""
    import multiprocessing as mp

    import imkit.dask as idask

    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(processes), ctx.Queue()
    tiles = out / "loop.tiles"
    tiles.mkdir(exist_ok=True)
    path, cache = os.path.abspath(src), os.environ["IMKIT_CACHE_DIR"]
    rows = idask._partition(path, (cell, cell), (cell, cell), None, cache,
                            idask._file_token(path)).shape[0]
    procs = [ctx.Process(target=_loop_part,
                         args=(path, os.fspath(tiles), cell, cache,
                               list(range(k, rows, processes)), fn_only, start, results))
             for k in range(processes)]
    for proc in procs:
        proc.start()
    got = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    return max(g[1] for g in got) - min(g[0] for g in got), sum(g[2] for g in got)


def thread_cpu() -> dict:
    """CPU seconds of each thread of this process so far, by kind: ``tasks`` (Dask's task
    threads), ``loop`` (the main thread: a worker's event loop, or the client's), ``io loop``
    (the thread of the client that runs a LocalCluster's scheduler and nannies) and ``native``
    (threads Python did not start, e.g. imkit's pool)."""
    import threading

    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    kinds = defaultdict(float)
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        name = names.get(int(tid))
        kind = ("native" if name is None else "tasks" if "Dask-Default-Threads" in name
                else "loop" if name == "MainThread" else "io loop" if name == "IO loop"
                else "other")
        kinds[kind] += (int(stat[11]) + int(stat[12])) / tick
    return dict(kinds)


def thread_delta(before: dict, after: dict) -> str:
    return ", ".join(f"{k} {after[k] - before.get(k, 0):.2f}" for k in sorted(after)
                     if after[k] - before.get(k, 0) >= 0.01)


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
    from dask.distributed import Client, get_task_stream

    out = Path(sys.argv[1]).resolve()
    side = 4096 if sys.argv[2] == "quick" else int(sys.argv[2])
    os.environ.setdefault("IMKIT_CACHE_DIR", str(out / "cache"))
    os.makedirs(os.environ["IMKIT_CACHE_DIR"], exist_ok=True)
    src = source(out, side)
    cell = 1024
    load0 = os.getloadavg()[0]
    rows = []
    notes, runs, overlap = {}, [], None
    t0 = time.perf_counter()
    imkit.map_tiles(src, work, out / "single.png", cell=cell)
    single = time.perf_counter() - t0
    rows.append(("imkit.map_tiles, one process, every core", single))
    loop_tiles, loop, loop_tiles_cpu, loop_cpu = plain_loop(src, out, cell)
    rows.append(("plain loop, one thread: read + fn + write tile per cell", loop_tiles))
    rows.append(("plain loop, one thread: the above + manifest + stitch", loop))
    at_once = {}
    for fn_only in (True, False):
        for n in (1, 2, 1, 2):  # alternating, best of two
            got = loops_at_once(src, out, cell, n, fn_only)
            if (fn_only, n) not in at_once or got[0] < at_once[fn_only, n][0]:
                at_once[fn_only, n] = got
    times, tile_busy, work_cpu, worker_cpu = {}, {}, {}, {}
    # The clusters a user following the README gets (imkit.dask.local_cluster: worker
    # processes of one thread, Dask's profiler off, its periodic checks spaced out), 1 and 2
    # workers alternated, the best run of each kept.
    for n in (1, 2, 1, 2):
        name = f"{n} worker(s)"
        with idask.local_cluster(n) as cluster, Client(cluster) as client:
            before, c0 = client.run(cpu), cpu()
            threads0, here0 = client.run(thread_cpu), thread_cpu()
            with get_task_stream(client) as ts:
                t0 = time.perf_counter()
                idask.map_tiles(src, work, out / f"dask{n}.png", cell=cell, client=client)
                wall = time.perf_counter() - t0
            runs.append((n, wall))
            if n in times and times[n] <= wall:
                continue
            times[n] = wall
            # The client process runs the scheduler and nannies of a LocalCluster too.
            here = cpu() - c0
            worker_cpu[n] = [v - before[w] for w, v in client.run(cpu).items()]
            threads1, here1 = client.run(thread_cpu), thread_cpu()
            work_cpu[n] = sum(worker_cpu[n]) + here
            notes[n] = [
                f"{name}: CPU s per worker {', '.join(f'{v:.2f}' for v in worker_cpu[n])}, "
                f"client + scheduler {here:.2f}",
                f"{name}: CPU s by thread: " + "; ".join(
                    f"worker {i} {thread_delta(threads0[w], threads1[w])}"
                    for i, w in enumerate(threads1)) + f"; client {thread_delta(here0, here1)}",
                f"{name}: {breakdown(ts.data, n, wall)}"]
            tile_busy[n] = sum(ss["stop"] - ss["start"] for t in ts.data
                               if t["key"].startswith("imkit-map-")
                               for ss in t["startstops"] if ss["action"] == "compute")
            if n == 2 and overlap is None:
                t0 = time.perf_counter()
                arr = idask.to_dask_array(src, chunks=(cell, cell))
                res = da.map_overlap(lambda b: work(b, None), arr, depth=(0, 0, 0),
                                     boundary="none", dtype=arr.dtype)
                res.compute()
                overlap = time.perf_counter() - t0
    rows.append(("imkit.dask.map_tiles, 1 worker (best of 2)", times[1]))
    rows.append(("imkit.dask.map_tiles, 2 workers (best of 2)", times[2]))
    rows.append(("dask.array.map_overlap over to_dask_array, 2 workers (no write)", overlap))
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
    for note in notes[1] + notes[2]:
        print(f"  tasks, {note}")
    print(f"  2 workers vs 1 worker: {times[1] / times[2]:.2f}x wall, best of 2 each (target "
          f">= 1.8; runs in order: {', '.join(f'{n}w {t:.2f} s' for n, t in runs)}); "
          f"CPU bound {work_cpu[1] / max(worker_cpu[2]):.2f}x (1-worker CPU over the busiest "
          f"of 2 workers)")
    for fn_only, what in ((True, "the function alone"), (False, "read + fn + write tile")):
        (w1, c1), (w2, c2) = at_once[fn_only, 1], at_once[fn_only, 2]
        print(f"  no Dask, {what} over every cell: 1 process {w1:.2f} s ({c1:.2f} CPU s), "
              f"2 processes at once {w2:.2f} s ({c2:.2f} CPU s): {w1 / w2:.2f}x, "
              f"CPU {c2 / c1 - 1:+.1%}")
    print(f"  per-task overhead, 1 worker vs the plain loop (same per-cell work): "
          f"tile tasks busy {tile_busy[1] / loop_tiles - 1:+.1%}, end to end "
          f"{times[1] / loop - 1:+.1%} wall, {work_cpu[1] / loop_cpu - 1:+.1%} CPU (target "
          f"< +10 %); plain loop CPU {loop_tiles_cpu:.2f} s tiles, {loop_cpu:.2f} s in all")
    print(f"  end to end, 1 worker vs imkit.map_tiles in one process on every core: "
          f"{times[1] / single - 1:+.1%}; 2 workers: {times[2] / single - 1:+.1%}")
    print(f"  dask output bytes == imkit.map_tiles output (1 and 2 workers): {same}")


if __name__ == "__main__":
    main()
