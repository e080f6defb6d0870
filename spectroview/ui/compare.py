"""A/B compare: the same audio under a second parameter set, below the main view.

The time axes are linked, the frequency axes follow each other in Hz (the
two row grids differ), and the cursor is drawn in both, so the
time/frequency trade-off of two window sizes can be read side by side.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject

from spectroview.audio.files import AudioInfo
from spectroview.dsp import ParameterError, SpectrogramParams
from spectroview.ui.panel import SpectrogramPanel
from spectroview.ui.workers import ViewController

__all__ = ["CompareController", "default_b_n_fft"]


def default_b_n_fft(n_fft: int) -> int:
    """The window size B starts with: far from A's, so the difference shows (256 or 4096)."""
    return 256 if n_fft >= 1024 else 4096


class CompareController(QObject):
    """Drives panel B from panel A's view: same file, same time range, B's own window size."""

    def __init__(self, a: SpectrogramPanel, b: SpectrogramPanel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.a, self.b = a, b
        self.controller = ViewController(self)
        self.controller.imageReady.connect(self.b.show_image)
        # Zoomed-out views of B come from B's own overview: redraw as it fills in.
        self.controller.overviewProgress.connect(lambda _fraction: self._refresh_if_overview())
        self.controller.overviewReady.connect(self.refresh)
        self.n_fft = 4096
        self.params: SpectrogramParams | None = None
        self.active = False
        self._syncing = False
        b.spec_plot.setXLink(a.spec_plot)
        a.spec_box.sigYRangeChanged.connect(lambda *_: self._sync_y(self.a, self.b))
        b.spec_box.sigYRangeChanged.connect(lambda *_: self._sync_y(self.b, self.a))
        a.cursorMoved.connect(lambda t, _y: self._cursor(t))

    def start(
        self, info: AudioInfo, params_a: SpectrogramParams, channel: int | None, n_fft: int | None = None
    ) -> None:
        self.active = True
        self.n_fft = n_fft or default_b_n_fft(params_a.n_fft)
        self.controller.set_source(Path(info.path), info.frames, channel, info.stream)
        self.b.set_document(info.duration)
        self.set_params_a(params_a)

    def stop(self) -> None:
        self.active = False

    def set_params_a(self, params_a: SpectrogramParams) -> None:
        """B copies A's parameters except the window size (and its hop = window/4)."""
        if not self.active:
            return
        try:
            params = dataclasses.replace(
                params_a, n_fft=self.n_fft, hop_length=max(1, self.n_fft // 4), win_length=None
            )
        except ParameterError:
            return
        self.params = params
        self.b.set_params(params)
        self.controller.set_params(params)
        self.refresh()

    def set_n_fft(self, n_fft: int, params_a: SpectrogramParams) -> None:
        self.n_fft = n_fft
        self.set_params_a(params_a)

    def refresh(self) -> None:
        if self.active:
            t0, t1 = self.a.visible_range()
            self.controller.request_view(t0, t1, self.a.plot_width())
            self._sync_y(self.a, self.b)

    def _refresh_if_overview(self) -> None:
        latest = self.controller.latest
        if latest is None or latest.origin == "overview":
            self.refresh()

    def _sync_y(self, source: SpectrogramPanel, target: SpectrogramPanel) -> None:
        # Rows differ between the two parameter sets: match the visible band in Hz.
        if self._syncing or not self.active or source.mapping is None or target.mapping is None:
            return
        (_, _), (y0, y1) = source.spec_box.viewRange()
        f0, f1 = source.mapping.y_to_hz(max(0.0, y0)), source.mapping.y_to_hz(min(source.n_rows, y1))
        self._syncing = True
        try:
            target.spec_plot.setYRange(float(target.mapping.hz_to_y(f0)), float(target.mapping.hz_to_y(f1)), padding=0)
        finally:
            self._syncing = False

    def _cursor(self, t: float) -> None:
        if self.active:
            self.b.cursor_line.setPos(t)
            self.b.cursor_line.show()
