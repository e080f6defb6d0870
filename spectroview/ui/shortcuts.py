"""Every key and pointer gesture of the viewer, from one source: Help > Keyboard Shortcuts and the README.

The keys are read from the window's own actions (any :class:`QAction` with
a shortcut, with the menu it lives in), so the list cannot drift from what
the keys do; the pointer gestures are listed here beside the view boxes that
implement them (:mod:`spectroview.ui.panel`).

``python -m spectroview.ui.shortcuts`` prints the Markdown table the README
carries between its ``<!-- shortcuts -->`` markers (a test compares them).
"""

from __future__ import annotations

import os
import sys
import tempfile

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMainWindow,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

__all__ = ["DIALOG_KEYS", "POINTER", "ShortcutsDialog", "key_rows", "markdown", "rows"]

#: Pointer gestures: (gesture, where, what it does).
POINTER: tuple[tuple[str, str, str], ...] = (
    ("Wheel", "spectrogram", "zoom time about the pointer"),
    ("Ctrl+Wheel", "spectrogram", "zoom frequency about the pointer"),
    ("Shift+Wheel, sideways swipe", "spectrogram or waveform", "scroll time"),
    ("Drag", "spectrogram", "pan time and frequency"),
    ("Shift+Drag", "spectrogram", "select a time range (played by Space)"),
    ("Click", "spectrogram", "set the play cursor (Space plays from there); clears the selection"),
    ("Shift+Click", "spectrogram", "extend the selection to here"),
    ("Right-click", "spectrogram or waveform", "play from here, select, copy the readout, export, fit"),
    ("Drag", "waveform or time axis", "select a time range"),
    ("Wheel", "waveform", "zoom time"),
    ("Drag", "overview strip", "move the visible range"),
    ("Back / Forward buttons", "spectrogram or waveform", "zoom back / forward (as Alt+Left / Alt+Right)"),
)


#: Keys of the tool windows (not the main window's actions): (keys, where, what they do).
DIALOG_KEYS: tuple[tuple[str, str, str], ...] = (
    ("Page Up / Page Down", "As a Model Sees It", "the previous / next model input"),
    ("Enter", "selection box (status bar)", "select the typed range; the keys go back to the view"),
)


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".").rstrip()


def key_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(keys, "Menu > Item", tip) for every action of ``window`` with a shortcut, in menu order."""
    seen: set[int] = set()
    out: list[tuple[str, str, str]] = []

    def add(action: QAction, where: str) -> None:
        if id(action) in seen or action.shortcut().isEmpty():
            return
        seen.add(id(action))
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.PortableText) for s in action.shortcuts())
        name = _plain(action.text())
        tip = action.statusTip() or action.toolTip()
        out.append((keys, where + name, "" if _plain(tip) == name else tip))

    def walk(actions: list[QAction], where: str) -> None:
        for action in actions:
            menu = action.menu()
            if isinstance(menu, QMenu):
                walk(menu.actions(), f"{where}{_plain(menu.title())} > ")
            else:
                add(action, where)

    walk(window.menuBar().actions(), "")
    for action in window.findChildren(QAction):  # the toolbar's, outside the menus
        add(action, "Toolbar > ")
    return out


def rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """Keys, then pointer gestures: (input, what, details)."""
    return key_rows(window) + [(gesture, f"{where}: {what}", "") for gesture, where, what in POINTER + DIALOG_KEYS]


def markdown(window: QMainWindow) -> str:
    """The README's table."""
    lines = ["| Keys / pointer | Action | Details |", "|---|---|---|"]
    for keys, what, tip in rows(window):
        cell = keys.replace("|", "\\|")
        lines.append(f"| `{cell}` | {what} | {tip} |")
    return "\n".join(lines) + "\n"


class ShortcutsDialog(QDialog):
    """Help > Keyboard Shortcuts (also ``?``): every key and pointer gesture, in a table."""

    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setWindowTitle("Keyboard shortcuts and pointer gestures")
        self.setObjectName("shortcuts-dialog")
        layout = QVBoxLayout(self)
        entries = rows(window)
        self.table = QTableWidget(len(entries), 3)
        self.table.setHorizontalHeaderLabels(["Keys / pointer", "Action", "Details"])
        for r, cells in enumerate(entries):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(r, c, item)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)  # the details get what is left
        self.table.setWordWrap(True)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(1000, 600)


#: The README's table sits between these lines.
README_MARKERS = ("<!-- shortcuts -->\n", "<!-- /shortcuts -->")


def main() -> int:
    """Print the README's table, or with ``--readme PATH`` put it in that file between :data:`README_MARKERS`.

    A window is made offscreen, never shown.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from spectroview.ui.main_window import MainWindow
    from spectroview.ui.settings_store import SettingsStore

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="spectroview-shortcuts-") as scratch:  # the user's settings untouched
        store = SettingsStore(QSettings(os.path.join(scratch, "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(store)
        table = markdown(window)
        window.close()
    if sys.argv[1:2] == ["--readme"] and len(sys.argv) == 3:
        from spectroview._atomic import atomic_write

        readme = sys.argv[2]
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        start, end = README_MARKERS
        head, found, rest = text.partition(start)
        _, found_end, tail = rest.partition(end)
        if not (found and found_end):
            sys.stderr.write(f"spectroview: error: {readme}: no {start.strip()} ... {end} section\n")
            return 2

        def write(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(head + start + table + end + tail)

        atomic_write(readme, write)
    else:
        sys.stdout.write(table)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
