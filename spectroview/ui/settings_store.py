"""Persistent settings of the viewer, stored as meaning rather than widget state.

:class:`SettingsStore` wraps a :class:`QSettings` and keeps:

* the analysis and display choices (:class:`~spectroview.session.settings.ViewSettings`),
  one plain value per field under the ``view`` group;
* the recently opened files;
* opaque window geometry/state blobs (``saveGeometry()`` / ``saveState()``);
* the last directory used in a file dialog.

Reading never raises on a damaged store: anything missing, outdated or corrupt
falls back to its default, field by field where possible.

QSettings writes lazily: changes are kept in memory and written to disk when
the event loop is idle, when the QSettings object is destroyed, or when
:meth:`SettingsStore.sync` is called.  Call :meth:`~SettingsStore.sync` before
another process (or a test) reads the file, and at application exit.

Layout of the store (keys are stable; bump :data:`SCHEMA_VERSION` when the
meaning of a ``view`` key changes)::

    schema = 1
    view/n_fft = 2048, view/fmax = none, ...   (ViewSettings.to_dict())
    recent/files = [absolute paths, most recent first]
    geometry/<name> = @ByteArray(...)
    dialogs/last_directory = /home/user/audio
"""

from __future__ import annotations

import logging
import math
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from spectroview.session.settings import ViewSettings

log = logging.getLogger(__name__)

__all__ = ["MAX_RECENT", "SCHEMA_VERSION", "SettingsStore"]

#: Version of the ``view`` group's meaning.  A store written with another
#: version (or without one) is treated as outdated: its view settings are
#: ignored and the defaults are used.
SCHEMA_VERSION = 1

#: At most this many recent files are kept and returned.
MAX_RECENT = 10

ORGANIZATION = "Spectroview"
APPLICATION = "Spectroview"

_SCHEMA_KEY = "schema"
_VIEW_GROUP = "view"
_RECENT_KEY = "recent/files"
_GEOMETRY_GROUP = "geometry"
_LAST_DIRECTORY_KEY = "dialogs/last_directory"
_MODEL_PRESET_KEY = "analysis/model_preset"
_EXPORT_WIDTH_KEY = "export/image_width"
_EXPORT_DPI_KEY = "export/image_dpi"

#: Bounds of the stored export options (the export dialog's).
EXPORT_WIDTH_RANGE = (16, 16384)  # px
EXPORT_DPI_RANGE = (36, 2400)  # dots per inch

#: How None is written (QSettings' INI backend has no null value).
_NONE_TEXT = "none"

#: ``view`` keys whose default is None but whose value is a float.
#: ``ViewSettings.from_dict`` can only guess the type of text for such keys
#: and takes ``"7999.5"`` for a string, so it is converted here first.
_FLOAT_OR_NONE_KEYS = ("fmax",)


