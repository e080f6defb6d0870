"""Smoke test in a real X server (Xvfb) with Qt's xcb platform, not offscreen."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def xvfb_display():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb not installed (make test installs xvfb as root)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 20)
        if not ready:
            raise AssertionError("Xvfb did not report a display within 20 s")
        number = os.read(read_fd, 32).decode().strip()
        assert number.isdigit(), f"Xvfb said {number!r}"
        yield f":{number}"
    finally:
        os.close(read_fd)
        proc.terminate()
        proc.wait(10)


def test_the_app_opens_a_real_window_and_draws_the_demo(xvfb_display: str, tmp_path: Path) -> None:
    out = tmp_path / "window.png"
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb")
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "spectroview", "--screenshot", str(out), "--size", "1000x700"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0 and 'could not load the Qt platform plugin "xcb"' in proc.stderr:
        pytest.skip("Qt's xcb libraries are missing (make test installs libxcb-cursor0 and friends as root)")
    assert proc.returncode == 0, proc.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1000, 700)
    # A drawn window: many distinct colours (the spectrogram), not a blank surface.
    colours = {image.pixel(x, y) for x in range(0, 1000, 7) for y in range(0, 700, 7)}
    assert len(colours) > 50
