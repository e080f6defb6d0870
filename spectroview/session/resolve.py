"""The rules between what the user asks for and what is drawn, in one place.

Two pure functions:

- :func:`apply_changes` turns one edit of the user's settings into the new
  settings, applying the coupling rules (the hop lock: ``hop_length =
  n_fft // 4`` while locked; a hop or window length never longer than the
  window).  The controls, the command line and the saved-settings loader
  all go through it.
- :func:`resolve` turns the settings into the parameters used for a source
  (a file or the microphone, known by its sample rate and channel count),
  adjusting what the source cannot hold (f max above Nyquist, too many mel
  bands for the window, a channel the file does not have) and saying why.
  The controls then show the values used, never a refused request.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from spectroview.dsp import ParameterError, SpectrogramParams
from spectroview.dsp.params import largest_n_mels
from spectroview.session.settings import ViewSettings

__all__ = ["Resolved", "apply_changes", "resolve", "window_longer_than_file"]


def locked_hop(n_fft: int) -> int:
    """``hop_length`` under the hop lock: ``max(1, n_fft // 4)`` samples."""
    return max(1, n_fft // 4)


def apply_changes(settings: ViewSettings, **changes: Any) -> ViewSettings:
    """``settings`` with ``changes`` (ViewSettings or SpectrogramParams fields) and the coupling rules.

    Rules, in order:

    - turning the hop lock on sets ``hop_length = n_fft // 4``;
    - while locked, a new ``n_fft`` brings ``hop_length = n_fft // 4``; an
      explicit other ``hop_length`` (the command line's ``--hop 100``) wins
      and unlocks;
    - a hop longer than the (new) window is cut to the window;
    - a ``win_length`` longer than the new window is dropped (``None``: the
      whole window).

    Raises
    ------
    ParameterError
        A value is invalid on its own (``n_fft=3``); the message names it.
    """
    param_fields = {f.name for f in dataclasses.fields(SpectrogramParams)}
    param_changes = {k: v for k, v in changes.items() if k in param_fields}
    other = {k: v for k, v in changes.items() if k not in param_fields}
    unknown = set(other) - {f.name for f in dataclasses.fields(ViewSettings)}
    if unknown:
        raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    locked = bool(other.get("hop_locked", settings.hop_locked))
    old = settings.params
    if "n_fft" in param_changes:
        dataclasses.replace(old, n_fft=param_changes["n_fft"], hop_length=None, win_length=None)  # names a bad n_fft
    n_fft = int(param_changes.get("n_fft", old.n_fft))
    if locked and not settings.hop_locked and "hop_length" not in param_changes:
        param_changes["hop_length"] = locked_hop(n_fft)  # the lock was just turned on
    elif locked and "hop_length" in param_changes:
        if param_changes["hop_length"] != locked_hop(n_fft):
            other["hop_locked"] = False  # an explicit hop (the command line's --hop) wins and unlocks
    elif locked and "n_fft" in param_changes:
        param_changes["hop_length"] = locked_hop(n_fft)
    hop = param_changes.get("hop_length", old.hop_length)
    if isinstance(hop, int) and not isinstance(hop, bool) and hop > n_fft:
        param_changes["hop_length"] = n_fft  # never longer than the window
    win_length = param_changes.get("win_length", old.win_length)
    if win_length is not None and win_length > n_fft:
        param_changes["win_length"] = None
    params = dataclasses.replace(old, **param_changes)
    return dataclasses.replace(settings, params=params, **other)


@dataclass(frozen=True)
class Resolved:
    """The settings used for one source, its parameters, and why they differ from the request.

    Attributes
    ----------
    settings : ViewSettings
        What the controls show: the request with any adjustment applied
        (parameters still a template, ``sr=None``).
    params : SpectrogramParams
        ``settings.params`` at the source's sample rate (``sr`` set).
    note : str
        Empty when nothing was adjusted; otherwise one line per adjustment,
        e.g. ``"fmax=30000: must be <= sr/2 = 8000 Hz; using Nyquist"``.
    """

    settings: ViewSettings
    params: SpectrogramParams
    note: str = ""

    @property
    def channel(self) -> int | None:
        return self.settings.channel


def resolve(settings: ViewSettings, sr: float, n_channels: int = 1, n_samples: int | None = None) -> Resolved:
    """The parameters drawn for a source at ``sr`` Hz with ``n_channels`` channels.

    Adjustments (each named in ``note``): a channel the source lacks becomes
    the mix; ``fmax`` above Nyquist becomes Nyquist; ``fmin`` at or above
    ``fmax`` becomes 0 Hz; more mel bands than the window can fill become the
    largest number that leaves no band empty.  Anything still refused falls
    back to the defaults at this rate.  (On the linear scale f min and f max
    shape nothing; adjusting them there is done without a note.)  A window
    longer than the source (``n_samples``, when known) is kept, and said:
    every frame is then mostly the zero padding around the signal.

    Parameters
    ----------
    settings : ViewSettings
        The request (parameters as a template, ``sr=None``).
    sr : float
        Sample rate of the source in Hz (> 0).
    n_channels : int
        Channels of the source (>= 1).
    n_samples : int, optional
        Length of the source in samples per channel (a file's; None for live input).

    Raises
    ------
    ParameterError
        ``sr`` itself is invalid (not a positive finite number).
    """
    notes: list[str] = []
    if settings.channel is not None and settings.channel >= n_channels:
        notes.append(f"channel {settings.channel + 1}: the source has {n_channels}; showing the mix")
        settings = dataclasses.replace(settings, channel=None)
    params = settings.params
    for _ in range(4):  # each pass fixes one kind of problem
        try:
            used = params.with_sr(sr)
        except ParameterError as exc:
            fixed = _adjust(params, float(sr))
            if fixed is None or fixed == params:
                break
            if params.scale != "linear" or fixed.n_mels != params.n_mels:
                # (f min and f max do not shape a linear picture: adjusting them there is no news)
                notes.append(f"{exc}; {_describe_fix(params, fixed, float(sr))}")
            params = fixed
            continue
        settings = dataclasses.replace(settings, params=params)
        longer = window_longer_than_file(used.n_fft, n_samples, float(sr))
        if longer:
            notes.append(longer)
        return Resolved(settings, used, "\n".join(notes))
    defaults = ViewSettings().params
    notes.append(f"the settings cannot be drawn at {sr:g} Hz; using the defaults")
    settings = dataclasses.replace(settings, params=defaults, hop_locked=True)
    return Resolved(settings, defaults.with_sr(sr), "\n".join(notes))


def window_longer_than_file(n_fft: int, n_samples: int | None, sr: float) -> str:
    """What to say when a window of ``n_fft`` samples is longer than a file of ``n_samples`` ("" when not)."""
    if n_samples is None or not 0 < n_samples < n_fft:
        return ""
    return (
        f"window {n_fft} samples ({n_fft / sr:.3g} s) is longer than the file "
        f"({n_samples} samples, {n_samples / sr:.3g} s): each frame is mostly zero padding"
    )


def _adjust(params: SpectrogramParams, sr: float) -> SpectrogramParams | None:
    """One step towards parameters valid at ``sr``, or None if nothing known helps."""
    nyquist = sr / 2.0
    if params.fmax is not None and params.fmax > nyquist:
        return dataclasses.replace(params, fmax=None)
    fmax = params.fmax_for(sr)
    if params.fmin >= fmax or (params.scale == "log" and params.log_fmin() >= fmax):
        return dataclasses.replace(params, fmin=0.0)
    if params.scale == "mel":
        best = largest_n_mels(
            sr=sr, n_fft=params.n_fft, fmin=float(params.fmin), fmax=fmax, htk=bool(params.htk), start=params.n_mels
        )
        if 0 < best < params.n_mels:
            return dataclasses.replace(params, n_mels=best)
    return None


def _describe_fix(old: SpectrogramParams, new: SpectrogramParams, sr: float) -> str:
    if new.fmax != old.fmax:
        return f"using Nyquist ({sr / 2:g} Hz)"
    if new.fmin != old.fmin:
        return "using 0 Hz"
    return f"using n_mels={new.n_mels}"
