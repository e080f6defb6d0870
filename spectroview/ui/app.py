"""Start the viewer: ``spectroview [FILE] [--screenshot OUT.png --size WxH] [analysis options]``."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from spectroview.session.resolve import apply_changes
from spectroview.session.settings import ViewSettings
from spectroview.ui.export import write_pixmap
from spectroview.ui.main_window import MainWindow, restored_view
from spectroview.ui.settings_store import SettingsStore

__all__ = ["run"]

log = logging.getLogger(__name__)

#: Longest a --screenshot run waits for the view to be computed (s).
SCREENSHOT_TIMEOUT = 300.0


#: Qt's own chatter that says nothing to a user (the offscreen platform's, with --screenshot).
_QUIET_QT = ("does not support propagateSizeHints",)


def _qt_messages(kind: QtMsgType, context: object, message: str) -> None:
    if any(text in message for text in _QUIET_QT):
        return
    if kind in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
        print(message, file=sys.stderr)


class _OneLineLog(logging.Handler):
    """The viewer's warnings on stderr as ``spectroview: warning: ...``, each distinct one once.

    With ``hold`` (``--screenshot``) they are kept and printed by
    :meth:`print_held` when the run ends, leaving out any that the final error
    line already says, so a failure is one line as in the other commands.
    """

    def __init__(self, *, hold: bool) -> None:
        super().__init__(logging.WARNING)
        self.hold = hold
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = " ".join(record.getMessage().split())
        if text in self.seen:
            return
        self.seen.append(text)
        if not self.hold:
            print(f"spectroview: warning: {text}", file=sys.stderr)

    def print_held(self, error: str | None) -> None:
        for text in self.seen:
            if not (error and error in text):
                print(f"spectroview: warning: {text}", file=sys.stderr)
        self.seen.clear()


@contextlib.contextmanager
def _one_line_log(*, hold: bool) -> Iterator[_OneLineLog]:
    logger = logging.getLogger("spectroview")
    handler = _OneLineLog(hold=hold)
    saved = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = saved


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_qt_messages)
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Spectroview")
        app.setOrganizationName("Spectroview")
    return app  # type: ignore[return-value]


def run(
    file: str | None,
    *,
    overrides: dict[str, object] | None = None,
    screenshot: str | None = None,
    size: tuple[int, int] | None = None,
    demo: Path | None = None,
    mic: bool = False,
    device: int | str | None = None,
    seconds: float = 3.0,
    stream: int | None = None,
) -> int:
    """Open the main window; returns the exit status.

    ``overrides`` are :class:`ViewSettings` / parameter fields from the
    command line (applied on top of the saved settings).  With
    ``screenshot``, the window opens (offscreen works), waits until the view
    is fully computed, saves a PNG of the whole window and exits; the user's
    saved settings are neither read nor written then.
    """
    app = _application()
    if not screenshot:
        with _one_line_log(hold=False):
            store = SettingsStore()
            window = _window(store, restored_view(store), overrides, size)
            if mic:
                window.device_spec = device
                window.set_live(True)
                return app.exec()
            target = file if file is not None else (str(demo) if demo else None)
            if target:
                window.open_file(target, stream=stream if file is not None else None)
            return app.exec()
    # A throwaway store: a scripted screenshot must not change the user's settings.  It goes
    # whatever ends the run (an error, Ctrl-C or SIGTERM while the file is still opening).
    scratch = Path(tempfile.mkdtemp(prefix="spectroview-shot-"))

    def early_stop(signum: int, _frame: object) -> None:
        # Before the wait for the picture (while the window is made and the file opens, in
        # nested event loops): nothing is written yet, so leave at once, tidy.
        print("spectroview: interrupted", file=sys.stderr)
        shutil.rmtree(scratch, ignore_errors=True)
        os._exit(128 + signum)

    previous = {sig: signal.signal(sig, early_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    keep_alive = QTimer()  # Python must run now and then for a signal handler to be called
    keep_alive.timeout.connect(lambda: None)
    keep_alive.start(100)

    def shoot(messages: _OneLineLog) -> int:
        def fail(message: str) -> int:
            messages.print_held(message)  # the warnings, but not the error twice
            print(f"spectroview: error: {message}", file=sys.stderr)
            return 2

        store = SettingsStore(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
        window = _window(store, ViewSettings(), overrides, size)
        if mic:
            window.device_spec = device
            window.set_live(True)
            if not window.live.running:
                return fail(window.statusBar().currentMessage())
            return _live_screenshot(app, window, screenshot, seconds, messages)
        target = file if file is not None else (str(demo) if demo else None)
        if target and not window.open_file(target, stream=stream if file is not None else None):
            return fail(window.statusBar().currentMessage())
        return _screenshot(app, window, screenshot, messages)

    try:
        with _one_line_log(hold=True) as messages:
            return shoot(messages)
    finally:
        keep_alive.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(scratch, ignore_errors=True)


def _window(
    store: SettingsStore, base: ViewSettings, overrides: dict[str, object] | None, size: tuple[int, int] | None
) -> MainWindow:
    window = MainWindow(store, settings=_apply_overrides(base, overrides or {}))
    if size is not None:
        window.resize(*size)
    window.show()
    if size is not None and (window.width(), window.height()) != tuple(size):
        log.warning(
            "--size %dx%d: the window cannot be that size here (its minimum is %dx%d, the screen %dx%d); it is %dx%d",
            *size, window.minimumSizeHint().width(), window.minimumSizeHint().height(),
            *(window.screen().availableGeometry().size().toTuple()), window.width(), window.height(),
        )  # fmt: skip
    return window


def _apply_overrides(settings: ViewSettings, overrides: dict[str, object]) -> ViewSettings:
    """The saved ``settings`` with the options given on the command line (the same rules as the controls).

    A value the viewer's rules change (a hop longer than the window is cut to
    it) is said in one warning line, not changed silently.
    """
    result = apply_changes(settings, **overrides)
    asked, used = overrides.get("hop_length"), result.params.hop_length
    if asked is not None and used is not None and asked != used:
        log.warning(
            "--hop %s: longer than the window (%d samples); the viewer uses %d (render takes it as given)",
            asked, result.params.n_fft, used,
        )  # fmt: skip
    return result


def _save_when(
    app: QApplication,
    window: MainWindow,
    path: str,
    ready: Callable[[], str | bool],
    timeout: float,
    messages: _OneLineLog,
) -> int:
    """Poll ``ready`` at 20 Hz; when it is True save the window to ``path``.

    ``ready`` returns True (save now), False (keep waiting) or an error
    message (give up, exit status 2).  Returns the exit status.
    """
    deadline = time.monotonic() + timeout
    state: dict[str, int] = {}

    def stop(signum: int, _frame: object) -> None:
        # Ctrl-C or SIGTERM: no screenshot, one line, 130 / 143 (the 50 ms timer below lets
        # Python see the signal while Qt's loop runs; the default handler's KeyboardInterrupt
        # would only print a traceback from inside a slot).
        if "status" not in state:
            state["status"] = 128 + signum
            print("spectroview: interrupted", file=sys.stderr)
            app.quit()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def check() -> None:
        if "status" in state:
            return
        answer = ready()
        if isinstance(answer, str):
            messages.print_held(answer)
            print(f"spectroview: error: {answer}", file=sys.stderr)
            state["status"] = 2
        elif answer:
            app.processEvents()
            try:
                write_pixmap(window.grab(), path)  # a full disk leaves the old file, a symlink is replaced
                state["status"] = 0
            except OSError as exc:
                messages.print_held(None)
                print(f"spectroview: error: {path}: {exc.strerror or exc}", file=sys.stderr)
                state["status"] = 2
        elif time.monotonic() > deadline:
            messages.print_held(None)
            print(f"spectroview: error: not ready after {timeout:.0f} s", file=sys.stderr)
            state["status"] = 1
        if "status" in state:
            app.quit()

    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(check)
    timer.start()
    try:
        app.exec()
    finally:
        timer.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    window.close()
    if state.get("status") == 0:
        messages.print_held(None)  # what the run met, after the picture is safe
    return state.get("status", 1)


def _live_screenshot(app: QApplication, window: MainWindow, path: str, seconds: float, messages: _OneLineLog) -> int:
    """Capture for ``seconds`` of stream time, then save the window."""

    def ready() -> str | bool:
        mic, engine = window.live.mic, window.live.engine
        if mic is None or engine is None:
            return "live mode stopped"
        if mic.status.state == "error":
            return mic.status.message
        return engine.latest_time() >= seconds

    return _save_when(app, window, path, ready, seconds + 30.0, messages)


def _screenshot(app: QApplication, window: MainWindow, path: str, messages: _OneLineLog) -> int:
    """Wait until the latest view is complete and current, then save the window."""

    def ready() -> str | bool:
        jobs = window.jobs
        if jobs.last_error:
            return jobs.last_error
        latest = jobs.latest
        return bool(
            window.is_idle() and latest is not None and latest.complete and latest.generation == jobs.generation
        )

    return _save_when(app, window, path, ready, SCREENSHOT_TIMEOUT, messages)
