"""A/B compare: pane B's frequency axis follows pane A's in Hz.

The two panes' rows differ (another window size or scale), so their
frequency ranges are matched in Hz, not in rows; the time axes are linked
directly.  What B shows (its parameters, its jobs) is decided by the model
(:class:`~spectroview.session.model.CompareSettings`) and drawn by the main
window like pane A.
"""

from __future__ import annotations

from collections.abc import Callable

from spectroview.ui.panel import SpectrogramPanel

__all__ = ["link_frequency_axes"]


def link_frequency_axes(a: SpectrogramPanel, b: SpectrogramPanel) -> Callable[[], None]:
    """Link the time axes of ``a`` and ``b``; ``b`` shows ``a``'s visible frequency band in Hz.

    One way: ``a`` leads (``b``'s rows may not reach ``a``'s band, e.g. a mel
    scale at a small window, and must not narrow ``a``).  Returns the
    function that re-syncs ``b`` (after ``b``'s parameters change).
    """
    b.spec_plot.setXLink(a.spec_plot)
    b.spec_plot.setMouseEnabled(x=True, y=False)

    def sync() -> None:
        if not b.isVisible() or a.mapping is None or b.mapping is None:
            return
        (_, _), (y0, y1) = a.spec_box.viewRange()
        f0 = a.mapping.y_to_hz(max(0.0, y0))
        f1 = a.mapping.y_to_hz(min(a.n_rows, y1))
        lo = max(0.0, float(b.mapping.hz_to_y(f0)))
        hi = min(float(b.n_rows), float(b.mapping.hz_to_y(f1)))
        b.spec_plot.setYRange(lo, hi if hi > lo else float(b.n_rows), padding=0)

    a.spec_box.sigYRangeChanged.connect(lambda *_: sync())
    return sync
