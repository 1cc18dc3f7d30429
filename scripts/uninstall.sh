#!/usr/bin/env bash
# Removes what scripts/install.sh installed under PREFIX (the files listed in
# PREFIX/share/imkit/install_manifest.txt), then the directories it left empty.
# Usage: scripts/uninstall.sh [PREFIX]    (default /usr/local)
set -euo pipefail
prefix=${1:-/usr/local}
case $prefix in /*) ;; *) prefix="$PWD/$prefix" ;; esac
list="$prefix/share/imkit/install_manifest.txt"
if [ ! -f "$list" ]; then
  echo "uninstall: $list not found: imkit is not installed under $prefix" >&2
  exit 1
fi
mapfile -t files < "$list"
for f in "${files[@]}"; do
  rm -f "$f"
done
for d in lib/cmake/imkit lib/cmake lib/pkgconfig share/man/man1 share/man share/imkit share bin include lib; do
  rmdir "$prefix/$d" 2>/dev/null || true
done
echo "removed imkit from $prefix"
