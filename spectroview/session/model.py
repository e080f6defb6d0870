"""The viewer's one owner of state, without Qt: what the user asked for and what every pane shows.

:class:`ViewerModel` holds the request (:class:`ViewSettings`, the A/B
settings, the tools) and derives from it, through :func:`resolve`, one
frozen :class:`Shown` snapshot: the mode (file or live), the open file, the
sample rate, the parameters used and why they differ from the request.
Every pane draws from the same snapshot, and a transition (open a file, a
parameter change, live on/off, A/B on/off) replaces it whole, in one event:
a pane can never show one file's rate with another file's picture.

Transitions that can fail are checked before anything changes: a file is
opened (probed) by the caller first and handed to :meth:`ViewerModel.open`
only when it opened; an edit the rules refuse leaves everything as it was
and emits :attr:`ViewerModel.refused` with the reason.

Events are psygnal signals (as ndv and napari use), emitted synchronously on
the thread that made the change (the GUI thread in the viewer).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from psygnal import Signal

from spectroview.audio.files import AudioInfo
from spectroview.dsp import SCALES, ParameterError, SpectrogramParams
from spectroview.session.history import View, ViewHistory
from spectroview.session.resolve import Resolved, apply_changes, locked_hop, resolve
from spectroview.session.settings import ViewSettings

__all__ = [
    "CompareSettings",
    "Cursor",
    "Mode",
    "Shown",
    "SliceMode",
    "Tools",
    "ViewerModel",
    "default_b_n_fft",
    "follow_page",
]

Mode = Literal["file", "live"]
#: What the spectrum slice follows: the play cursor (placed by a click), the pointer (hover),
#: the playhead while playing, or the selection (averaged).
SliceMode = Literal["cursor", "pointer", "playhead", "selection"]


def default_b_n_fft(n_fft: int) -> int:
    """The window size B starts with: far from A's, so the difference shows (256 or 4096)."""
    return 256 if n_fft >= 1024 else 4096


@dataclass(frozen=True)
class CompareSettings:
    """Pane B of A/B compare: A's settings with its own window, hop and scale.

    Attributes
    ----------
    n_fft : int or None
        B's window size in samples; None: far from A's (:func:`default_b_n_fft`).
    hop_length : int or None
        B's hop in samples; None: ``n_fft // 4``.
    scale : str or None
        B's frequency scale; None: A's.
    """

    n_fft: int | None = None
    hop_length: int | None = None
    scale: str | None = None

    def __post_init__(self) -> None:
        if self.n_fft is not None:
            SpectrogramParams(n_fft=self.n_fft, hop_length=None)  # raises ParameterError naming n_fft
        if self.scale is not None and self.scale not in SCALES:
            raise ParameterError(f"scale={self.scale!r}: must be one of {', '.join(SCALES)}")
        if self.hop_length is not None and (not isinstance(self.hop_length, int) or self.hop_length < 1):
            raise ParameterError(f"hop_length={self.hop_length!r}: must be an integer >= 1 or None")

    def settings_for(self, a: ViewSettings) -> ViewSettings:
        """B's request: ``a`` with B's window, hop and scale."""
        n_fft = self.n_fft or default_b_n_fft(a.params.n_fft)
        hop = self.hop_length if self.hop_length is not None and self.hop_length <= n_fft else locked_hop(n_fft)
        params = dataclasses.replace(
            a.params,
            n_fft=n_fft,
            hop_length=hop,
            win_length=None,
            scale=self.scale or a.params.scale,  # type: ignore[arg-type]
        )
        return dataclasses.replace(a, params=params, hop_locked=self.hop_length is None)


@dataclass(frozen=True)
class Tools:
    """Overlays and analysis tools: pitch track, harmonic cursor, what the spectrum slice follows."""

    pitch: bool = False
    harmonics: bool = False
    slice_mode: SliceMode = "cursor"
    #: The view turns a page when the playhead leaves it (as Audacity's "pinned" off).
    follow: bool = True


