"""``python -m imkit.compat.imkerutils.tiling_utils.extract_tile``: the extract-tile tool."""

from ._cli import extract_main as main

if __name__ == "__main__":
    raise SystemExit(main())
