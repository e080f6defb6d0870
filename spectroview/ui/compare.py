"""A/B compare: pane B's frequency axis follows pane A's in Hz.

The two panes' rows differ (another window size or scale), so their
frequency ranges are matched in Hz, not in rows; the time axes are linked
directly.  What B shows (its parameters, its jobs) is decided by the model
(:class:`~spectroview.session.model.CompareSettings`) and drawn by the main
window like pane A.
"""

from __future__ import annotations

from spectroview.ui.panel import SpectrogramPanel

__all__ = ["link_frequency_axes"]


def link_frequency_axes(a: SpectrogramPanel, b: SpectrogramPanel) -> None:
    """Link the time axes of ``a`` and ``b`` and keep their visible frequency bands equal in Hz."""
    b.spec_plot.setXLink(a.spec_plot)
    syncing = [False]

    def sync(source: SpectrogramPanel, target: SpectrogramPanel) -> None:
        if syncing[0] or not target.isVisible() or source.mapping is None or target.mapping is None:
            return
        (_, _), (y0, y1) = source.spec_box.viewRange()
        f0 = source.mapping.y_to_hz(max(0.0, y0))
        f1 = source.mapping.y_to_hz(min(source.n_rows, y1))
        syncing[0] = True
        try:
            target.spec_plot.setYRange(float(target.mapping.hz_to_y(f0)), float(target.mapping.hz_to_y(f1)), padding=0)
        finally:
            syncing[0] = False

    a.spec_box.sigYRangeChanged.connect(lambda *_: sync(a, b))
    b.spec_box.sigYRangeChanged.connect(lambda *_: sync(b, a))