def follow_page(position: float, view: tuple[float, float], duration: float) -> tuple[float, float] | None:
    """The view to show when playback at ``position`` s has left ``view``; None while it is inside.

    A page turn, as Audacity does: the next view starts at the playhead and
    keeps the span (clamped to the file's ``duration``), so the picture moves
    once per screenful instead of scrolling under the reader.
    """
    t0, t1 = view
    span = t1 - t0
    if not (span > 0 and math.isfinite(position)) or t0 <= position < t1:
        return None
    start = min(max(0.0, position), max(0.0, duration - span))
    return (start, start + span)


@dataclass(frozen=True)
class Cursor:
    """The pointer over a pane: time in s, frequency in Hz, and which pane ("a" or "b")."""

    t: float
    hz: float
    pane: str = "a"


@dataclass(frozen=True)
class Shown:
    """What every pane draws, as one snapshot (replaced whole on each transition).

    Attributes
    ----------
    mode : {"file", "live"}
    info : AudioInfo or None
        The open file (kept while live, so leaving live mode returns to it).
    sr : float or None
        Sample rate of what is drawn (the file's, or the microphone's when
        live); None: nothing to draw.
    a : Resolved or None
        Pane A's settings and parameters used (None: nothing to draw).
    b : Resolved or None
        Pane B's (None: A/B compare off, or nothing to draw).
    serial : int
        Increases with every transition.
    """

    mode: Mode = "file"
    info: AudioInfo | None = None
    sr: float | None = None
    a: Resolved | None = None
    b: Resolved | None = None
    serial: int = 0

    @property
    def n_channels(self) -> int:
        return 1 if self.mode == "live" or self.info is None else self.info.channels

    @property
    def duration(self) -> float:
        """Length of the open file in s (0 without one)."""
        return self.info.duration if self.info is not None else 0.0

    @property
    def note(self) -> str:
        """Why what is drawn differs from the request (empty if it does not)."""
        notes = [self.a.note if self.a is not None else "", "B: " + self.b.note if self.b and self.b.note else ""]
        return "\n".join(n for n in notes if n)


@dataclass
class _FileView:
    """The file view saved while live mode runs."""

    time_range: tuple[float, float] = (0.0, 0.0)
    selection: tuple[float, float] | None = None


