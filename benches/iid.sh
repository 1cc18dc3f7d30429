#!/usr/bin/env bash
# Side-by-side benchmark: imkit's .iid support vs the reference Python package iidfile 0.2.0.
#
#   bash benches/iid.sh            # full run (reference writes 20,000 masks: a few minutes)
#   SCALE_N=200000 bash benches/iid.sh   # smaller "scale" file than the default 1,000,000
#
# Creates its own venv under bench-out/ (git-ignored) with the reference's known-good
# writing stack (Python 3.8, numpy 1.23.5, scikit-image 0.19.3, iidfile 0.2.0), builds imkit
# in release mode, runs both on the same masks and prints the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench-out/iid
mkdir -p "$OUT"
N=${N:-20000}
SCALE_N=${SCALE_N:-1000000}

PY38=${PY38:-$(command -v python3.8 || true)}
if [ -z "$PY38" ] && [ -x "$HOME/.pyenv/versions/3.8.18/bin/python" ]; then
  PY38="$HOME/.pyenv/versions/3.8.18/bin/python"
fi
[ -n "$PY38" ] || { echo "python3.8 is needed for the reference writer (numpy 1.23.5 + scikit-image 0.19.3)" >&2; exit 1; }
VENV=bench-out/venv-iid38
if [ ! -x "$VENV/bin/python" ]; then
  "$PY38" -m venv "$VENV"
  "$VENV/bin/pip" install -q iidfile==0.2.0 numpy==1.23.5 scikit-image==0.19.3
fi
PY="$VENV/bin/python"
REF="$PY benches/iid_reference.py"

cargo build --release --example iid_bench -q
BENCH=target/release/examples/iid_bench

echo "== data: $N masks of 40-60 x 40-60 px on a 4096 x 4096 canvas"
$REF gen "$OUT/masks.bin" "$OUT/points.bin" "$N" 7
$REF gen "$OUT/masks2k.bin" "$OUT/points2k.bin" 2000 11

run() { echo "$1" >> "$OUT/results.jsonl"; echo "  $1"; }
: > "$OUT/results.jsonl"
echo "== write"
run "$( $REF write "$OUT/masks.bin" "$OUT/ref.iid" | sed 's/"op": "write"/"op": "write", "side": "ref"/')"
run "$( $BENCH write "$OUT/masks.bin" "$OUT/imkit.iid" | sed 's/"op": "write"/"op": "write", "side": "imkit"/')"
run "$( $BENCH write_many "$OUT/masks.bin" "$OUT/imkit_many.iid" | sed 's/"op": "write_many"/"op": "write_many", "side": "imkit"/')"
for f in imkit imkit_many; do
  if cmp -s "$OUT/ref.iid" "$OUT/$f.iid"; then echo "  $f.iid is byte-identical to the reference's"; else echo "  $f.iid DIFFERS" >&2; exit 1; fi
done
echo "== open + fetch all"
run "$( $REF open_fetch "$OUT/ref.iid" | sed 's/"op": "open_fetch"/"op": "open_fetch", "side": "ref"/')"
run "$( $BENCH open_fetch "$OUT/ref.iid" | sed 's/"op": "open_fetch"/"op": "open_fetch", "side": "imkit"/')"
echo "== at(): reference with everything loaded (only_loaded=True), 100 of the 1000 points"
run "$( $REF at "$OUT/ref.iid" "$OUT/points.bin" 100 | sed 's/"op": "at"/"op": "at", "side": "ref"/')"
run "$( $BENCH at "$OUT/ref.iid" "$OUT/points.bin" | sed 's/"op": "at"/"op": "at", "side": "imkit"/')"
echo "== overlap graph, 2000 entries"
$BENCH write "$OUT/masks2k.bin" "$OUT/2k.iid" > /dev/null
run "$( $REF overlap "$OUT/2k.iid" | sed 's/"op": "overlap"/"op": "overlap", "side": "ref"/')"
run "$( $BENCH overlap "$OUT/2k.iid" | sed 's/"op": "overlap"/"op": "overlap", "side": "imkit"/')"
echo "== scale: $SCALE_N entries (imkit only)"
run "$( $BENCH scale "$SCALE_N" "$OUT/scale.iid" )"
rm -f "$OUT/scale.iid"

"$PY" - "$OUT/results.jsonl" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["op"], r.get("side")): r for r in rows}
def ratio(op, key, target):
    ref, ours = by[(op, "ref")][key], by[(op, "imkit")][key]
    r = ref / ours
    print("%-11s reference %10.4g s   imkit %10.4g s   ratio %10.0fx   (target >= %dx) %s"
          % (op, ref, ours, r, target, "ok" if r >= target else "BELOW TARGET"))
print("== ratios (reference time / imkit time)")
ratio("write", "seconds", 100)
by[("write_many", "ref")] = by[("write", "ref")]
ratio("write_many", "seconds", 100)
ratio("open_fetch", "seconds", 100)
ratio("at", "seconds_per_query", 10000)
o = by[("overlap", "ref")], by[("overlap", "imkit")]
assert (o[0]["edges"], o[0]["weight"]) == (o[1]["edges"], o[1]["weight"]), "overlap graphs differ"
ratio("overlap", "seconds", 100)
a = by[("at", "ref")], by[("at", "imkit")]
s = by[("scale", None)]
print("== scale: %d entries, %.0f MB: write %.2f s, open %.1f ms (first %.1f ms), index build %.0f ms, "
      "at() %.2f us/query (%d queries, %d hits), overlap graph %.2f s (%d edges)"
      % (s["entries"], s["file_bytes"] / 1e6, s["write_seconds"], s["open_seconds_median"] * 1e3,
         s["open_seconds_first"] * 1e3, s["index_seconds"] * 1e3, s["at_seconds_per_query"] * 1e6,
         s["at_queries"], s["at_hits"], s["overlap_seconds"], s["overlap_edges"]))
print("   targets: open < 50 ms %s, at() < 5 us %s"
      % ("ok" if s["open_seconds_median"] < 0.05 else "MISSED", "ok" if s["at_seconds_per_query"] < 5e-6 else "MISSED"))
PYEOF
