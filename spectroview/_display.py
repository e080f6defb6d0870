"""Can a window open here?  What Qt's X11 platform plugin needs that the system lacks.

Qt aborts with several lines (and advice about ``libxcb-cursor0`` whatever is
missing) when its ``xcb`` plugin cannot load.  :func:`missing_window_libraries`
asks the dynamic linker (``ldd``) for the plugin's real dependencies before
Qt starts, so the viewer can name exactly what is missing and the one
command that installs it.  No Qt is imported here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

__all__ = [
    "has_display",
    "install_command",
    "missing_window_libraries",
    "parse_missing",
    "uses_x11",
    "x11_connect_error",
]

#: Debian/Ubuntu package of each library Qt 6's xcb plugin loads (from ``ldd libqxcb.so``).
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


def has_display(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """True when Qt has somewhere to draw: an X11 or Wayland display, or a platform chosen (offscreen)."""
    return any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def uses_x11(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """True when Qt would open its window through X11 (``DISPLAY`` set, no other platform chosen)."""
    platform = environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if platform:
        return platform == "xcb"
    return bool(environ.get("DISPLAY")) and not environ.get("WAYLAND_DISPLAY")


def parse_missing(ldd_output: str) -> list[str]:
    """The ``NAME => not found`` libraries of ``ldd`` output, in order, without repeats."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def missing_window_libraries() -> list[str]:
    """Libraries Qt's xcb plugin needs that the dynamic linker cannot find; [] when all are there (or it cannot tell)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None or shutil.which("ldd") is None:
        return []
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        return []
    try:
        proc = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_missing(proc.stdout)


def install_command(libraries: list[str]) -> str:
    """The apt-get line that installs ``libraries`` (Debian/Ubuntu package names where known)."""
    packages = sorted({PACKAGES.get(name, name) for name in libraries})
    return "sudo apt-get install " + " ".join(packages)


#: ``xcb_connection_has_error`` codes (xcb.h), in words.
_XCB_ERRORS = {
    1: "the connection failed (no X server answers there)",
    2: "an X extension is missing",
    3: "out of memory",
    4: "a request was too long",
    5: "the display name is not valid",
    6: "the screen does not exist on that display",
    7: "the file descriptor was refused",
}


def x11_connect_error(display: str | None = None) -> str | None:
    """Why an X connection to ``display`` (default: ``$DISPLAY``) fails, or None if it opens.

    Connects and disconnects with libxcb (the library Qt's X11 plugin
    uses, with the same authorization), so a ``DISPLAY`` left over from an
    ended session or a server that refuses us is found before Qt, which
    aborts the process there.  None as well when libxcb cannot be loaded
    (:func:`missing_window_libraries` tells that story).
    """
    import ctypes
    import ctypes.util

    name = display if display is not None else os.environ.get("DISPLAY", "")
    try:
        xcb = ctypes.CDLL(ctypes.util.find_library("xcb") or "libxcb.so.1")
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(name.encode(), None)
    try:
        code = int(xcb.xcb_connection_has_error(conn)) if conn else 1
    finally:
        if conn:
            xcb.xcb_disconnect(conn)  # also frees the error object xcb returns on failure
    return None if code == 0 else _XCB_ERRORS.get(code, f"X connection error {code}")
