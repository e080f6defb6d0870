"""Zoom history: back and forward through the views the user settled on, as in a web browser.

Qt-free; the model (:class:`~spectroview.session.model.ViewerModel`) owns one
and tells it of each change the user makes to the time range or the
frequency band.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SETTLE_SECONDS", "View", "ViewHistory"]

#: Changes closer together than this (s) are one step of the history: a wheel turn or a drag.
SETTLE_SECONDS = 0.6

#: Most steps kept back (the oldest go first).
HISTORY_LIMIT = 100


@dataclass(frozen=True)
class View:
    """What is in view: the time range ``t0``-``t1`` in s and the frequency ``band`` in Hz (None: all)."""

    t0: float
    t1: float
    band: tuple[float, float] | None = None

    def near(self, other: View) -> bool:
        """The same view up to float rounding (1e-6 of each span): a redraw's echo is not a step."""

        def close(a: tuple[float, float], b: tuple[float, float]) -> bool:
            tol = 1e-6 * max(abs(a[1] - a[0]), abs(b[1] - b[0]), 1e-9)
            return math.isclose(a[0], b[0], abs_tol=tol) and math.isclose(a[1], b[1], abs_tol=tol)

        if not close((self.t0, self.t1), (other.t0, other.t1)):
            return False
        if self.band is None or other.band is None:
            return self.band is None and other.band is None
        return close(self.band, other.band)


class ViewHistory:
    """Back and forward through settled views.

    Parameters
    ----------
    settle : float
        Changes less than this many seconds apart belong to one step
        (:data:`SETTLE_SECONDS`).
    limit : int
        Most views kept back.
    clock : callable
        Monotonic time in s (injected by tests).
    """

    def __init__(
        self, *, settle: float = SETTLE_SECONDS, limit: int = HISTORY_LIMIT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settle = settle
        self.limit = limit
        self._clock = clock
        self._past: list[View] = []
        self._future: list[View] = []
        self._last = -math.inf

    @property
    def can_go_back(self) -> bool:
        return bool(self._past)

    @property
    def can_go_forward(self) -> bool:
        return bool(self._future)

    def clear(self) -> None:
        """Forget every step (another file)."""
        self._past.clear()
        self._future.clear()
        self._last = -math.inf

    def changing(self, before: View) -> None:
        """The user is changing the view from ``before``: it becomes a step back unless a gesture is under way."""
        now = self._clock()
        if now - self._last >= self.settle and not (self._past and self._past[-1].near(before)):
            self._past.append(before)
            del self._past[: -self.limit]
        self._future.clear()  # a new way forward, as in a browser
        self._last = now

    def back(self, current: View) -> View | None:
        """The view before ``current`` (which becomes the way forward), or None at the start."""
        while self._past and self._past[-1].near(current):
            self._past.pop()
        if not self._past:
            return None
        self._future.append(current)
        self._last = -math.inf  # the next change starts a new step from the view gone back to
        return self._past.pop()

    def forward(self, current: View) -> View | None:
        """The view gone back from, or None when there is none."""
        if not self._future:
            return None
        self._past.append(current)
        self._last = -math.inf
        return self._future.pop()
