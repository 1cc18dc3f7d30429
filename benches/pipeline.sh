#!/usr/bin/env bash
# Tile pipeline benchmark, side by side in one run, on a SIZE x SIZE RGB PNG (default 16384):
#   1. imkit's streaming pipeline, identity function, 1024^2 cells, overlap 128, linear blend;
#   2. imkit's file route: fragment into tile files, then stitch with the same blend;
#   3. the loop users write today: pyvips crops + numpy feather blending into an array,
#      saved with pyvips (installed into bench-out/venv).
# on two images (make_big_png's ramp and natural patterns). Then the pipeline's peak RSS on a
# 32768^2 PNG (target < 400 MB).
# Usage: benches/pipeline.sh [SIZE]        (needs ~4 GB of disk and ~11 GB of RAM for pyvips)
#        SKIP_32K=1 NATURAL=0 benches/pipeline.sh 8192   (quick check: ramp only, no 32768^2)
#        ROUNDS=N: pipeline and file route alternated N times, best of each (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-16384}
out=bench-out/pipeline
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if [ ! -x bench-out/venv/bin/python ]; then python3 -m venv bench-out/venv; fi
bench-out/venv/bin/pip install -q --disable-pip-version-check numpy pyvips pyvips-binary

cargo build --release --quiet --bin imkit --example make_big_png --example pipeline_identity
imkit=target/release/imkit
mk=target/release/examples/make_big_png
pipe=target/release/examples/pipeline_identity
py=bench-out/venv/bin/python

cat > "$out/pyvips_loop.py" <<'PY'
# What users write today: crop cells with pyvips, run the model (identity), feather-blend
# into a float array with numpy, save with pyvips.
import sys
import numpy as np
import pyvips
src, dst, cell, overlap = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
img = pyvips.Image.new_from_file(src)
w, h, c = img.width, img.height, img.bands
step = cell - overlap
acc = np.zeros((h, w, c), np.float32)
wsum = np.zeros((h, w, 1), np.float32)
def ramp(n, start, end, extent):
    i = np.arange(n, dtype=np.float32)
    r = np.ones(n, np.float32)
    if start > 0:
        r = np.minimum(r, (i + 0.5) / overlap)
    if end < extent:
        r = np.minimum(r, (n - 1 - i + 0.5) / overlap)
    return r
ys = list(range(0, max(h - cell, 0) + step, step))
xs = list(range(0, max(w - cell, 0) + step, step))
for y in ys:
    for x in xs:
        tw, th = min(cell, w - x), min(cell, h - y)
        tile = np.ndarray(buffer=img.crop(x, y, tw, th).write_to_memory(), dtype=np.uint8, shape=(th, tw, c))
        out = tile  # the model
        wt = ramp(th, y, y + th, h)[:, None, None] * ramp(tw, x, x + tw, w)[None, :, None]
        acc[y:y + th, x:x + tw] += out * wt
        wsum[y:y + th, x:x + tw] += wt
res = np.rint(acc / wsum).clip(0, 255).astype(np.uint8)
pyvips.Image.new_from_memory(res.data, w, h, c, "uchar").write_to_file(dst, compression=1)
PY

measure() { # label, command... -> prints wall seconds, CPU seconds and peak RSS; sets $secs
  local label=$1; shift
  /usr/bin/time -v "$@" > /dev/null 2> "$out/time.txt" || { cat "$out/time.txt"; exit 1; }
  local rss cpu
  rss=$(awk -F: '/Maximum resident set size/ {print $2+0}' "$out/time.txt")
  cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s+=$2} END {print s}' "$out/time.txt")
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$out/time.txt")
  printf '%-46s wall %7.2fs  CPU %7.2fs  peak RSS %7.1f MB\n' "$label" "$secs" "$cpu" "$(echo "$rss/1024" | bc -l)"
}

best() { # best of the wall times given
  printf '%s\n' "$@" | sort -g | head -1
}

# One input, side by side: the pipeline and the file route alternated ROUNDS times (best of
# each kept), then the pyvips loop once (it takes ten times as long and 10 GB of RAM).
compare() { # pattern, input path
  local pattern=$1 input=$2 pipes=() files=() round
  [ -f "$input" ] || { echo "making ${size}x${size} RGB PNG ($pattern)..."; $mk "$input" "$size" "$size" "$pattern"; }
  ls -l "$input" | awk -v p="$pattern" -v s="$size" \
    '{printf "== %s: %sx%s RGB, %.1f MB (%.0f:1)\n", p, s, s, $5/1e6, s*s*3/$5}'
  # Each route writes a new file: deleting the previous round's output (~0.2 s for 366 MB,
  # paid when the old file's last link goes) is not part of any route.
  for round in $(seq "${ROUNDS:-2}"); do
    rm -f "$out/pipe.png"
    measure "imkit pipeline (identity, linear)" $pipe "$input" "$out/pipe.png" 1024 128 linear
    pipes+=("$secs")
    rm -rf "$out/tiles"
    measure "imkit fragment (tile files)" $imkit fragment "$input" --cell 1024 --step 896 --out "$out/tiles"
    local frag=$secs
    rm -f "$out/stitched.png"
    measure "imkit stitch (linear)" $imkit stitch "$out/tiles/manifest.json" "$out/stitched.png" --blend linear
    files+=("$(echo "$frag + $secs" | bc -l)")
  done
  rm -f "$out/pyvips.png"
  measure "pyvips crops + numpy feather loop" $py "$out/pyvips_loop.py" "$input" "$out/pyvips.png" 1024 128
  local t_vips=$secs t_pipe t_files
  t_pipe=$(best "${pipes[@]}")
  t_files=$(best "${files[@]}")
  cmp -s "$out/pipe.png" "$out/stitched.png" && echo "pipeline and fragment+stitch outputs: identical bytes"
  ls -l "$out/pipe.png" "$out/stitched.png" "$out/pyvips.png" | awk '{printf "  %s %.1f MB\n", $9, $5/1e6}'
  du -sh "$out/tiles" | awk '{print "  tile files of the file route: " $1}'
  printf '%s: pipeline %.2f s (best of %s), file route %.2f s (best fragment + stitch)\n' \
    "$pattern" "$t_pipe" "${ROUNDS:-2}" "$t_files"
  printf '%s: pipeline vs file route:  %.2fx faster (target >= 2x)\n' "$pattern" "$(echo "$t_files/$t_pipe" | bc -l)"
  printf '%s: pipeline vs pyvips loop: %.1fx faster (target >= 10x)\n' "$pattern" "$(echo "$t_vips/$t_pipe" | bc -l)"
  rm -rf "$out/tiles" "$out/pyvips.png"
}

# The ramp image is the cheapest case for every codec (it compresses about 80:1); the natural
# one has the statistics of photographs (about 2:1), where inflating the one zlib stream of
# the input, which every route does serially, is most of the work. NATURAL=0 skips it.
compare ramp "$out/in$size.png"
[ "${NATURAL:-1}" = 1 ] && compare natural "$out/natural$size.png"

[ "${SKIP_32K:-0}" = 1 ] && exit 0
huge=$out/in32768.png
[ -f "$huge" ] || { echo "making 32768x32768 RGB PNG..."; $mk "$huge" 32768 32768; }
measure "imkit pipeline on 32768^2 (target < 400 MB)" $pipe "$huge" "$out/pipe32k.png" 1024 128 linear
rm -f "$out/pipe32k.png"
