#!/usr/bin/env bash
# Every performance target of issue 14 in one table: imkit against its peers in the same run,
# alternating (one timing of each side per round, best of the rounds kept), with file sizes
# and peak RSS. Installs the peers itself (apt-get: libvips-tools, time; pip into
# bench-out/venv-all: numpy, opencv-python-headless, OpenEXR, tifffile, pyvips, maturin; and
# imkit's own Python package, built here, for the NPY rows).
#
#   benches/all.sh [ROUNDS]     ROUNDS defaults to 3
#   env: BIG=32768 (side of the streaming inputs), FRAG=8192 (side of the fragment input),
#        EARLIER=1 also runs the earlier benches (io, tiling, partition, iid) after the table.
# Run it with `nice` on a shared machine. Needs ~4 GB of disk for the streaming inputs.
# NPY rows: imkit's Python package, numpy and the bare system calls (the floor: open + one
# write, open + one read into fresh memory) alternate in one process, round by round, with the
# same warm source array, the destination removed before every new-file save and every side
# settled (sync + pause) first; codec_bench does the same for imkit's Rust API and its floor.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-3}
BIG=${BIG:-32768}
FRAG=${FRAG:-8192}
OUT=$ROOT/bench-out/all
mkdir -p "$OUT"

if ! command -v vips >/dev/null || ! [ -x /usr/bin/time ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvips-tools time >/dev/null
fi
VENV=$ROOT/bench-out/venv-all
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "numpy>=2,<3" "opencv-python-headless>=4.11" \
    "OpenEXR>=3.3" "tifffile>=2025.5" "pyvips==3.2.0" "maturin>=1.7,<2"
PY=$VENV/bin/python
rm -rf "$OUT/wheels"
CARGO_TARGET_DIR=$ROOT/target/py-build "$VENV/bin/maturin" build --release --quiet \
    -m bindings/python/Cargo.toml -o "$OUT/wheels" --interpreter "$PY"
"$VENV/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps \
    "$OUT"/wheels/*.whl
cargo build --release --quiet --bin imkit --example codec_bench
IMKIT=$ROOT/target/release/imkit
BENCH=$ROOT/target/release/examples/codec_bench
RESULTS=$OUT/results.txt
: > "$RESULTS"

# --- codecs: 4096x2160 RGB frames -----------------------------------------------------------
for round in $(seq "$ROUNDS"); do
    echo "codec round $round of $ROUNDS" >&2
    "$BENCH" "$OUT" 1 png exr >> "$RESULTS"
    "$PY" benches/codec_peers.py "$OUT" 1 png exr >> "$RESULTS"
done
# NPY: the sides alternate inside each process; a round takes seconds, so 3 x ROUNDS of them.
"$BENCH" "$OUT" $((3 * ROUNDS)) npy >> "$RESULTS"
"$PY" benches/codec_peers.py "$OUT" $((3 * ROUNDS)) npy >> "$RESULTS"

# --- streaming: a tile out of huge TIFF / EXR / NPY files, and fragment vs vips dzsave -------
"$PY" benches/make_big.py "$OUT/big" "$BIG"
timed() { # name, command... : appends "name wall_s peak_kB" to the results
    local name=$1
    shift
    /usr/bin/time -v -o "$OUT/time.txt" "$@" > /dev/null
    awk -v n="$name" -F': ' '/Elapsed \(wall clock\)/ {m=split($2,a,":"); s=0; for(i=1;i<=m;i++) s=s*60+a[i]}
        /Maximum resident set size/ {r=$2} END {print n, s, r}' "$OUT/time.txt" >> "$RESULTS"
}
for ext in tif exr npy; do
    timed "extract_1024_from_${BIG}_$ext" "$IMKIT" extract-tile "$OUT/big/big$BIG.$ext" \
        "$OUT/tile_$ext.npy" --x $((BIG / 2)) --y $((BIG / 2))
done
# Paste a 512² tile into the deflate tiled TIFF: only the touched tiles are re-encoded, every
# other tile is copied as compressed bytes. OLD_IMKIT=path/to/an/older/imkit also times that
# binary (main before the chunk paste decoded and re-encoded the whole image).
"$IMKIT" extract-tile "$OUT/big/big$BIG.tif" "$OUT/paste_tile.tif" --x 100 --y 100 --tile 512 \
    > /dev/null
for bin in "$IMKIT" ${OLD_IMKIT:+"$OLD_IMKIT"}; do
    label=$([ "$bin" = "$IMKIT" ] && echo paste || echo paste_old)
    timed "${label}_512_into_${BIG}_tif" "$bin" paste-tile "$OUT/big/big$BIG.tif" \
        "$OUT/paste_tile.tif" "$OUT/pasted.tif" --x $((BIG / 2 - 100)) --y $((BIG / 2 - 100))
    rm -f "$OUT/pasted.tif"
done
FRAG_PNG=$OUT/frag_$FRAG.png
if ! [ -f "$FRAG_PNG" ]; then
    "$PY" - "$FRAG_PNG" "$FRAG" <<'PY'
import sys, pyvips
path, n = sys.argv[1], int(sys.argv[2])
def band(seed):
    return (pyvips.Image.perlin(n, n, cell_size=2048, seed=seed) * 70
            + pyvips.Image.perlin(n, n, cell_size=256, seed=seed + 10) * 35
            + pyvips.Image.perlin(n, n, cell_size=32, seed=seed + 20) * 12
            + pyvips.Image.gaussnoise(n, n, sigma=3, mean=128))
band(1).bandjoin([band(2), band(3)]).cast("uchar").pngsave(path, compression=6, filter="all")
PY
fi
for round in $(seq "$ROUNDS"); do
    rm -rf "$OUT/vips_dz" "$OUT/imkit_tiles"
    timed vips_dzsave vips dzsave "$FRAG_PNG" "$OUT/vips_dz" --layout google --tile-size 1024 \
        --overlap 0 --suffix .png
    timed imkit_fragment "$IMKIT" fragment "$FRAG_PNG" --cell 1024 --out "$OUT/imkit_tiles"
done
TOP=$(ls "$OUT/vips_dz" | sort -n | tail -1)
echo "vips_dzsave_bytes 0 $(du -sb "$OUT/vips_dz/$TOP" | cut -f1)" >> "$RESULTS"
echo "imkit_fragment_bytes 0 $(du -sb --exclude=manifest.json "$OUT/imkit_tiles" | cut -f1)" >> "$RESULTS"

# --- the table -------------------------------------------------------------------------------
python3 - "$RESULTS" "$BIG" <<'PY'
import sys
best = {}
for line in open(sys.argv[1]):
    if line.strip():
        k, t, b = line.split()
        t, b = float(t), float(b)
        if k not in best or t < best[k][0]:
            best[k] = (t, b)
big = sys.argv[2]
def row(label, peer, ours, goal, size_goal=None):
    """peer time / our time; for a floor row `peer` is the floor (<= 1 unless parallel)."""
    if peer not in best or ours not in best:
        print(f"{label:40s}   (missing)")
        return
    (pt, pb), (it, ib) = best[peer], best[ours]
    size = f"  size {ib / pb:5.3f}x" if size_goal else ""
    print(f"{label:40s} {pt / it:6.2f}x  goal {goal:6s} imkit {it * 1000:7.1f} ms  peer {pt * 1000:7.1f} ms{size}")
print("ratios: peer time / imkit time (>1: imkit faster); size: imkit bytes / peer bytes")
print("floor rows: floor time / that side's time (the floor is one open + write or read; 1 = at the floor)")
row("PNG u8 4K write vs cv2.imwrite", "cv_png_u8_write", "imkit_png_u8_write", ">= 3", True)
row("PNG u16 4K write vs cv2.imwrite", "cv_png_u16_write", "imkit_png_u16_write", ">= 3", True)
row("PNG u8 4K read vs cv2.imread", "cv_png_u8_read", "imkit_png_u8_read", ">= 1.5")
row("PNG u16 4K read vs cv2.imread", "cv_png_u16_read", "imkit_png_u16_read", ">= 1.5")
row("  PNG u8 write, all threads vs 1", "imkit_png_u8_write_1t", "imkit_png_u8_write", "-")
row("  PNG u8 read vs zlib inflate alone", "zlib_inflate_png_u8", "imkit_png_u8_read", "limit")
row("EXR f32 4K ZIP write vs OpenEXR", "openexr_exr_write", "imkit_exr_write", ">= 2", True)
row("EXR f32 4K ZIP read vs OpenEXR", "openexr_exr_read", "imkit_exr_read", ">= 1.5")
# NPY: wall time, then the CPU time of the process (every thread), which load disturbs less.
for clock in ("", "_cpu"):
    for op, what, goal in (("write", "save (new file)", ">= 1"),
                           ("overwrite", "save (overwrite)", "-"), ("read", "load", ">= 1")):
        op += clock
        row(f"NPY f32 4K {what}{' CPU' if clock else ''} vs numpy", f"numpy_npy_{op}",
            f"imkit_py_npy_{op}", goal if not clock else "-")
        row("  numpy vs the floor (syscalls)", f"floor_py_npy_{op}", f"numpy_npy_{op}", "limit")
        row(f"  imkit.{'load' if 'read' in op else 'save'} vs the floor", f"floor_py_npy_{op}",
            f"imkit_py_npy_{op}", "limit")
        row("  Rust API vs the floor", f"floor_rs_npy_{op}", f"imkit_npy_{op}", "limit")
row("fragment PNG -> 1024² PNG vs vips dzsave", "vips_dzsave", "imkit_fragment", ">= 8")
if "vips_dzsave_bytes" in best:
    print(f"{'  fragment tile bytes imkit / vips':40s} {best['imkit_fragment_bytes'][1] / best['vips_dzsave_bytes'][1]:6.3f}")
for ext in ("tif", "exr", "npy"):
    k = f"extract_1024_from_{big}_{ext}"
    if k in best:
        t, kb = best[k]
        print(f"extract 1024² from {big}² {ext:4s}             {t:6.2f} s   peak RSS {kb / 1024:6.1f} MB (goal < 50)")
for label in ("paste", "paste_old"):
    k = f"{label}_512_into_{big}_tif"
    if k in best:
        t, kb = best[k]
        print(f"{label + f' 512² into {big}² deflate tif':40s} {t:6.2f} s   peak RSS {kb / 1024:6.1f} MB")
PY

if [ "${EARLIER:-0}" = 1 ]; then
    for b in io tiling partition iid; do
        echo "== benches/$b.sh =="
        bash "benches/$b.sh"
    done
fi
