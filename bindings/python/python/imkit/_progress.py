"""Progress reporting for long calls: a bar on a terminal (tqdm when installed, else a plain
stderr bar), or the caller's callable."""

from __future__ import annotations

import sys
from typing import Callable, Optional, Union

ProgressArg = Union[bool, None, Callable[[int, int], Optional[bool]]]


class _StderrBar:
    """A one-line text bar on stderr, redrawn when the shown percentage changes."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = -1

    def __call__(self, done: int, total: int) -> bool:
        percent = 100 if total == 0 else done * 100 // total
        if percent != self.shown:
            self.shown = percent
            filled = percent * 30 // 100
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}% ({done}/{total})")
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        return True


class _TqdmBar:
    """A tqdm bar, created at the first report (when the total is known)."""

    def __init__(self, tqdm, label: str) -> None:
        self.tqdm, self.label, self.bar = tqdm, label, None

    def __call__(self, done: int, total: int) -> bool:
        if self.bar is None:
            self.bar = self.tqdm(total=total, desc=self.label, unit="step")
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.bar.close()
        return True


def callback(progress: ProgressArg, label: str) -> Optional[Callable[[int, int], Optional[bool]]]:
    """The callable for ``progress=``: ``True`` draws a bar when stderr is a terminal,
    ``False``/``None`` reports nothing (Ctrl-C still stops the work), a callable
    ``f(done, total)`` is called as is (returning ``False`` cancels)."""
    if progress is None or progress is False:
        return None
    if progress is True:
        if not sys.stderr.isatty():
            return None
        try:
            from tqdm import tqdm
        except ImportError:
            return _StderrBar(label)
        return _TqdmBar(tqdm, label)
    if callable(progress):
        return progress
    raise TypeError("progress must be True, False, None or a callable(done, total)")
