#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS each (default 600), at low priority, and prints
# one summary line per target (executions, corpus size, crashes).
# Usage: fuzz/run-all.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP=1 lets stable rustc take its
# nightly flags. Crashes land in fuzz/artifacts/<target>/; logs in fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list 2>/dev/null)
fi
export RUSTC_BOOTSTRAP=1
nice -n 19 cargo fuzz build
triple=$(rustc -vV | sed -n 's/^host: //p')
bin="target/$triple/release"
mkdir -p logs
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    if [ -d "seeds/$t" ]; then cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true; fi
    if [ "$t" = iid_reader ]; then
        cp -n ../tests/fixtures/iid/*.iid ../tests/fixtures/iid/bad/*.iid "corpus/$t/" 2>/dev/null || true
    fi
    status=0
    # The built binary directly (not `cargo fuzz run`), so edits made meanwhile never rebuild.
    nice -n 19 "$bin/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$seconds" \
        -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 >"logs/$t.log" 2>&1 || status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' || echo '?')
    crashes=$(find "artifacts/$t" -type f | wc -l)
    echo "$t: up to ${seconds}s (less after a crash), ${execs} executions, $(ls "corpus/$t" | wc -l) corpus files, ${crashes} artifacts, exit ${status}"
done
