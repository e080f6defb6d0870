"""Fixtures of the viewer tests: a settings store in a temporary file and a shown main window."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings

from spectroview.session.overview_cache import OverviewCache
from spectroview.session.settings import ViewSettings
from spectroview.ui.main_window import MainWindow
from spectroview.ui.settings_store import SettingsStore


@pytest.fixture
def store(tmp_path: Path) -> SettingsStore:
    return SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def overview_cache(tmp_path: Path) -> OverviewCache:
    """The test's own overview cache folder (empty at the start)."""
    return OverviewCache(tmp_path / "overview-cache")


@pytest.fixture
def make_window(qtbot, store: SettingsStore, overview_cache: OverviewCache) -> Callable[..., MainWindow]:
    """A shown main window of ``size`` (px) on the test's settings store and overview cache,
    with ``settings`` (default: the defaults)."""

    def make(size: tuple[int, int] = (1000, 700), settings: ViewSettings | None = None) -> MainWindow:
        win = MainWindow(store, settings=settings or ViewSettings(), cache=overview_cache)
        qtbot.addWidget(win)
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        return win

    return make


@pytest.fixture
def window(make_window: Callable[..., MainWindow]) -> MainWindow:
    return make_window()
