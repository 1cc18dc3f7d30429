#!/usr/bin/env bash
# Builds imkit in release mode and installs the C library, header and pkg-config file:
#   PREFIX/lib/libimkit.a, libimkit.so, libimkit.so.<ABI>, PREFIX/include/imkit.h,
#   PREFIX/lib/pkgconfig/imkit.pc
# Usage: scripts/install.sh [PREFIX]      (default /usr/local)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}

libs_private=$(cargo rustc --release --lib --quiet -- --print native-static-libs 2>&1 \
  | sed -n 's/.*native-static-libs: //p' | tail -n 1)
[ -n "$libs_private" ] || libs_private="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
cargo build --release --lib --quiet

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
abi=$(sed -n 's/^#define IMKIT_ABI_VERSION \([0-9]*\)/\1/p' include/imkit.h)

install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 644 target/release/libimkit.a "$prefix/lib/"
install -m 755 target/release/libimkit.so "$prefix/lib/libimkit.so.$abi"
ln -sf "libimkit.so.$abi" "$prefix/lib/libimkit.so"
install -m 644 include/imkit.h "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@LIBS_PRIVATE@|$libs_private|" \
  imkit.pc.in > "$prefix/lib/pkgconfig/imkit.pc"
echo "installed imkit $version (ABI $abi) under $prefix"
