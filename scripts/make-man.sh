#!/usr/bin/env bash
# Writes a man page (roff) for the imkit CLI to stdout, generated from its --help output:
# the top-level help, then one subsection per subcommand.
# Usage: scripts/make-man.sh PATH/TO/imkit VERSION
set -euo pipefail
cli=$1
version=$2
escape() { sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/'; }
echo ".TH IMKIT 1 \"\" \"imkit $version\" \"User Commands\""
echo ".SH NAME"
echo "imkit \\- tile-based processing of images of any size"
echo ".SH SYNOPSIS"
echo ".B imkit"
echo "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]"
echo ".SH DESCRIPTION"
echo ".nf"
"$cli" --help | escape
echo ".fi"
echo ".SH COMMANDS"
commands=$("$cli" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && $1 != "" && $1 != "help" { print $1 }')
for c in $commands; do
  echo ".SS imkit $c"
  echo ".nf"
  "$cli" "$c" --help | escape
  echo ".fi"
done
echo ".SH SEE ALSO"
echo "The C header imkit.h and pkg-config --cflags --libs imkit."
