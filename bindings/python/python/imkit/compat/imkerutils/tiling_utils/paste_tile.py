"""``python -m imkit.compat.imkerutils.tiling_utils.paste_tile``: the paste-tile tool."""

from ._cli import paste_main as main

if __name__ == "__main__":
    raise SystemExit(main())
