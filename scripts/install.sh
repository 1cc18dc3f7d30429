#!/usr/bin/env bash
# Builds imkit in release mode and installs it under PREFIX:
#   lib/libimkit.so.<ABI> (SONAME), lib/libimkit.so -> libimkit.so.<ABI>, lib/libimkit.a,
#   include/imkit.h, include/imkit.hpp, lib/pkgconfig/imkit.pc,
#   lib/cmake/imkit/imkitConfig.cmake + imkitConfigVersion.cmake (target imkit::imkit),
#   bin/imkit, share/man/man1/imkit.1 (generated from `imkit --help`),
#   share/imkit/install_manifest.txt (what scripts/uninstall.sh removes).
# Usage: scripts/install.sh [PREFIX]      (default /usr/local)
# IMKIT_LIB_DIR=DIR and IMKIT_CLI=FILE install a library and CLI already built instead of
# building them (the tests use this).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
case $prefix in /*) ;; *) prefix="$PWD/$prefix" ;; esac

libs_private=""
lib_dir=${IMKIT_LIB_DIR:-}
cli=${IMKIT_CLI:-}
if [ -z "$lib_dir" ]; then
  libs_private=$(cargo rustc --release --lib --quiet -- --print native-static-libs 2>&1 \
    | sed -n 's/.*native-static-libs: //p' | tail -n 1)
  lib_dir=target/release
fi
if [ -z "$cli" ]; then
  cargo build --release --bin imkit --quiet
  cli=target/release/imkit
fi
# Without a fresh rustc run, use the line the README documents (a test keeps the two equal).
[ -n "$libs_private" ] || libs_private=$(sed -n 's/.*libimkit\.a \(-l[^`]*\)`.*/\1/p' README.md | head -n 1)

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
abi=$(sed -n 's/^#define IMKIT_ABI_VERSION \([0-9]*\)/\1/p' include/imkit.h)
libs_cmake=$(echo "$libs_private" | tr -s ' ' ';')

manifest=()
put() { # put MODE SRC DEST: installs one file and records it
  install -D -m "$1" "$2" "$3"
  manifest+=("$3")
}
link() { # link TARGET NAME: a symlink NAME -> TARGET, recorded
  ln -sfn "$1" "$2"
  manifest+=("$2")
}
subst() { # subst TEMPLATE DEST: fills @VARS@ of a template
  install -d "$(dirname "$2")"
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" \
    -e "s|@MINOR@|$minor|g" -e "s|@ABI@|$abi|g" -e "s|@LIBS_PRIVATE@|$libs_private|g" \
    -e "s|@LIBS_PRIVATE_CMAKE@|$libs_cmake|g" "$1" > "$2"
  manifest+=("$2")
}

put 755 "$lib_dir/libimkit.so" "$prefix/lib/libimkit.so.$abi"
link "libimkit.so.$abi" "$prefix/lib/libimkit.so"
put 644 "$lib_dir/libimkit.a" "$prefix/lib/libimkit.a"
put 644 include/imkit.h "$prefix/include/imkit.h"
put 644 bindings/cpp/imkit.hpp "$prefix/include/imkit.hpp"
subst imkit.pc.in "$prefix/lib/pkgconfig/imkit.pc"
subst cmake/imkitConfig.cmake.in "$prefix/lib/cmake/imkit/imkitConfig.cmake"
subst cmake/imkitConfigVersion.cmake.in "$prefix/lib/cmake/imkit/imkitConfigVersion.cmake"
put 755 "$cli" "$prefix/bin/imkit"

man="$prefix/share/man/man1/imkit.1"
install -d "$(dirname "$man")"
scripts/make-man.sh "$prefix/bin/imkit" "$version" > "$man"
manifest+=("$man")

list="$prefix/share/imkit/install_manifest.txt"
install -d "$(dirname "$list")"
printf '%s\n' "${manifest[@]}" "$list" > "$list"
echo "installed imkit $version (ABI $abi) under $prefix"
