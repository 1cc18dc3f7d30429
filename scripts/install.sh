#!/usr/bin/env bash
# Builds imkit in release mode and installs the C library, header and pkg-config file:
#   PREFIX/lib/libimkit.a, libimkit.so, libimkit.so.<ABI>, PREFIX/include/imkit.h,
#   PREFIX/lib/pkgconfig/imkit.pc
# Usage: scripts/install.sh [PREFIX]      (default /usr/local)
# IMKIT_LIB_DIR=DIR installs libraries already built in DIR instead of building them.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}

libs_private=""
lib_dir=${IMKIT_LIB_DIR:-}
if [ -z "$lib_dir" ]; then
  libs_private=$(cargo rustc --release --lib --quiet -- --print native-static-libs 2>&1 \
    | sed -n 's/.*native-static-libs: //p' | tail -n 1)
  lib_dir=target/release
fi
# Without a fresh rustc run, use the line the README documents (a test keeps the two equal).
[ -n "$libs_private" ] || libs_private=$(sed -n 's/.*libimkit\.a \(-l[^`]*\)`.*/\1/p' README.md | head -n 1)

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
abi=$(sed -n 's/^#define IMKIT_ABI_VERSION \([0-9]*\)/\1/p' include/imkit.h)

install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 644 "$lib_dir/libimkit.a" "$prefix/lib/"
install -m 755 "$lib_dir/libimkit.so" "$prefix/lib/libimkit.so.$abi"
ln -sf "libimkit.so.$abi" "$prefix/lib/libimkit.so"
install -m 644 include/imkit.h "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@LIBS_PRIVATE@|$libs_private|" \
  imkit.pc.in > "$prefix/lib/pkgconfig/imkit.pc"
echo "installed imkit $version (ABI $abi) under $prefix"
