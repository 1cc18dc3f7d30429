#!/usr/bin/env bash
# Side-by-side benchmark of the drop-in modules against the tools they replace (not a test).
#
#   benches/compat.sh [quick]
#
# Creates bench-out/compat-venv with the originals impart 0.0.5 (+ pyvips with its bundled
# libvips) and iidfile 0.2.0 from PyPI, plus imkit's Python package built from this checkout,
# then runs benches/compat_bench.py: every task in its own process under /usr/bin/time
# (wall seconds and peak RSS), original and imkit alternating, twice each, same inputs.
#
# immetaio and imkerutils are not on PyPI (only their source repositories exist), so their
# rows run the exact library calls those packages make: immetaio = cv2.imwrite with PNG level 9
# / EXR PIZ + json sidecar, cv2.imread(IMREAD_UNCHANGED) + json; imkerutils = Pillow open, crop,
# paste, save. `quick` shrinks the inputs (4096^2 images, 10 frames) for a fast look.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench-out/compat
venv=bench-out/compat-venv
mkdir -p "$out"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install -q --disable-pip-version-check numpy pillow "opencv-python-headless<5" \
  pyvips pyvips-binary impart==0.0.5 iidfile==0.2.0 scikit-image maturin
"$venv/bin/pip" install -q --disable-pip-version-check ./bindings/python
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
exec nice "$venv/bin/python" benches/compat_bench.py "$out" "${1:-full}"
