"""The analysis controls dock: sliders and choices, each with a tooltip that gives units.

A view only: :meth:`ControlsPanel.set_settings` shows the settings in use
(the model's resolved ones), and each widget sends the user's intent as a
dict of changed fields (``edited``); the rules that couple fields (the hop
lock) live in :mod:`spectroview.session.resolve`, not here.  A programmatic
update never echoes back (``QSignalBlocker``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QWidget,
)

from spectroview.dsp import SCALES, WINDOWS
from spectroview.render.colormaps import COLORMAPS
from spectroview.session.model import CompareSettings, default_b_n_fft
from spectroview.session.settings import ViewSettings

__all__ = ["N_FFT_CHOICES", "ControlsPanel"]

#: Window sizes offered: powers of two, 64 to 32768 samples.
N_FFT_CHOICES = tuple(2**k for k in range(6, 16))
N_MELS_RANGE = (8, 512)


def _ms(samples: int, sr: float) -> str:
    return f"{1000.0 * samples / sr:.1f} ms" if sr > 0 else ""


class _LabeledSlider(QWidget):
    def __init__(self, minimum: int, maximum: int, tooltip: str) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(minimum, maximum)
        self.label = QLabel()
        self.label.setMinimumWidth(84)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.setToolTip(tooltip)
        self.slider.setToolTip(tooltip)


#: Keys a focused control uses itself, before any window shortcut (the View menu's Left/Right scroll).
_CONTROL_KEYS = frozenset(
    {
        Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down,
        Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End,
    }
)  # fmt: skip


class _InputWhenFocused(QObject):
    """A control takes the wheel only once focused, and then its keys before the window's shortcuts.

    The wheel over an unfocused control goes to the scroll area (scrolling
    the dock never changes what passes under the pointer); arrow, page,
    Home and End keys on a focused control move the control, not the view.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            parent = watched.parentWidget()
            if parent is not None:
                QCoreApplication.sendEvent(parent, event)  # unhandled there, it reaches the scroll area
            return True
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if event.key() in _CONTROL_KEYS and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
                event.accept()  # the control wants this key: it arrives as a key press, not a shortcut
                return True
        return super().eventFilter(watched, event)


