"""A private X server (Xvfb) for tests and benchmarks that need a real window."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


def missing_reason() -> str | None:
    """Why no X server can be started here (None: Xvfb is installed)."""
    return None if shutil.which("Xvfb") else "Xvfb not installed (make test installs xvfb as root)"


@contextmanager
def xvfb(screen: str = "1280x800x24") -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start Xvfb on a free display; yields ``(":N", process)`` and stops it on exit.

    Raises
    ------
    RuntimeError
        Xvfb did not report its display within 20 s.
    """
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 20)
        if not ready:
            raise RuntimeError("Xvfb did not report a display within 20 s")
        number = os.read(read_fd, 32).decode().strip()
        if not number.isdigit():
            raise RuntimeError(f"Xvfb said {number!r}, not a display number")
        yield f":{number}", proc
    finally:
        os.close(read_fd)
        proc.terminate()
        proc.wait(10)