class ViewerModel:
    """The viewer's state: the request, the snapshot shown, the visible range, cursor, selection, tools.

    Signals
    -------
    shown_changed(Shown)
        A transition: every pane redraws from the new snapshot.
    range_changed(float, float)
        The visible time range in s (file mode).
    cursor_changed(Cursor or None)
        The pointer over a pane (hover).
    play_cursor_changed(float)
        The play cursor, in s: where a click put it, where playback starts.
    band_changed(tuple or None)
        The model set the frequency band (zoom history): the view follows.
    history_changed(bool, bool)
        Whether the zoom history can go back, and forward.
    selection_changed(tuple or None)
        The selected time range ``(t0, t1)`` in s, or None.
    tools_changed(Tools)
    refused(str)
        An edit was refused; nothing changed; the reason is for the user.
    """

    shown_changed = Signal(object)
    range_changed = Signal(float, float)
    cursor_changed = Signal(object)
    play_cursor_changed = Signal(float)
    band_changed = Signal(object)
    history_changed = Signal(bool, bool)
    selection_changed = Signal(object)
    tools_changed = Signal(object)
    refused = Signal(str)

    def __init__(self, settings: ViewSettings | None = None) -> None:
        self.requested: ViewSettings = settings if settings is not None else ViewSettings()
        self.compare_on = False
        self.compare: CompareSettings = CompareSettings()
        self.tools = Tools()
        self.shown = Shown()
        self.time_range: tuple[float, float] = (0.0, 0.0)
        self.freq_range: tuple[float, float] | None = None  # visible band in Hz; None: all of it
        self.cursor: Cursor | None = None
        self.play_cursor = 0.0
        self.history = ViewHistory()
        self.selection: tuple[float, float] | None = None
        self.live_sr: float | None = None
        self._file_view = _FileView()
        self._serial = 0

    # -- reading ----------------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return self.shown.mode

    @property
    def info(self) -> AudioInfo | None:
        return self.shown.info

    # -- transitions ------------------------------------------------------------------------
    def open(self, info: AudioInfo) -> None:
        """Show ``info``'s file (already opened by the caller); leaves live mode; whole file visible."""
        self.live_sr = None
        self.time_range = (0.0, info.duration)  # before the event: listeners read a consistent model
        self.freq_range = None
        self.selection = None
        self.cursor = None
        self.play_cursor = 0.0
        self.history.clear()
        self._publish(mode="file", info=info)
        self.range_changed.emit(*self.time_range)
        self.selection_changed.emit(None)
        self.play_cursor_changed.emit(0.0)
        self._history_event()

    def close_file(self) -> None:
        """Show nothing (no file, not live)."""
        self.live_sr = None
        self.time_range = (0.0, 0.0)
        self.selection = None
        self.history.clear()
        self._publish(mode="file", info=None)
        self.range_changed.emit(*self.time_range)
        self.selection_changed.emit(None)

    def start_live(self, sr: float) -> None:
        """Live mode at ``sr`` Hz (the microphone has started); the file view is kept for later."""
        if self.mode == "file":
            self._file_view = _FileView(self.time_range, self.selection)
        self.live_sr = float(sr)
        self.selection = None
        self._publish(mode="live")
        self.selection_changed.emit(None)

    def stop_live(self) -> None:
        """Back to the file exactly as it was (range, selection), with the settings changed meanwhile."""
        if self.mode != "live":
            return
        self.live_sr = None
        if self.shown.info is not None:
            t0, t1 = self._file_view.time_range
            duration = self.shown.info.duration
            t0, t1 = min(max(t0, 0.0), duration), min(max(t1, 0.0), duration)
            self.time_range = (t0, t1) if t1 > t0 else (0.0, duration)
            self.selection = self._file_view.selection
        else:
            self.time_range, self.selection = (0.0, 0.0), None
        self._publish(mode="file")
        self.range_changed.emit(*self.time_range)
        self.selection_changed.emit(self.selection)

    def request(self, **changes: Any) -> bool:
        """An edit of the settings (ViewSettings or SpectrogramParams fields), with the coupling rules.

        Returns False (and emits :attr:`refused`) if the edit is invalid on
        its own; then nothing changes.
        """
        try:
            settings = apply_changes(self.requested, **changes)
        except (ParameterError, TypeError, ValueError) as exc:
            self.refused.emit(str(exc))
            return False
        return self.set_settings(settings)

    def set_settings(self, settings: ViewSettings) -> bool:
        """Replace the whole request (restored settings); every pane follows."""
        if settings == self.requested:
            return True
        old = self.requested
        self.requested = settings
        try:
            self._publish()
        except ParameterError as exc:
            self.requested = old
            self.refused.emit(str(exc))
            return False
        return True

    def set_compare(self, on: bool | None = None, **changes: Any) -> bool:
        """A/B compare on or off (``on``), and B's ``n_fft``, ``hop_length``, ``scale``."""
        try:
            compare = dataclasses.replace(self.compare, **changes)
        except (ParameterError, TypeError) as exc:
            self.refused.emit(str(exc))
            return False
        if on is None:
            on = self.compare_on
        if compare == self.compare and on == self.compare_on:
            return True
        old = self.compare, self.compare_on
        self.compare, self.compare_on = compare, on
        try:
            self._publish()
        except ParameterError as exc:
            self.compare, self.compare_on = old
            self.refused.emit(str(exc))
            return False
        return True

    @property
    def view(self) -> View:
        """The visible time range and frequency band, as the zoom history keeps them."""
        return View(*self.time_range, self.freq_range)

    def set_time_range(self, t0: float, t1: float) -> None:
        """The visible time range in s (file mode), clamped to the file; a step of the zoom history."""
        if self.mode != "file" or self.shown.info is None:
            return
        new = self._clamp(t0, t1)
        if new != self.time_range:
            if not View(*new, self.freq_range).near(self.view):
                self._note_change()
            self.time_range = new
            self.range_changed.emit(*new)

    def set_freq_range(self, band: tuple[float, float] | None) -> None:
        """The visible frequency band in Hz (None: all); kept across parameter changes, in Hz."""
        if band is not None:
            lo, hi = sorted(float(f) for f in band)
            band = None if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo else (lo, hi)
        if self.mode == "file" and self.shown.info is not None and not View(*self.time_range, band).near(self.view):
            self._note_change()
        self.freq_range = band

    def go_back(self) -> bool:
        """Zoom history: the view before this one (time range and band); False at the start."""
        return self._go(self.history.back(self.view))

    def go_forward(self) -> bool:
        """Zoom history: the view gone back from; False when there is none."""
        return self._go(self.history.forward(self.view))

    def set_play_cursor(self, t: float) -> None:
        """Put the play cursor at ``t`` s (clamped to the file)."""
        t = min(max(0.0, float(t)), self.shown.duration) if math.isfinite(t) else 0.0
        if t != self.play_cursor:
            self.play_cursor = t
            self.play_cursor_changed.emit(t)

    def set_cursor(self, cursor: Cursor | None) -> None:
        if cursor != self.cursor:
            self.cursor = cursor
            self.cursor_changed.emit(cursor)

    def set_selection(self, selection: tuple[float, float] | None) -> None:
        if selection is not None:
            t0, t1 = sorted(selection)
            selection = (max(0.0, t0), min(self.shown.duration, t1))
            if selection[1] <= selection[0]:
                selection = None
        if selection != self.selection:
            self.selection = selection
            self.selection_changed.emit(selection)

    def set_tools(self, **changes: Any) -> None:
        tools = dataclasses.replace(self.tools, **changes)
        if tools != self.tools:
            self.tools = tools
            self.tools_changed.emit(tools)

    # -- internals ------------------------------------------------------------------------------
    def _note_change(self) -> None:
        before = self.history.can_go_back, self.history.can_go_forward
        self.history.changing(self.view)
        if (self.history.can_go_back, self.history.can_go_forward) != before:
            self._history_event()

    def _history_event(self) -> None:
        self.history_changed.emit(self.history.can_go_back, self.history.can_go_forward)

    def _go(self, view: View | None) -> bool:
        if view is None or self.mode != "file" or self.shown.info is None:
            return False
        self.freq_range = view.band
        self.time_range = self._clamp(view.t0, view.t1)
        self.band_changed.emit(view.band)
        self.range_changed.emit(*self.time_range)
        self._history_event()
        return True

    def _clamp(self, t0: float, t1: float) -> tuple[float, float]:
        duration = self.shown.duration
        t0, t1 = (float(t0), float(t1)) if t0 <= t1 else (float(t1), float(t0))
        if not (math.isfinite(t0) and math.isfinite(t1)):
            return (0.0, duration)
        span = min(max(t1 - t0, 0.0), duration)
        t0 = min(max(t0, 0.0), duration - span)
        return (t0, t0 + span)

    def _publish(self, *, mode: Mode | None = None, info: AudioInfo | Literal["keep"] | None = "keep") -> None:
        """Resolve the request for the current source and emit the new snapshot (or raise, changing nothing)."""
        mode = mode or self.shown.mode
        file_info = self.shown.info if info == "keep" else info
        assert file_info is None or isinstance(file_info, AudioInfo)
        a = b = None
        sr: float | None = None
        if mode == "live":
            assert self.live_sr is not None
            sr = self.live_sr
            # The microphone is one channel: the file's channel choice waits for the file.
            a = resolve(dataclasses.replace(self.requested, channel=None), sr, 1)
            a = dataclasses.replace(a, settings=dataclasses.replace(a.settings, channel=self.requested.channel))
        elif file_info is not None:
            sr = float(file_info.samplerate)
            a = resolve(self.requested, sr, file_info.channels, file_info.frames)
            if self.compare_on:
                # B is resolved from the request, as A is: its note speaks of what the user asked for.
                b = resolve(self.compare.settings_for(self.requested), sr, file_info.channels, file_info.frames)
        self._serial += 1
        self.shown = Shown(mode=mode, info=file_info, sr=sr, a=a, b=b, serial=self._serial)
        self.shown_changed.emit(self.shown)
