"""The ``extract-tile`` and ``paste-tile`` console scripts, with imkerutils' arguments.

Default outputs follow imkerutils (``outputs/tiles/<stem>__<corner>__<x>_<y>.png`` and
``outputs/images/<stem>__patched.png``) but relative to the current directory, not to the
installed package. Errors are one line on stderr and exit status 1 instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, List, Optional

import imkit

from . import core


def _parser(prog: str, paste: bool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog)
    if paste:
        p.add_argument("base")
        p.add_argument("tile")
    else:
        p.add_argument("input")
    p.add_argument("output", nargs="?")
    p.add_argument("--x", type=int, required=True)
    p.add_argument("--y", type=int, required=True)
    p.add_argument("--corner", default="tl")
    return p


def _run(action: Callable[[], None]) -> int:
    try:
        action()
    except (ValueError, OSError, imkit.Error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def extract_main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``extract-tile INPUT [OUTPUT] --x X --y Y [--corner tl|tr|bl|br]``."""
    args = _parser("extract-tile", paste=False).parse_args(argv)

    def action() -> None:
        out = args.output or (
            Path("outputs/tiles") / f"{Path(args.input).stem}__{args.corner}__{args.x}_{args.y}.png"
        )
        rect = core.extract_tile(args.input, out, x=args.x, y=args.y, corner=args.corner)
        print(f"Saved tile: {out}")
        print(f"Rect (left, top, right, bottom) = {rect}  [right/bottom exclusive]")

    return _run(action)


def paste_main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``paste-tile BASE TILE [OUTPUT] --x X --y Y [--corner tl|tr|bl|br]``."""
    args = _parser("paste-tile", paste=True).parse_args(argv)

    def action() -> None:
        out = args.output or Path("outputs/images") / f"{Path(args.base).stem}__patched.png"
        left, top = core.paste_tile(args.base, args.tile, out, x=args.x, y=args.y,
                                    corner=args.corner)
        print(f"Saved patched image: {out}")
        print(f"Tile top-left at (left, top) = ({left}, {top})")

    return _run(action)
