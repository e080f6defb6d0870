"""What the user chose, as meaning (``n_fft=2048``), never as widget state.

:class:`ViewSettings` is what the viewer persists between runs.  Loading is
forgiving: a missing, outdated or corrupt value falls back to its default,
field by field, so a damaged settings store never stops the app.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from spectroview.dsp import ParameterError, SpectrogramParams
from spectroview.render.colormaps import COLORMAPS

__all__ = ["DB_CEILING_DEFAULT", "DB_FLOOR_DEFAULT", "DB_MAX", "DB_MIN", "ViewSettings"]

log = logging.getLogger(__name__)

DB_FLOOR_DEFAULT = -90.0
DB_CEILING_DEFAULT = 0.0
#: Levels a floor or ceiling may take (dBFS); the controls offer the same range.
DB_MIN = -300.0
DB_MAX = 50.0

#: The SpectrogramParams fields the viewer exposes and persists.
PARAM_FIELDS = (
    "n_fft",
    "hop_length",
    "win_length",
    "window",
    "scale",
    "n_mels",
    "fmin",
    "fmax",
    "htk",
    "bins_per_octave",
)


@dataclass(frozen=True)
class ViewSettings:
    """Analysis and display choices of the viewer.

    Attributes
    ----------
    params : SpectrogramParams
        A template (``sr=None``): it applies to whatever file is open.
    colormap : str
        One of :data:`spectroview.render.colormaps.COLORMAPS`.
    db_floor, db_ceiling : float
        Levels in dBFS (0 dBFS: a full-scale sine) shown as the bottom and
        top colours; ``db_floor < db_ceiling``.
    channel : int or None
        0-based channel, or None for the mixdown.
    hop_locked : bool
        Keep ``hop_length = n_fft // 4`` when the window size changes.
    reassigned : bool
        Show the reassigned spectrogram when zoomed in (sharper lines).
    """

    params: SpectrogramParams = field(default_factory=lambda: SpectrogramParams(hop_length=512))
    colormap: str = "magma"
    db_floor: float = DB_FLOOR_DEFAULT
    db_ceiling: float = DB_CEILING_DEFAULT
    channel: int | None = None
    hop_locked: bool = True
    reassigned: bool = False

    def __post_init__(self) -> None:
        if self.colormap not in COLORMAPS:
            raise ParameterError(f"colormap={self.colormap!r}: unknown; choose one of {', '.join(COLORMAPS)}")
        for name in ("db_floor", "db_ceiling"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or not DB_MIN <= value <= DB_MAX
            ):
                raise ParameterError(f"{name}={value!r}: must be a level in dBFS in [{DB_MIN:g}, {DB_MAX:g}]")
        if not self.db_floor < self.db_ceiling:
            raise ParameterError(f"db_floor={self.db_floor!r}: must be below db_ceiling={self.db_ceiling!r}")
        if self.channel is not None and (not isinstance(self.channel, int) or self.channel < 0):
            raise ParameterError(f"channel={self.channel!r}: must be an integer >= 0 or None")

    def to_dict(self) -> dict[str, Any]:
        """Plain values (str, int, float, bool, None) for a settings store."""
        out: dict[str, Any] = {name: getattr(self.params, name) for name in PARAM_FIELDS}
        out.update(
            colormap=self.colormap,
            db_floor=self.db_floor,
            db_ceiling=self.db_ceiling,
            channel=self.channel,
            hop_locked=self.hop_locked,
            reassigned=self.reassigned,
        )
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ViewSettings:
        """Rebuild from :meth:`to_dict` output; bad or missing values take their defaults.

        Each value is tried on its own, so one corrupt entry costs only that
        entry (the two levels are tried as a pair, since each bounds the
        other).  Text is accepted for numbers and booleans (QSettings' INI
        backend stores everything as text).
        """
        settings = cls()
        params = settings.params
        rejected: list[str] = []
        for name in PARAM_FIELDS:
            if name not in values:
                continue
            try:
                params = dataclasses.replace(params, **{name: _coerce(values[name], _FIELD_TYPES[name])})
            except (ParameterError, TypeError, ValueError, OverflowError):
                rejected.append(f"{name}={values[name]!r}")
                continue
        settings = dataclasses.replace(settings, params=params)
        groups: tuple[tuple[str, ...], ...] = (
            ("db_floor", "db_ceiling"),
            ("colormap",),
            ("channel",),
            ("hop_locked",),
            ("reassigned",),
        )
        for group in groups:
            present = [name for name in group if name in values]
            if not present:
                continue
            try:
                changes = {name: _coerce(values[name], _FIELD_TYPES[name]) for name in present}
                settings = dataclasses.replace(settings, **changes)
            except (ParameterError, TypeError, ValueError, OverflowError):
                # A pair that fails together may still have one good member.
                for name in present:
                    try:
                        settings = dataclasses.replace(settings, **{name: _coerce(values[name], _FIELD_TYPES[name])})
                    except (ParameterError, TypeError, ValueError, OverflowError):
                        rejected.append(f"{name}={values[name]!r}")
                        continue
        if rejected:
            log.warning("settings: out of bounds, using the defaults for %s", ", ".join(rejected))
        return settings


#: Target type of each persisted field; "int?" / "float?" allow None.
_FIELD_TYPES: dict[str, str] = {
    "n_fft": "int",
    "hop_length": "int?",
    "win_length": "int?",
    "window": "str",
    "scale": "str",
    "n_mels": "int",
    "fmin": "float",
    "fmax": "float?",
    "htk": "bool",
    "bins_per_octave": "int",
    "colormap": "str",
    "db_floor": "float",
    "db_ceiling": "float",
    "channel": "int?",
    "hop_locked": "bool",
    "reassigned": "bool",
}


def _coerce(value: Any, kind: str) -> Any:
    """Text or loosely typed ``value`` -> ``kind`` ("int", "float?", "bool", ...)."""
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "@invalid()")):
        if optional:
            return None
        raise ValueError("missing value")
    if kind == "bool":
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("true", "1", "yes"):
                return True
            if text in ("false", "0", "no"):
                return False
            raise ValueError(f"not a boolean: {value!r}")
        return bool(value)
    if kind == "int":
        number = float(value) if isinstance(value, str) else value
        if isinstance(number, bool) or float(number) != int(number):
            raise ValueError(f"not an integer: {value!r}")
        return int(number)
    if kind == "float":
        if isinstance(value, bool):
            raise ValueError(f"not a number: {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"not text: {value!r}")
    return value