def _user_settings() -> QSettings:
    """The user's store; if its file is not a regular file (a FIFO, a device, a folder), a scratch one.

    Qt reads the file when the QSettings is made: a FIFO there would hang the
    viewer at every start.  The problem is logged in one line; the scratch
    store lasts for this run.
    """
    if sys.platform.startswith("linux"):
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
        path = Path(base) / ORGANIZATION / f"{APPLICATION}.conf"
        try:
            mode = path.stat().st_mode if path.exists() or path.is_symlink() else None
        except OSError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            log.warning("settings: %s is not a regular file; settings are not kept this time", path)
            scratch = Path(tempfile.mkdtemp(prefix="spectroview-settings-")) / "settings.ini"
            return QSettings(str(scratch), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


class SettingsStore:
    """The viewer's settings, read forgivingly and written as plain values.

    Parameters
    ----------
    settings : QSettings or None
        The backing store.  ``None`` uses the user's store,
        ``QSettings("Spectroview", "Spectroview")``; tests pass an INI file
        such as ``QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)``.
    """

    def __init__(self, settings: QSettings | None = None) -> None:
        self._settings = settings if settings is not None else _user_settings()

    @property
    def settings(self) -> QSettings:
        """The wrapped QSettings (e.g. for :meth:`QSettings.status` or ``fileName()``)."""
        return self._settings

    def sync(self) -> None:
        """Write pending changes to disk and re-read changes made by others.

        QSettings writes lazily (when idle or when destroyed); call this at
        exit or before anything else reads the file.
        """
        self._settings.sync()

    # -- schema -------------------------------------------------------------
    def stored_schema(self) -> int | None:
        """The schema version found in the store, or None if missing or not an integer."""
        try:
            raw = self._settings.value(_SCHEMA_KEY)
        except Exception:
            return None
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw.strip())
            except ValueError:
                return None
        return None

    # -- view settings ------------------------------------------------------
    def load_view(self) -> ViewSettings:
        """The stored view settings; defaults for anything missing, corrupt or outdated.

        An outdated store (schema missing, older, newer or unreadable) gives
        the defaults for every field.  Otherwise each field is read on its own
        and a bad one costs only that field.  Never raises.
        """
        if self.stored_schema() != SCHEMA_VERSION:
            return ViewSettings()
        values: dict[str, Any] = {}
        for key in ViewSettings().to_dict():
            try:
                raw = self._settings.value(f"{_VIEW_GROUP}/{key}")
            except Exception:
                continue
            value = _plain(raw)
            if value is _MISSING:
                continue
            if key in _FLOAT_OR_NONE_KEYS:
                value = _float_text(value)
            values[key] = value
        return _view_from_values(values)

    def save_view(self, view: ViewSettings) -> None:
        """Store every field of ``view`` (None as ``"none"``) and mark the schema current."""
        self._settings.remove(_VIEW_GROUP)
        for key, value in view.to_dict().items():
            self._settings.setValue(f"{_VIEW_GROUP}/{key}", _NONE_TEXT if value is None else value)
        self._settings.setValue(_SCHEMA_KEY, SCHEMA_VERSION)

    # -- recent files -------------------------------------------------------
    def recent_files(self) -> list[str]:
        """Recently opened files, most recent first.

        Only files that still exist are returned, as resolved absolute paths,
        without duplicates, at most :data:`MAX_RECENT`.  Readable regardless
        of the stored schema.  Never raises.
        """
        return [path for path in self._stored_recent() if _is_file(path)][:MAX_RECENT]

    def add_recent(self, path: str | os.PathLike[str]) -> None:
        """Put ``path`` first in the recent files.

        The path is stored resolved and absolute; an earlier entry for the
        same file moves to the front instead of repeating.  Entries whose
        files no longer exist are forgotten, and the list is cut to
        :data:`MAX_RECENT`.
        """
        new = _resolved(path)
        if new is None:
            return
        others = [p for p in self._stored_recent() if p != new and _is_file(p)]
        self._settings.setValue(_RECENT_KEY, [new, *others][:MAX_RECENT])

    def clear_recent(self) -> None:
        """Forget all recent files."""
        self._settings.remove(_RECENT_KEY)

    def _stored_recent(self) -> list[str]:
        """Stored entries, resolved and deduplicated, order kept (existence not checked)."""
        try:
            raw = self._settings.value(_RECENT_KEY)
        except Exception:
            return []
        # The INI backend returns a one-element list as a plain string.
        entries = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        out: list[str] = []
        for entry in entries:
            if not isinstance(entry, str) or not entry.strip():
                continue
            resolved = _resolved(entry)
            if resolved is not None and resolved not in out:
                out.append(resolved)
        return out

    # -- window geometry ----------------------------------------------------
    def save_geometry(self, name: str, data: QByteArray) -> None:
        """Store an opaque blob from ``saveGeometry()`` / ``saveState()`` under ``name``."""
        self._settings.setValue(_geometry_key(name), QByteArray(data))

    def load_geometry(self, name: str) -> QByteArray | None:
        """The blob stored under ``name``; None if missing, empty or not a byte array."""
        try:
            raw = self._settings.value(_geometry_key(name))
        except Exception:
            return None
        if not isinstance(raw, QByteArray) or raw.isEmpty():
            return None
        return raw

    # -- file dialogs -------------------------------------------------------
    @property
    def last_directory(self) -> str:
        """Directory to open file dialogs in.

        The stored directory if it still exists, else its nearest existing
        parent, else the home directory.
        """
        home = str(Path.home())
        try:
            raw = self._settings.value(_LAST_DIRECTORY_KEY)
        except Exception:
            return home
        if not isinstance(raw, str) or not raw.strip():
            return home
        try:
            candidate = Path(raw).expanduser()
            if not candidate.is_absolute():
                return home
            if candidate.is_dir():
                return str(candidate)
            # Gone (e.g. an unmounted drive): its nearest existing parent,
            # but not the bare filesystem root.
            for parent in candidate.parents[:-1]:
                if parent.is_dir():
                    return str(parent)
        except (OSError, ValueError, RuntimeError):
            pass
        return home

    @last_directory.setter
    def last_directory(self, directory: str) -> None:
        """Remember ``directory`` (resolved); a file path remembers its directory."""
        resolved = _resolved(directory)
        if resolved is None:
            return
        if _is_file(resolved):
            resolved = str(Path(resolved).parent)
        self._settings.setValue(_LAST_DIRECTORY_KEY, resolved)

    # -- the model view --------------------------------------------------------
    @property
    def model_preset(self) -> str:
        """The front end the model view shows (a name of :data:`spectroview.dsp.names.FRONT_ENDS`; AST unless stored)."""
        from spectroview.dsp.names import FRONT_ENDS

        try:
            raw = self._settings.value(_MODEL_PRESET_KEY)
        except Exception:
            return "ast"
        return raw if isinstance(raw, str) and raw in FRONT_ENDS else "ast"

    @model_preset.setter
    def model_preset(self, name: str) -> None:
        self._settings.setValue(_MODEL_PRESET_KEY, str(name))

    # -- image export -------------------------------------------------------
    @property
    def export_width(self) -> int | None:
        """Width in px of the last image export (None: the view's own width, or a bad stored value)."""
        return self._stored_int(_EXPORT_WIDTH_KEY, EXPORT_WIDTH_RANGE)

    @export_width.setter
    def export_width(self, width: int | None) -> None:
        self._settings.setValue(_EXPORT_WIDTH_KEY, _NONE_TEXT if width is None else int(width))

    @property
    def export_dpi(self) -> int:
        """Resolution written into exported images (dots per inch; 96 unless stored)."""
        dpi = self._stored_int(_EXPORT_DPI_KEY, EXPORT_DPI_RANGE)
        return 96 if dpi is None else dpi

    @export_dpi.setter
    def export_dpi(self, dpi: int) -> None:
        self._settings.setValue(_EXPORT_DPI_KEY, int(dpi))

    def _stored_int(self, key: str, bounds: tuple[int, int]) -> int | None:
        """An integer stored under ``key`` within ``bounds``; None if missing; a bad value is logged and dropped."""
        try:
            raw = self._settings.value(key)
        except Exception:
            return None
        if raw is None or raw == _NONE_TEXT:
            return None
        try:
            value = int(str(raw))
        except ValueError:
            value = None
        if value is None or not bounds[0] <= value <= bounds[1]:
            log.warning("settings: %s=%r: must be an integer in [%d, %d]; not used", key, raw, *bounds)
            return None
        return value


