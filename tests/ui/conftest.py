"""Fixtures of the viewer tests: a settings store in a temporary file and a shown main window."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings

from spectroview.session.settings import ViewSettings
from spectroview.ui.main_window import MainWindow
from spectroview.ui.settings_store import SettingsStore


@pytest.fixture
def store(tmp_path: Path) -> SettingsStore:
    return SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot, store: SettingsStore) -> MainWindow:
    win = MainWindow(store, settings=ViewSettings())
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    return win