class ControlsPanel(QWidget):
    """Analysis and display controls.

    Signals
    -------
    edited(dict)
        The user changed something: the changed ViewSettings or
        SpectrogramParams fields and their new values.
    compareEdited(dict)
        The user changed pane B's window (``n_fft``), ``hop_length`` or ``scale``.
    """

    edited = Signal(object)
    compareEdited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = ViewSettings()
        self.sr = 0.0
        self.n_channels = 1
        form = QFormLayout(self)

        self.n_fft = _LabeledSlider(
            0,
            len(N_FFT_CHOICES) - 1,
            "Window size (n_fft) in samples and milliseconds. Larger: finer frequency resolution "
            "(sr/n_fft Hz per bin), coarser time resolution.",
        )
        form.addRow("Window", self.n_fft)
        self.hop = _LabeledSlider(
            1, 1, "Hop length: samples (and ms) between frames; smaller gives more columns per second."
        )
        form.addRow("Hop", self.hop)
        self.hop_lock = QCheckBox("hop = window / 4")
        self.hop_lock.setToolTip("Keep the hop at a quarter of the window size when the window changes.")
        form.addRow("", self.hop_lock)
        self.n_mels = _LabeledSlider(
            *N_MELS_RANGE, "Mel bands (rows of the mel scale), 8 to 512. Active on the mel scale."
        )
        form.addRow("Mel bands", self.n_mels)
        self.scale = QComboBox()
        self.scale.addItems(list(SCALES))
        self.scale.setToolTip(
            "Frequency axis: linear (Hz), logarithmic (octaves) or mel; tick labels are in Hz on every scale."
        )
        form.addRow("Scale", self.scale)
        self.window_function = QComboBox()
        self.window_function.addItems(list(WINDOWS))
        self.window_function.setToolTip("Analysis window function (periodic).")
        form.addRow("Window fn", self.window_function)
        self.fmin = QDoubleSpinBox()
        self.fmin.setRange(0.0, 96000.0)
        self.fmin.setDecimals(1)
        self.fmin.setSuffix(" Hz")
        self.fmin.setToolTip("Lowest frequency of the mel and log scales, in Hz (log: 0 means 20 Hz).")
        form.addRow("f min", self.fmin)
        self.fmax = QDoubleSpinBox()
        self.fmax.setRange(0.0, 96000.0)
        self.fmax.setDecimals(1)
        self.fmax.setSuffix(" Hz")
        self.fmax.setSpecialValueText("Nyquist")
        self.fmax.setToolTip("Highest frequency of the mel and log scales, in Hz (Nyquist: sr/2).")
        form.addRow("f max", self.fmax)
        self.db_floor = QDoubleSpinBox()
        self.db_floor.setRange(-300.0, 50.0)
        self.db_floor.setSuffix(" dBFS")
        self.db_floor.setToolTip("Level shown as the darkest colour, in dB re a full-scale sine.")
        form.addRow("Floor", self.db_floor)
        self.db_ceiling = QDoubleSpinBox()
        self.db_ceiling.setRange(-300.0, 50.0)
        self.db_ceiling.setSuffix(" dBFS")
        self.db_ceiling.setToolTip("Level shown as the brightest colour, in dB re a full-scale sine.")
        form.addRow("Ceiling", self.db_ceiling)
        self.colormap = QComboBox()
        self.colormap.addItems(list(COLORMAPS))
        self.colormap.setToolTip("Colour map (perceptually uniform; grey for print).")
        form.addRow("Colours", self.colormap)
        self.reassigned = QCheckBox("reassigned (zoomed in)")
        self.reassigned.setToolTip(
            "Reassigned spectrogram: each cell's energy moved to its instantaneous frequency and time "
            "(sharper lines and onsets); applies to zoomed-in views, zoomed-out views stay the plain overview"
        )
        form.addRow("Sharpen", self.reassigned)
        self.channel = QComboBox()
        self.channel.setToolTip("Channel analysed: the mix of all channels, or one.")
        form.addRow("Channel", self.channel)
        self.b_n_fft = QComboBox()
        self.b_n_fft.addItems([str(n) for n in N_FFT_CHOICES])
        self.b_n_fft.setToolTip("A/B compare (C): window size of pane B in samples")
        form.addRow("B window", self.b_n_fft)
        self.b_hop = QComboBox()
        self.b_hop.setToolTip("A/B compare: hop of pane B in samples (window / 4, or a fixed number)")
        form.addRow("B hop", self.b_hop)
        self.b_scale = QComboBox()
        self.b_scale.addItems(["as A", *SCALES])
        self.b_scale.setToolTip("A/B compare: frequency axis of pane B")
        form.addRow("B scale", self.b_scale)
        # The note on adjusted settings: the window places it above the (scrolling) form.
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #e08060")
        self.message.hide()

        self.n_fft.slider.valueChanged.connect(self._on_n_fft)
        self.hop.slider.valueChanged.connect(lambda v: self._emit(hop_length=v))
        self.hop_lock.toggled.connect(lambda v: self._emit(hop_locked=v))
        self.n_mels.slider.valueChanged.connect(lambda v: self._emit(n_mels=v))
        self.scale.currentTextChanged.connect(lambda v: self._emit(scale=v))
        self.window_function.currentTextChanged.connect(lambda v: self._emit(window=v))
        # Typed values apply on Enter or leaving the box; arrow keys and the wheel apply at once,
        # so a box never shows a value the picture is not using.
        for box in (self.fmin, self.fmax, self.db_floor, self.db_ceiling):
            box.setKeyboardTracking(False)
        self.fmin.valueChanged.connect(lambda v: self._emit_if_changed("fmin", v))
        self.fmax.valueChanged.connect(lambda v: self._emit_if_changed("fmax", v or None))
        self.db_floor.valueChanged.connect(lambda v: self._emit_if_changed("db_floor", v))
        self.db_ceiling.valueChanged.connect(lambda v: self._emit_if_changed("db_ceiling", v))
        # The wheel scrolls the dock; a control takes it only once focused (clicked or tabbed to),
        # and then its keys too.  One key step of the window slider is one power of two.
        self._input_guard = _InputWhenFocused(self)
        for widget in self.findChildren(QWidget):
            if isinstance(widget, (QSlider, QComboBox, QDoubleSpinBox)):
                widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
                widget.installEventFilter(self._input_guard)
        self.n_fft.slider.setPageStep(1)
        self.colormap.currentTextChanged.connect(lambda v: self._emit(colormap=v))
        self.reassigned.toggled.connect(lambda v: self._emit(reassigned=v))
        self.channel.currentIndexChanged.connect(lambda i: self._emit(channel=None if i <= 0 else i - 1))
        self.b_n_fft.activated.connect(lambda i: self.compareEdited.emit({"n_fft": N_FFT_CHOICES[i]}))
        self.b_hop.activated.connect(lambda i: self.compareEdited.emit({"hop_length": self.b_hop.itemData(i)}))
        self.b_scale.activated.connect(
            lambda i: self.compareEdited.emit({"scale": None if i == 0 else self.b_scale.itemText(i)})
        )
        self.set_settings(self.settings, sr=0.0, n_channels=1)
        self.set_compare(CompareSettings())

    # -- programmatic -------------------------------------------------------------------------
    def set_settings(self, settings: ViewSettings, *, sr: float | None = None, n_channels: int | None = None) -> None:
        """Show ``settings`` without emitting anything."""
        self.settings = settings
        if sr is not None:
            self.sr = sr
        if n_channels is not None:
            self.n_channels = n_channels
        p = settings.params
        widgets: tuple[QWidget, ...] = (
            self.n_fft.slider,
            self.hop.slider,
            self.hop_lock,
            self.n_mels.slider,
            self.scale,
            self.window_function,
        )
        widgets += (self.fmin, self.fmax, self.db_floor, self.db_ceiling, self.colormap, self.channel, self.reassigned)
        blockers = [QSignalBlocker(w) for w in widgets]
        index = N_FFT_CHOICES.index(p.n_fft) if p.n_fft in N_FFT_CHOICES else N_FFT_CHOICES.index(2048)
        self.n_fft.slider.setValue(index)
        self.n_fft.label.setText(f"{p.n_fft} ({_ms(p.n_fft, self.sr)})")
        self.hop.slider.setRange(1, p.n_fft)
        self.hop.slider.setValue(p.hop)
        self.hop.label.setText(f"{p.hop} ({_ms(p.hop, self.sr)})")
        self.hop.slider.setEnabled(not settings.hop_locked)
        self.hop_lock.setChecked(settings.hop_locked)
        self.n_mels.slider.setValue(p.n_mels)
        self.n_mels.label.setText(f"{p.n_mels} bands")
        self.n_mels.setEnabled(p.scale == "mel")
        self.scale.setCurrentText(p.scale)
        self.window_function.setCurrentText(p.window)
        self.fmin.setValue(p.fmin)
        self.fmax.setValue(p.fmax or 0.0)
        self.fmin.setEnabled(p.scale != "linear")
        self.fmax.setEnabled(p.scale != "linear")
        self.db_floor.setValue(settings.db_floor)
        self.db_ceiling.setValue(settings.db_ceiling)
        self.colormap.setCurrentText(settings.colormap)
        self.reassigned.setChecked(settings.reassigned)
        self.channel.clear()
        self.channel.addItems(["mix"] + [str(i + 1) for i in range(self.n_channels)])
        self.channel.setCurrentIndex(0 if settings.channel is None else min(settings.channel + 1, self.n_channels))
        self.channel.setEnabled(self.n_channels > 1)
        del blockers

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_compare(self, compare: CompareSettings, *, active: bool = False) -> None:
        """Show pane B's settings (enabled while A/B compare is on)."""
        n_fft = compare.n_fft or default_b_n_fft(self.settings.params.n_fft)
        widgets = (self.b_n_fft, self.b_hop, self.b_scale)
        blockers = [QSignalBlocker(w) for w in widgets]
        if n_fft in N_FFT_CHOICES:
            self.b_n_fft.setCurrentIndex(N_FFT_CHOICES.index(n_fft))
        self.b_hop.clear()
        self.b_hop.addItem(f"window / 4 ({max(1, n_fft // 4)})", None)
        for hop in sorted({h for h in (n_fft // 8, n_fft // 2, n_fft) if h >= 1}):
            self.b_hop.addItem(str(hop), hop)
        if compare.hop_length is not None and self.b_hop.findData(compare.hop_length) < 0:
            self.b_hop.addItem(str(compare.hop_length), compare.hop_length)
        self.b_hop.setCurrentIndex(max(0, self.b_hop.findData(compare.hop_length)))
        self.b_scale.setCurrentIndex(0 if compare.scale is None else self.b_scale.findText(compare.scale))
        for w in widgets:
            w.setEnabled(active)
        del blockers

    # -- user intent ----------------------------------------------------------------------------
    def _on_n_fft(self, index: int) -> None:
        self._emit(n_fft=N_FFT_CHOICES[index])

    def _emit_if_changed(self, name: str, value: Any) -> None:
        owner = self.settings if name in ("db_floor", "db_ceiling") else self.settings.params
        if value != getattr(owner, name):
            self._emit(**{name: value})

    def _emit(self, **changes: Any) -> None:
        self.edited.emit(changes)
