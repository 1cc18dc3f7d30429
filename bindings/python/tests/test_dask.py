"""imkit.dask on real clusters on 127.0.0.1: a LocalCluster of worker processes and a
scheduler + two workers started as separate processes. Skips loudly without dask."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import imkit

distributed = pytest.importorskip("dask.distributed", reason="SKIPPED (dask[distributed] is "
                                  "not installed: pip install ./bindings/python[dask])")
import imkit.dask as idask  # noqa: E402


def edit(tile, info):
    return (255 - tile) // 2 + (info.row * 5 + info.col) % 40


def slow_identity(tile, info):
    time.sleep(0.05)
    return tile


@pytest.fixture(scope="module")
def local_client():
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None, host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def image(tmp_path):
    arr = np.random.default_rng(3).integers(0, 256, size=(333, 457, 3), dtype=np.uint8)
    path = tmp_path / "in.png"
    imkit.save(path, arr)
    return path, arr


def test_to_dask_array_equals_imkit_reads(local_client, image, tmp_path):
    path, arr = image
    lazy = idask.to_dask_array(path, chunks=(100, 128))
    assert lazy.shape == arr.shape and lazy.dtype == arr.dtype
    np.testing.assert_array_equal(lazy.compute(), arr)
    grey = np.random.default_rng(4).random((90, 70)).astype(np.float32)
    imkit.save(tmp_path / "g.npy", grey)
    np.testing.assert_array_equal(idask.to_dask_array(tmp_path / "g.npy").compute(), grey)
    np.testing.assert_array_equal(idask.to_dask_array(path, channels=[2, 0])[10:50].compute(),
                                  arr[10:50][..., [2, 0]])
    # Graph names are deterministic tokens of the file and options.
    assert idask.to_dask_array(path).name == idask.to_dask_array(path).name


@pytest.mark.parametrize("blend", ["overwrite", "linear", "gaussian"])
def test_map_tiles_matches_one_machine(local_client, image, tmp_path, blend):
    path, arr = image
    ident = idask.map_tiles(path, lambda t, i: t, tmp_path / "id.png", cell=128, overlap=32,
                            blend=blend)
    np.testing.assert_array_equal(imkit.load(ident)[0], arr)
    ours = idask.map_tiles(path, edit, tmp_path / "d.png", cell=128, overlap=32, blend=blend,
                           rows_per_task=2)
    single = imkit.map_tiles(path, edit, tmp_path / "s.png", cell=128, overlap=32, blend=blend)
    assert ours.read_bytes() == single.read_bytes()


def test_bands_are_split_over_the_workers(local_client, image, tmp_path):
    # The cells of each grid row go to one task per worker thread (2 here), and the last
    # row's output rows to as many parts; the bytes stay those of one machine.
    path, _ = image
    rows = imkit.Partition(path, cell=100).shape[0]
    with distributed.get_task_stream(local_client) as ts:
        ours = idask.map_tiles(path, edit, tmp_path / "d.png", cell=100)
    kinds = [t["key"].split("-")[1] for t in ts.data if t["key"].startswith("imkit-")]
    assert kinds.count("map") == 2 * rows and kinds.count("part") == rows + 1
    single = imkit.map_tiles(path, edit, tmp_path / "s.png", cell=100)
    assert ours.read_bytes() == single.read_bytes()


def test_fragment_and_stitch_on_the_cluster(local_client, image, tmp_path):
    path, arr = image
    manifest = idask.fragment(path, tmp_path / "tiles", cell=100, overlap=20)
    out = idask.stitch(manifest, tmp_path / "back.png", blend="average")
    np.testing.assert_array_equal(imkit.load(out)[0], arr)
    # Stitched in parts on the cluster: the bytes of the one-process stitch.
    one = imkit.stitch(manifest, tmp_path / "one.png", blend="average")
    assert out.read_bytes() == one.read_bytes()
    assert not list((tmp_path / "tiles").glob(".part_*"))  # the parts are removed


def test_exception_names_the_cell(local_client, image, tmp_path):
    path, _ = image

    def bad(tile, info):
        if (info.row, info.col) == (1, 2):
            raise ValueError("model failed")
        return tile

    with pytest.raises(ValueError, match="model failed") as exc:
        idask.map_tiles(path, bad, tmp_path / "b.png", cell=100, retries=0)
    assert exc.value.imkit_cell == (1, 2)
    assert not (tmp_path / "b.png").exists()


def test_killed_worker_and_the_job_still_finishes_exact(local_client, image, tmp_path):
    path, arr = image
    pids = list(local_client.run(os.getpid).values())
    result = {}

    def run():
        result["out"] = idask.map_tiles(path, slow_identity, tmp_path / "k.png", cell=48,
                                        blend="linear", overlap=8, retries=3)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(1.5)
    os.kill(pids[0], signal.SIGKILL)
    worker.join(timeout=120)
    assert not worker.is_alive()
    np.testing.assert_array_equal(imkit.load(result["out"])[0], arr)


def test_separate_scheduler_and_worker_processes(image, tmp_path):
    path, arr = image
    sched_file = tmp_path / "scheduler.json"
    # The workers import this module to unpickle its functions, as a user's would theirs.
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                               "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--nthreads", "1",
                 "--no-dashboard", "--host", "127.0.0.1", "--scheduler-file", str(sched_file)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(scheduler_file=str(sched_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
            out = idask.map_tiles(path, edit, tmp_path / "sep.png", cell=128, overlap=32,
                                  blend="linear", client=client)
            single = imkit.map_tiles(path, edit, tmp_path / "one.png", cell=128, overlap=32,
                                     blend="linear")
            assert out.read_bytes() == single.read_bytes()
            np.testing.assert_array_equal(
                idask.to_dask_array(path).compute(scheduler=client.get), arr)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_default_chunks_follow_the_file_blocks(local_client, tmp_path):
    grey = np.random.default_rng(5).integers(0, 256, size=(1300, 1200), dtype=np.uint8)
    npy = imkit.save(tmp_path / "g.npy", grey)
    assert idask.to_dask_array(npy).chunks == ((1300,), (1200,))  # one band of rows
    pyvips = pytest.importorskip("pyvips", reason="SKIPPED (pyvips is not installed)")
    tif = tmp_path / "t.tif"
    pyvips.Image.new_from_array(grey).tiffsave(str(tif), tile=True, tile_width=384,
                                               tile_height=256)
    lazy = idask.to_dask_array(tif)
    # Whole tiles, at least 1024 per side: 4 x 256 rows, 3 x 384 columns.
    assert lazy.chunks == ((1024, 276), (1152, 48))
    np.testing.assert_array_equal(lazy.compute(), grey)


def _reuse_faults(in_task: bool) -> int:
    """Minor page faults touching a 16 MiB buffer allocated right after one of that size was
    freed, in this worker thread (inside an imkit task's malloc scope or not). A bytearray, not
    a NumPy array, which may ask for huge pages (fewer faults)."""
    import resource

    def faults():
        return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt

    def reuse():
        bytearray(16 << 20)
        before = faults()
        bytearray(16 << 20)
        return faults() - before

    if not in_task:
        return reuse()
    with idask._task_malloc:
        return reuse()


def test_tasks_reuse_freed_arrays_under_dasks_malloc_setting(local_client):
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_ set: outside imkit's tasks each large
    # array is a fresh mapping; inside them freed memory is reused; after them Dask's
    # setting is back.
    if local_client.submit(lambda: idask._malloc_control() is None, pure=False).result():
        pytest.skip("SKIPPED (not glibc, or the workers' environment sets no malloc threshold)")
    pages = (16 << 20) // 4096
    before, inside, after = (local_client.submit(_reuse_faults, t, pure=False).result()
                             for t in (False, True, False))
    assert before >= pages and after >= pages
    assert inside < pages // 10


def test_local_cluster_settings_and_overrides():
    # One thread per worker, Dask's profiler off, the periodic checks of CLUSTER_CONFIG on the
    # workers and the scheduler; a config given here wins over imkit's.
    with idask.local_cluster(2, config={"distributed.admin.tick.interval": "500ms"},
                             dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        assert sorted(client.nthreads().values()) == [1, 1]
        seen = client.run(lambda dask_worker: (
            "profile" in dask_worker.periodic_callbacks,
            dask_worker.periodic_callbacks["tick"].callback_time,
            dask_worker.periodic_callbacks["memory_monitor"].callback_time))
        assert set(seen.values()) == {(False, 500, 1000)}
        assert client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.periodic_callbacks["tick"].callback_time) == 500


NO_CLIENT_SCRIPT = """
import sys
import dask
import imkit
import imkit.dask as idask
from distributed import get_worker


def edit(tile, info):
    try:
        worker = get_worker()
    except ValueError:  # imkit.map_tiles, in this process
        worker = None
    if worker is not None and (dask.config.get("distributed.worker.profile.enabled")
                               or "profile" in worker.periodic_callbacks):
        raise RuntimeError("the worker runs Dask's profiler")
    return (255 - tile) // 2 + (info.row * 5 + info.col) % 40


if __name__ == "__main__":
    src, out, ref = sys.argv[1:]
    ours = idask.map_tiles(src, edit, out, cell=100, overlap=20, blend="linear")
    single = imkit.map_tiles(src, edit, ref, cell=100, overlap=20, blend="linear")
    print(ours.read_bytes() == single.read_bytes())
"""


def test_map_tiles_without_a_client_runs_on_a_local_cluster_of_its_own(image, tmp_path):
    # No client and no default client (a fresh process): the call starts a local_cluster
    # (profiler off in its workers), runs, closes it; the bytes are those of one machine.
    path, _ = image
    script = tmp_path / "no_client.py"
    script.write_text(NO_CLIENT_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(path), str(tmp_path / "d.png"),
                           str(tmp_path / "s.png")], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
