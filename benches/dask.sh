#!/usr/bin/env bash
# Benchmark of imkit.dask (not a test): map_tiles of a CPU-bound function with 1 and 2 worker
# processes on imkit.dask.local_cluster (alternated, best of 2; wall time, and CPU seconds per
# worker, fairer on a loaded machine), the per-task overhead against a plain loop in one
# process doing the same per-cell work, and dask.array.map_overlap over to_dask_array doing
# the same job (overwrite blend: map_overlap trims its halo instead of blending).
#
#   benches/dask.sh [SIDE|quick]      (default 16384; quick = 4096, a run-through in a minute or two)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=bench-out/dask-venv
mkdir -p bench-out/dask
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install -q --disable-pip-version-check numpy "dask[array,distributed]" maturin
"$venv/bin/pip" install -q --disable-pip-version-check ./bindings/python
exec nice "$venv/bin/python" benches/dask_bench.py bench-out/dask "${1:-16384}"
