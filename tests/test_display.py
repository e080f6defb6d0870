"""Can a window open: the X11 plugin's missing libraries, named before Qt aborts (no Qt here)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from spectroview import _display, cli
from tests import xvfb

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f85)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f85)
\tlibxcb-icccm.so.4 => not found
"""


def test_the_missing_libraries_are_read_from_ldd_and_named_with_their_packages() -> None:
    missing = _display.parse_missing(LDD)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]  # once each, in order
    assert _display.install_command(missing) == "sudo apt-get install libxcb-icccm4 libxcb-keysyms1"
    assert _display.install_command(["libunknown.so.9"]) == "sudo apt-get install libunknown.so.9"


def test_on_this_machine_nothing_is_missing() -> None:
    # make test installs the window's libraries (the Makefile's APT_PACKAGES): ldd finds them all.
    assert _display.missing_window_libraries() == []


@pytest.mark.parametrize(
    ("env", "x11"),
    [
        ({"DISPLAY": ":0"}, True),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, False),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
        ({"QT_QPA_PLATFORM": "xcb"}, True),
        ({}, False),
    ],
)
def test_x11_is_used_only_when_qt_would_use_it(env: dict[str, str], x11: bool) -> None:
    assert _display.uses_x11(env) is x11


def test_the_viewer_names_what_is_missing_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(_display, "missing_window_libraries", lambda: ["libxcb-icccm.so.4"])
    assert cli.main([]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        "spectroview: error: the window cannot open: Qt's X11 plugin needs libxcb-icccm.so.4, not found on this "
        "system; install with: sudo apt-get install libxcb-icccm4"
    )


def test_an_x_display_with_no_server_is_found_before_qt(tmp_path) -> None:
    # Display 999 on a Unix socket nobody listens on; and a name xcb cannot parse.
    assert _display.x11_connect_error(":999") == "the connection failed (no X server answers there)"
    assert _display.x11_connect_error("not a display") is not None


@pytest.mark.skipif(xvfb.missing_reason() is not None, reason=str(xvfb.missing_reason()))
def test_a_running_x_server_connects() -> None:
    with xvfb.xvfb("320x240x24") as (display, _proc):
        assert _display.x11_connect_error(display) is None


def test_the_viewer_says_in_one_line_that_the_display_does_not_answer(tmp_path) -> None:
    # In a child process: Qt aborts the whole process when its X connection fails.
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["DISPLAY"] = ":999"
    proc = subprocess.run(
        [sys.executable, "-m", "spectroview"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        "spectroview: error: cannot open a window on the X display ':999' (DISPLAY): the connection failed "
        "(no X server answers there); 'spectroview FILE --screenshot OUT.png' works without a display"
    ]
