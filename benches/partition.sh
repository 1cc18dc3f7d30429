#!/usr/bin/env bash
# Partition benchmark: imkit against libvips / pyvips / tifffile / numpy, side by side in one
# run, on a 16384x16384 RGB 8-bit photo-like PNG (issue 4, Performance).
#
#   benches/partition.sh [SIZE]     (SIZE defaults to 16384; everything lands in bench-out/)
#
# Installs its peers: libvips-tools and python3-venv via apt-get (when missing and running as
# root), pyvips, tifffile and numpy via pip in bench-out/venv. Prints wall times, peak RSS
# (/usr/bin/time -v) and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SIZE=${1:-16384}
OUT=$ROOT/bench-out/partition
mkdir -p "$OUT"

if ! command -v vips >/dev/null || ! [ -x /usr/bin/time ] || ! python3 -c 'import ensurepip' 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvips-tools python3-venv time >/dev/null
fi
VENV=$ROOT/bench-out/venv
if ! [ -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q 'pyvips==3.2.0' 'tifffile==2025.5.10' 'numpy>=2,<3'
PY=$VENV/bin/python

cargo build --release --quiet --bin imkit --example partition_reads
IMKIT=$ROOT/target/release/imkit
READS=$ROOT/target/release/examples/partition_reads

# Runs a command, prints "label wall_s cpu_s peak_MiB" and keeps them in $WALL / $CPU / $RSS.
# CPU time (user + sys) is printed too: on a shared machine it is the steadier comparison.
measure() {
    local label=$1
    shift
    /usr/bin/time -v -o "$OUT/time.txt" "$@" >"$OUT/$label.log" 2>&1 || {
        cat "$OUT/$label.log"
        exit 1
    }
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$OUT/time.txt")
    RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$OUT/time.txt")
    CPU=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$OUT/time.txt")
    printf '%-34s %8.2f s wall %8.2f s cpu %7s MiB\n' "$label" "$WALL" "$CPU" "$RSS"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# --- inputs ---------------------------------------------------------------------------------
BIG=$OUT/big_$SIZE.png
if ! [ -f "$BIG" ]; then
    echo "generating $BIG (photo-like: multi-scale Perlin noise + grain, zlib 6 + adaptive filters)"
    "$PY" - "$BIG" "$SIZE" <<'EOF'
import sys, pyvips
path, n = sys.argv[1], int(sys.argv[2])
def band(seed):
    img = (pyvips.Image.perlin(n, n, cell_size=2048, seed=seed) * 70
           + pyvips.Image.perlin(n, n, cell_size=256, seed=seed + 10) * 35
           + pyvips.Image.perlin(n, n, cell_size=32, seed=seed + 20) * 12
           + pyvips.Image.gaussnoise(n, n, sigma=3, mean=128))
    return img
rgb = band(1).bandjoin([band(2), band(3)]).cast("uchar")
rgb.pngsave(path, compression=6, filter="all")
EOF
fi
ls -l "$BIG" | awk '{printf "input: %s, %.0f MB\n", $9, $5/1e6}'
for c in none deflate; do
    if ! [ -f "$OUT/tiled_${c}_$SIZE.tif" ]; then
        vips tiffsave "$BIG" "$OUT/tiled_${c}_$SIZE.tif" --tile --tile-width 256 --tile-height 256 \
            --compression "$c" --bigtiff
    fi
done
TIFF_NONE=$OUT/tiled_none_$SIZE.tif
TIFF_DEFLATE=$OUT/tiled_deflate_$SIZE.tif
NPY=$OUT/big_$SIZE.npy
if ! [ -f "$NPY" ]; then
    "$PY" -c "import pyvips, numpy as np, sys; np.save(sys.argv[2], pyvips.Image.new_from_file(sys.argv[1]).numpy())" "$BIG" "$NPY"
fi
NPY_OFFSET=$("$PY" -c "
import sys, numpy as np
with open(sys.argv[1], 'rb') as f:
    v = np.lib.format.read_magic(f)
    (np.lib.format.read_array_header_1_0 if v == (1, 0) else np.lib.format.read_array_header_2_0)(f)
    print(f.tell())" "$NPY")

echo
echo "== fragment into 1024x1024 PNG tiles =="
rm -rf "$OUT/imkit_tiles" "$OUT/vips_dz" "$OUT/vips_dz_files"
measure "vips dzsave (google, .png)" vips dzsave "$BIG" "$OUT/vips_dz" --layout google --tile-size 1024 --overlap 0 --suffix .png
VIPS_FRAG=$WALL
VIPS_FRAG_CPU=$CPU
VIPS_BYTES=$(du -sb "$OUT/vips_dz" | cut -f1)
TOP=$(ls "$OUT/vips_dz" | sort -n | tail -1)
VIPS_L0=$(du -sb "$OUT/vips_dz/$TOP" | cut -f1)
for level in 1; do
    rm -rf "$OUT/imkit_tiles"
    measure "imkit fragment (compression $level)" "$IMKIT" fragment "$BIG" --cell 1024 --compression $level --out "$OUT/imkit_tiles"
    BYTES=$(du -sb --exclude=manifest.json "$OUT/imkit_tiles" | cut -f1)
    echo "    speed-up vs vips: $(ratio "$VIPS_FRAG" "$WALL")x wall, $(ratio "$VIPS_FRAG_CPU" "$CPU")x cpu; tile bytes $((BYTES / 1000000)) MB vs vips full-res level $((VIPS_L0 / 1000000)) MB (all levels $((VIPS_BYTES / 1000000)) MB); peak RSS $RSS MiB"
done

echo
echo "== stitch the 256 tiles back into one PNG =="
TILES=$(cd "$OUT/imkit_tiles" && ls tile_*.png | sort | sed "s|^|$OUT/imkit_tiles/|" | tr '\n' ' ')
measure "vips arrayjoin" vips arrayjoin "$TILES" "$OUT/vips_stitched.png" --across $(( (SIZE + 1023) / 1024 ))
VIPS_ST=$WALL
VIPS_ST_CPU=$CPU
measure "imkit stitch" "$IMKIT" stitch "$OUT/imkit_tiles/manifest.json" "$OUT/imkit_stitched.png"
echo "    speed-up vs vips: $(ratio "$VIPS_ST" "$WALL")x wall, $(ratio "$VIPS_ST_CPU" "$CPU")x cpu; peak RSS $RSS MiB"
"$PY" - "$BIG" "$OUT/imkit_stitched.png" <<'EOF'
import sys, hashlib, pyvips
h = [hashlib.sha256(pyvips.Image.new_from_file(p, access="sequential").numpy().tobytes()).hexdigest() for p in sys.argv[1:]]
print("    exact recomposition:", "yes" if h[0] == h[1] else "NO")
EOF

echo
echo "== 200 random 1024x1024 cells (stride 0.5) =="
# The same cells as partition_reads: SplitMix64 seed 12345, impart geometry.
cat >"$OUT/peers.py" <<'EOF'
import sys, time, json, math
import numpy as np
M = (1 << 64) - 1
def cells(rows, cols, n):
    seed, out, seen = 12345, [], set()
    def nxt():
        nonlocal seed
        seed = (seed + 0x9E3779B97F4A7C15) & M
        z = seed
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)
    while len(out) < min(n, rows * cols):
        c = (nxt() % rows, nxt() % cols)
        if c not in seen:
            seen.add(c); out.append(c)
    return out
def rects(h, w, cell=1024, stride=0.5, n=200):
    s = cell * stride
    rows = 1 + math.ceil(max(0, h - cell) / s); cols = 1 + math.ceil(max(0, w - cell) / s)
    for r, c in cells(rows, cols, n):
        y, x = math.ceil(r * s), math.ceil(c * s)
        yield x, y, min(cell, w - x), min(cell, h - y)
def run(read, h, w):
    times = []
    for x, y, cw, ch in rects(h, w):
        t = time.perf_counter(); a = read(x, y, cw, ch); times.append(time.perf_counter() - t)
        assert a.shape[:2] == (ch, cw)
    rest = sorted(times[1:])
    return {"first_s": times[0], "median_s": rest[len(rest) // 2], "rest_total_s": sum(rest), "total_s": sum(times)}
kind, path = sys.argv[1], sys.argv[2]
if kind == "numpy":
    arr = np.load(path, mmap_mode="r"); h, w = arr.shape[:2]
    print(json.dumps(run(lambda x, y, cw, ch: np.array(arr[y:y + ch, x:x + cw]), h, w)))
elif kind == "pyvips":
    import pyvips
    img = pyvips.Image.new_from_file(path); h, w = img.height, img.width
    print(json.dumps(run(lambda x, y, cw, ch: img.crop(x, y, cw, ch).numpy(), h, w)))
elif kind == "tifffile":
    import tifffile
    tf = tifffile.TiffFile(path); page = tf.pages[0]; fh = tf.filehandle
    h, w = page.imagelength, page.imagewidth; th, tw = page.tilelength, page.tilewidth
    across = (w + tw - 1) // tw
    def read(x, y, cw, ch):
        out = np.empty((ch, cw, page.samplesperpixel), page.dtype)
        for ty in range(y // th, (y + ch - 1) // th + 1):
            for tx in range(x // tw, (x + cw - 1) // tw + 1):
                i = ty * across + tx
                fh.seek(page.dataoffsets[i]); data = fh.read(page.databytecounts[i])
                tile = page.decode(data, i)[0].reshape(th, tw, -1)
                y0, x0 = ty * th, tx * tw
                ys, ye = max(y, y0), min(y + ch, y0 + th); xs, xe = max(x, x0), min(x + cw, x0 + tw)
                out[ys - y:ye - y, xs - x:xe - x] = tile[ys - y0:ye - y0, xs - x0:xe - x0]
        return out
    print(json.dumps(run(read, h, w)))
EOF
# Page cache warm for every input, so no reader pays the first touch of a file.
cat "$NPY" "$TIFF_NONE" "$TIFF_DEFLATE" "$BIG" >/dev/null
field() { "$PY" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
reads() { # label json
    printf '%-34s first %7.3f s, median %7.4f s, 199 more %7.3f s\n' "$1" "$(field "$2" first_s)" "$(field "$2" median_s)" "$(field "$2" rest_total_s)"
}
J_NP=$("$PY" "$OUT/peers.py" numpy "$NPY");                         reads "numpy memmap slice copy (NPY)" "$J_NP"
J_IM_NPY=$("$READS" "$NPY" 1024 0.5 200 --raw "$SIZE" "$SIZE" 3 "$NPY_OFFSET"); reads "imkit mmap (NPY samples)" "$J_IM_NPY"
echo "    imkit / numpy time: $(ratio "$(field "$J_IM_NPY" total_s)" "$(field "$J_NP" total_s)") (goal <= 1.3)"
J_TF=$("$PY" "$OUT/peers.py" tifffile "$TIFF_NONE");       reads "tifffile tiles (uncompressed)" "$J_TF"
J_IM_TN=$("$READS" "$TIFF_NONE" 1024 0.5 200);            reads "imkit TIFF (uncompressed)" "$J_IM_TN"
echo "    speed-up vs tifffile: $(ratio "$(field "$J_TF" total_s)" "$(field "$J_IM_TN" total_s)")x (goal >= 1)"
J_PV=$("$PY" "$OUT/peers.py" pyvips "$TIFF_DEFLATE");     reads "pyvips crop (deflate TIFF)" "$J_PV"
J_IM_TD=$("$READS" "$TIFF_DEFLATE" 1024 0.5 200);         reads "imkit TIFF (deflate)" "$J_IM_TD"
echo "    speed-up vs pyvips: $(ratio "$(field "$J_PV" total_s)" "$(field "$J_IM_TD" total_s)")x (goal >= 2)"
J_PVP=$("$PY" "$OUT/peers.py" pyvips "$BIG");                      reads "pyvips crop (PNG, impart's path)" "$J_PVP"
rm -rf "$OUT/cache" && mkdir -p "$OUT/cache"
J_IM_P=$("$READS" "$BIG" 1024 0.5 200 --cache-dir "$OUT/cache");  reads "imkit PNG (decode-once cache)" "$J_IM_P"
echo "    first read vs pyvips: $(ratio "$(field "$J_PVP" first_s)" "$(field "$J_IM_P" first_s)")x faster; later reads vs imkit NPY: $(ratio "$(field "$J_IM_P" rest_total_s)" "$(field "$J_IM_NPY" rest_total_s)") (goal ~1)"
