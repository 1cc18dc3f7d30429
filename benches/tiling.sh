#!/usr/bin/env bash
# Tiling benchmark: peak memory of extract/paste on a 32768x32768 RGB PNG (streaming), and
# extract/paste speed side by side with Pillow doing what imkerutils does (open, crop, save;
# open, paste, save) on an 8192x8192 image that Pillow can still open.
# Usage: benches/tiling.sh            (writes into bench-out/, needs ~4 GB of disk)
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench-out/tiling
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if [ ! -x bench-out/venv/bin/python ]; then python3 -m venv bench-out/venv; fi
bench-out/venv/bin/pip install -q --disable-pip-version-check pillow numpy

cargo build --release --quiet --bin imkit --example make_big_png
imkit=target/release/imkit
mk=target/release/examples/make_big_png

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -v "$@" > /dev/null 2> "$out/time.txt"
  local rss secs
  rss=$(awk -F: '/Maximum resident set size/ {print $2+0}' "$out/time.txt")
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/time.txt")
  printf '%-44s wall %-9s peak RSS %6.1f MB\n' "$label" "$secs" "$(echo "$rss/1024" | bc -l)"
}

big=$out/big32k.png
[ -f "$big" ] || { echo "making 32768x32768 RGB PNG..."; $mk "$big" 32768 32768; }
ls -l "$big" | awk '{printf "input: %s, %.1f GB\n", $9, $5/1e9}'
measure "imkit extract 1024x1024 at (16000,16000)" $imkit extract-tile "$big" "$out/tile.png" --x 16000 --y 16000
measure "imkit extract 1024x1024 at the bottom" $imkit extract-tile "$big" "$out/tile_bottom.png" --x 31000 --y 31000
measure "imkit paste 1024x1024 into 32768^2" $imkit paste-tile "$big" "$out/tile.png" "$out/patched.png" --x 100 --y 100

mid=$out/mid8k.png
[ -f "$mid" ] || $mk "$mid" 8192 8192
cat > "$out/pillow_tile.py" <<'PY'
import sys
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
mode, base, tile, out = sys.argv[1:5]
if mode == "extract":
    Image.open(base).crop((4000, 4000, 5024, 5024)).save(out)
else:
    img = Image.open(base); img.load()
    img.paste(Image.open(tile), (100, 100)); img.save(out)
PY
py=bench-out/venv/bin/python
t() { local s=$(date +%s.%N); "$@" > /dev/null; echo "$(date +%s.%N) - $s" | bc -l; }
ie=$(t $imkit extract-tile "$mid" "$out/i_tile.png" --x 4000 --y 4000)
pe=$(t $py "$out/pillow_tile.py" extract "$mid" - "$out/p_tile.png")
ip=$(t $imkit paste-tile "$mid" "$out/i_tile.png" "$out/i_patched.png" --x 100 --y 100)
pp=$(t $py "$out/pillow_tile.py" paste "$mid" "$out/p_tile.png" "$out/p_patched.png")
printf 'extract on 8192^2: imkit %.2fs, Pillow/imkerutils %.2fs -> %.1fx\n' "$ie" "$pe" "$(echo "$pe/$ie" | bc -l)"
printf 'paste   on 8192^2: imkit %.2fs, Pillow/imkerutils %.2fs -> %.1fx\n' "$ip" "$pp" "$(echo "$pp/$ip" | bc -l)"
ls -l "$out/i_patched.png" "$out/p_patched.png" | awk '{printf "  %s %.1f MB\n", $9, $5/1e6}'