# -- helpers ------------------------------------------------------------------
class _Missing:
    """Marker for a stored value that cannot be used at all."""


_MISSING: Any = _Missing()


def _plain(raw: Any) -> Any:
    """A value QSettings returned, as str/int/float/bool/None, or :data:`_MISSING`.

    Lists (the INI backend splits text at commas), byte arrays and other
    variants are not values of any ViewSettings field.
    """
    if raw is None:
        return _MISSING
    if isinstance(raw, (str, bool, int)):
        return raw
    if isinstance(raw, float):
        return raw if math.isfinite(raw) else _MISSING
    return _MISSING


def _float_text(value: Any) -> Any:
    """``"7999.5"`` -> 7999.5; anything else unchanged (from_dict judges it)."""
    if isinstance(value, str) and value.strip().lower() not in ("", _NONE_TEXT):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _view_from_values(values: dict[str, Any]) -> ViewSettings:
    """``ViewSettings.from_dict`` that cannot raise.

    ``from_dict`` already drops bad fields one by one; if a value still
    breaks it unexpectedly, the offending keys are found and dropped.
    """
    try:
        return ViewSettings.from_dict(values)
    except Exception:
        pass
    usable = {}
    for key, value in values.items():
        try:
            ViewSettings.from_dict({key: value})
        except Exception:
            continue
        usable[key] = value
    try:
        return ViewSettings.from_dict(usable)
    except Exception:
        return ViewSettings()


def _resolved(path: str | os.PathLike[str]) -> str | None:
    """Absolute, symlink-resolved form of ``path``; None if it cannot be one."""
    try:
        text = os.fspath(path)
        if not isinstance(text, str) or not text.strip() or "\0" in text:
            return None
        return str(Path(text).expanduser().resolve())
    except (OSError, ValueError, RuntimeError, TypeError):
        return None


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def _geometry_key(name: str) -> str:
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"name={name!r}: must be a non-empty key without slashes")
    return f"{_GEOMETRY_GROUP}/{name}"
