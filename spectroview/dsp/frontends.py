"""Model front ends: the matrix a network reads, by name, frozen and checked against its reference.

A :class:`FrontEnd` is one complete recipe from samples to the matrix a
model is trained on: the rate it reads, the STFT, the mel filters, what is
done to their values.  Small differences (HTK vs Slaney mel, reflect vs zero
padding, log10 vs ln, a normalization constant) silently change what a model
sees, so every preset is the exact call of its reference and
``tests/dsp/test_frontends.py`` checks each against an independent
implementation (agreement bar: 1e-4 of the reference's range).

=============  =======  ===================================================  =====================================
preset         rate     recipe                                               reference
=============  =======  ===================================================  =====================================
``librosa``    file's   ``power_to_db(melspectrogram(y, sr, n_fft=2048,      librosa (``logmel`` is an alias)
                        hop_length=512, n_mels=128), ref=1, amin=1e-10,
                        top_db=None)``
``torchaudio`` 16 kHz   ``MelSpectrogram()`` defaults: n_fft 400, hop 200,  ``torchaudio.transforms.MelSpectrogram``;
                        periodic Hann, reflect padding, power 2, 128 HTK     librosa with ``htk=True, norm=None,
                        mels 0 Hz-sr/2 without normalization, no log         pad_mode="reflect"``
``panns``      32 kHz   n_fft 1024, hop 320, 64 Slaney mels 50-14000 Hz,    PANNs (Kong et al. 2020,
                        ``power_to_db(ref=1, amin=1e-10, top_db=None)``      ``pytorch/models.py``); librosa
``whisper``    16 kHz   n_fft 400, hop 160, 80 Slaney mels 0-8000 Hz,        OpenAI ``whisper/audio.py``;
                        log10, clamp at max - 8, ``(x + 4) / 4``,            ``transformers.WhisperFeatureExtractor``
                        30 s (3000 frames) per input
``whisper-128`` 16 kHz  the same with 128 mels (large-v3)                    the same
``ast``        16 kHz   Kaldi fbank (:mod:`spectroview.dsp.ast`), 128 x      Gong et al. 2021; ``transformers``'
                        1024, AudioSet normalization                         Kaldi path (``audio_utils``)
=============  =======  ===================================================  =====================================

``librosa`` and ``torchaudio`` take the generic options (``sr``, ``n_fft``,
``hop_length``, ``win_length``, ``window``, ``center``, ``pad_mode``,
``power``, ``n_mels``, ``fmin``, ``fmax``, ``htk``, ``norm``, ``log``,
``amin``, ``top_db``); the other presets are fixed, as their models were
trained.  Faithful to the references, a mel filter with no FFT bin in it
(torchaudio's defaults have one: 128 HTK bands over 201 bins) is kept as an
all-zero row, where the viewer's own mel scale refuses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from spectroview.dsp.names import FRONT_END_ALIASES, FRONT_ENDS, LOGS, PAD_MODES, ParameterError
from spectroview.dsp.params import SpectrogramParams, mel_filter_is_empty, mono_signal

__all__ = [
    "FRONT_ENDS",
    "LOGS",
    "FrontEnd",
    "FrontEndStream",
    "front_end",
]

Kind = Literal["mel", "whisper", "ast"]

#: The fields a generic preset lets the user choose (librosa's names).
GENERIC_FIELDS = (
    "sr",
    "n_fft",
    "hop_length",
    "win_length",
    "window",
    "center",
    "pad_mode",
    "power",
    "n_mels",
    "fmin",
    "fmax",
    "htk",
    "norm",
    "log",
    "amin",
    "top_db",
)
#: Presets whose generic fields may be changed.
_OPEN = ("librosa", "torchaudio")


@dataclass(frozen=True)
class FrontEnd:
    """One model front end: every parameter from samples to the model's matrix.

    Build one with :func:`front_end`; change one with
    :func:`dataclasses.replace` (validated again; the fixed presets refuse
    any change).

    Parameters
    ----------
    name : str
        The preset (:data:`FRONT_ENDS`).
    kind : {"mel", "whisper", "ast"}
        "mel": a mel spectrogram of the whole signal, computed as a stream;
        "whisper"/"ast": one model input of ``target_length`` frames.
    sr : int or None
        Rate in Hz the front end reads; None (librosa only): the source's own.
    n_fft, hop_length, win_length : int
        Samples, at ``sr``.
    window : str
        Periodic window name (:data:`spectroview.dsp.WINDOWS`); AST's is
        Kaldi's symmetric Hann, recorded as ``"hann"``.
    center : bool
        Frames centred on ``t * hop_length`` (padding ``n_fft // 2`` with ``pad_mode``).
    pad_mode : str
        :data:`spectroview.dsp.PAD_MODES`.
    power : float
        1 (magnitude) or 2 (power) before the mel filters.
    n_mels : int
        Mel bands (rows).
    fmin, fmax : float
        Mel range in Hz; ``fmax`` None: ``sr / 2``.
    htk : bool
        HTK mel formula (``2595 log10(1 + f / 700)``), else Slaney's.
    norm : {"slaney", None}
        Slaney area normalization of the filters, or peaks of 1.
    log : {"db", "ln", "log10", "none"}
        "db": ``10 log10(max(amin, S))`` for power 2 (``librosa.power_to_db``,
        ref 1), ``20 log10(max(amin, S))`` for power 1
        (``librosa.amplitude_to_db``); "ln"/"log10": ``log(max(amin, S))``;
        "none": the mel values.  Whisper and AST have their own (see their modules).
    amin : float or None
        The floor before the log; None: librosa's, 1e-10 (power 2) or 1e-5 (power 1).
    top_db : float or None
        With "db": values below ``max - top_db`` over the whole matrix are raised to it.
    target_length : int or None
        Frames of one model input (Whisper 3000, AST 1024); None: the whole signal.
    """

    name: str = "librosa"
    kind: Kind = "mel"
    sr: int | None = None
    n_fft: int = 2048
    hop_length: int = 512
    win_length: int = 2048
    window: str = "hann"
    center: bool = True
    pad_mode: str = "constant"
    power: float = 2.0
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    htk: bool = False
    norm: Literal["slaney"] | None = "slaney"
    log: str = "db"
    amin: float | None = None
    top_db: float | None = None
    target_length: int | None = None

    def __post_init__(self) -> None:
        name = FRONT_END_ALIASES.get(self.name, self.name)
        if name not in FRONT_ENDS:
            raise ParameterError(f"preset={self.name!r}: unknown; choose one of {', '.join(FRONT_ENDS)}")
        object.__setattr__(self, "name", name)
        if name not in _OPEN:
            fixed = _PRESET_FIELDS[name]
            for field in dataclasses.fields(self):
                value = getattr(self, field.name)
                if field.name != "name" and value != fixed.get(field.name, field.default):
                    raise ParameterError(
                        f"{field.name}={value!r}: fixed by the {name} preset (its model was trained with "
                        f"{field.name}={fixed.get(field.name, field.default)!r}); the librosa and torchaudio "
                        "presets let you choose it"
                    )
            return
        if self.kind != "mel" or self.target_length is not None:
            raise ParameterError(f"kind={self.kind!r}: the {name} preset is a mel spectrogram of the whole signal")
        if self.sr is not None and (
            not isinstance(self.sr, (int, np.integer)) or isinstance(self.sr, bool) or self.sr <= 0
        ):
            raise ParameterError(f"sr={self.sr!r}: must be a whole sample rate in Hz > 0 (or None for the file's)")
        if self.pad_mode not in PAD_MODES:
            raise ParameterError(f"pad_mode={self.pad_mode!r}: must be one of {', '.join(PAD_MODES)}")
        params = self._params(scale="linear")  # validates the STFT fields and the range
        object.__setattr__(self, "window", params.window)
        if self.power not in (1, 2) or isinstance(self.power, bool):
            raise ParameterError(f"power={self.power!r}: must be 1 (magnitude) or 2 (power)")
        object.__setattr__(self, "power", float(self.power))
        if self.log not in LOGS:
            raise ParameterError(f"log={self.log!r}: must be one of {', '.join(LOGS)}")
        if self.amin is not None and (not np.isfinite(self.amin) or self.amin <= 0):
            raise ParameterError(f"amin={self.amin!r}: must be a number > 0 (or None for librosa's)")
        if self.top_db is not None:
            if self.log != "db":
                raise ParameterError(f"top_db={self.top_db!r}: goes with log='db' (log={self.log!r})")
            if not np.isfinite(self.top_db) or self.top_db < 0:
                raise ParameterError(f"top_db={self.top_db!r}: must be a number of dB >= 0 (or None)")

    # -- resolved values -------------------------------------------------
    def _params(self, *, scale: Literal["linear", "mel"]) -> SpectrogramParams:
        return SpectrogramParams(
            sr=self.sr,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=self.center,
            pad_mode=self.pad_mode,
            power=self.power,
            scale=scale,
            n_mels=self.n_mels,
            fmin=self.fmin,
            fmax=self.fmax,
            htk=self.htk,
            norm=self.norm,
        )

    def bind(self, sr: float) -> FrontEnd:
        """This front end at the source's rate ``sr`` when it has none (librosa's), else itself."""
        if self.sr is not None:
            return self
        if not float(sr).is_integer():
            raise ParameterError(f"sr={sr!r}: must be a whole sample rate in Hz")
        return dataclasses.replace(self, sr=int(sr))

    def require_sr(self) -> int:
        """The rate in Hz, or :class:`ParameterError` for a front end not yet bound (:meth:`bind`)."""
        if self.sr is None:
            raise ParameterError("sr=None: the librosa preset reads the source's rate; bind(sr) first")
        return int(self.sr)

    @property
    def fmax_hz(self) -> float:
        """Upper edge of the mel bank in Hz (``fmax`` or ``sr / 2``)."""
        return self.require_sr() / 2.0 if self.fmax is None else float(self.fmax)

    @property
    def amin_value(self) -> float:
        """The floor before the log: ``amin``, or librosa's default for the power."""
        if self.amin is not None:
            return float(self.amin)
        return 1e-10 if self.power == 2.0 else 1e-5

    @property
    def streaming(self) -> bool:
        """True when the matrix covers the whole signal and is computed block by block (mel kind)."""
        return self.kind == "mel"

    @property
    def n_rows(self) -> int:
        return int(self.n_mels)

    @property
    def window_samples(self) -> int | None:
        """Samples at ``sr`` one model input reads (Whisper 480 000, AST 164 080); None for the mel kind."""
        if self.kind == "whisper":
            from spectroview.dsp.whisper import WHISPER_N_SAMPLES

            return WHISPER_N_SAMPLES
        if self.kind == "ast":
            from spectroview.dsp.ast import AST_FRAME_LENGTH, AST_FRAME_SHIFT

            return (int(self.target_length or 0) - 1) * AST_FRAME_SHIFT + AST_FRAME_LENGTH
        return None

    @property
    def window_step_samples(self) -> int | None:
        """Samples between consecutive model inputs over a long signal, so that no frame is in two.

        Whisper: 30 s (its transcription loop's chunks); AST: 1024 frames of
        10 ms.  None for the mel kind.
        """
        if self.kind == "whisper":
            return self.window_samples
        if self.kind == "ast":
            return int(self.target_length or 0) * self.hop_length
        return None

    def empty_bands(self) -> np.ndarray:
        """Indices of mel bands that contain no FFT bin (all-zero rows, kept as the reference has them)."""
        if self.kind == "ast":
            from spectroview.dsp.ast import _mel_bank

            return np.flatnonzero(~(_mel_bank() > 0).any(axis=1))
        sr = self.require_sr()
        empty = mel_filter_is_empty(
            sr=sr, n_fft=self.n_fft, n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax_hz, htk=self.htk
        )
        return np.flatnonzero(empty)

    # -- geometry ----------------------------------------------------------
    def n_frames(self, n_samples: int) -> int:
        """Columns of :meth:`compute` for ``n_samples`` at ``sr`` (a model input's are fixed)."""
        if self.target_length is not None:
            return int(self.target_length)
        n, hop = int(n_samples), self.hop_length
        if n <= 0:
            return 0
        # Centred: n_fft // 2 of padding each side (1 + n // hop frames for an even n_fft).
        total = n + 2 * (self.n_fft // 2) if self.center else n
        return 1 + (total - self.n_fft) // hop if total >= self.n_fft else 0

    def audio_frames(self, n_samples: int) -> int:
        """Frames with audio in them for ``n_samples`` at ``sr``, before a model input's padding or cut."""
        n = int(n_samples)
        if self.kind == "ast":
            from spectroview.dsp.ast import ast_n_frames

            return ast_n_frames(n)
        if self.kind == "whisper":
            # Centred frames: frame t reads samples from t * hop - n_fft / 2; the
            # first to start past the audio reads only padding.
            return -(-(n + self.n_fft // 2) // self.hop_length) if n > 0 else 0
        return self.n_frames(n)

    def valid_frames(self, n_samples: int) -> int:
        """Columns of :meth:`compute` computed from ``n_samples`` of audio (the rest is a model input's padding)."""
        frames = self.audio_frames(n_samples)
        return frames if self.target_length is None else min(frames, int(self.target_length))

    def frame_times(self, n_frames: int) -> np.ndarray:
        """Centre of each of the first ``n_frames`` columns in s from the input's start.  (n_frames,) float64."""
        sr = self.require_sr()
        if self.kind == "ast":
            # Kaldi's snip_edges: frame t covers [t hop, t hop + win_length).
            return (np.arange(int(n_frames)) * self.hop_length + self.win_length / 2) / sr
        from spectroview.dsp.stft import frame_times

        return frame_times(int(n_frames), self._params(scale="linear"))

    def row_frequencies(self) -> tuple[np.ndarray, np.ndarray]:
        """Centre and edge frequencies of the rows in Hz: (n_mels,), (n_mels + 1,) float64.

        A band's centre is its filter's peak; its edges lie half-way to its
        neighbours' peaks on its own mel scale (Kaldi's for AST).
        """
        if self.kind == "ast":
            from spectroview.dsp.ast import ast_row_frequencies

            return ast_row_frequencies()
        from spectroview.dsp.mel import hz_to_mel, mel_frequencies, mel_to_hz

        mel_f = mel_frequencies(self.n_mels + 2, fmin=self.fmin, fmax=self.fmax_hz, htk=self.htk)
        m = hz_to_mel(mel_f, htk=self.htk)
        return mel_f[1:-1], mel_to_hz((m[:-1] + m[1:]) / 2, htk=self.htk)

    # -- computing ---------------------------------------------------------
    def compute(self, y: np.ndarray) -> np.ndarray:
        """The front end's matrix of ``y``.

        Parameters
        ----------
        y : (n,) float array
            Mono signal at :attr:`sr`, full scale +-1 (resample other rates
            first: :func:`spectroview.audio.resample.resample`, soxr HQ).

        Returns
        -------
        (n_mels, n_frames) float32, C order
            Mel kind: ``n_frames(len(y))`` columns, the whole signal, with
            ``log`` and ``top_db`` applied.  Whisper: (n_mels, 3000) for
            the first 30 s (padded with zeros when shorter).  AST: (128, 1024)
            from the start (:func:`spectroview.dsp.ast.ast_features`).

        Raises
        ------
        ParameterError
            ``y`` not 1-D floating point, empty, or shorter than one frame
            where the recipe has no padding (AST, ``center=False``).
        """
        if self.kind == "whisper":
            from spectroview.dsp.whisper import whisper_log_mel

            return whisper_log_mel(y, n_mels=self.n_mels)
        if self.kind == "ast":
            from spectroview.dsp.ast import ast_features

            return ast_features(y, sr=self.require_sr(), target_length=int(self.target_length or 0))
        from spectroview.dsp.stft import spectrogram

        x = mono_signal(y)
        stream = FrontEndStream(self)
        power = spectrogram(x, stream.params, precise=True)
        return self.finish(stream.values(power))

    def values(self, mel: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``log`` applied to mel values (no ``top_db``: that needs the whole matrix).  float32."""
        floor = np.float32(self.amin_value)
        mel = np.asarray(mel, dtype=np.float32)
        if self.log == "none":
            if out is None:
                return np.array(mel, dtype=np.float32, order="C")
            out[...] = mel
            return out
        out = np.maximum(mel, floor, out=out)
        if self.log == "ln":
            return np.log(out, out=out)
        np.log10(out, out=out)
        if self.log == "db":
            out *= np.float32(10.0 if self.power == 2.0 else 20.0)
        return out

    def finish(self, matrix: np.ndarray) -> np.ndarray:
        """``top_db`` over the whole matrix (in place when it is float32), as C-order float32."""
        m = np.ascontiguousarray(matrix, dtype=np.float32)
        if self.top_db is not None and m.size:
            np.maximum(m, m.max() - np.float32(self.top_db), out=m)
        return m

    # -- description ---------------------------------------------------------
    @property
    def description(self) -> str:
        """One line: what the matrix is, in the reference's terms."""
        if self.kind == "whisper":
            return (
                f"Whisper: 16 kHz, 400-point STFT every 10 ms, {self.n_mels} Slaney mels 0-8000 Hz, log10, "
                "clamped at max - 8, (x + 4) / 4; 3000 frames = 30 s"
            )
        if self.kind == "ast":
            return (
                "AST: 16 kHz Kaldi fbank, 25 ms frames every 10 ms, 128 mels 20-8000 Hz, ln, "
                "(x + 4.27) / 9.14; 1024 frames = 10.24 s; 16x16 patches, stride 10"
            )
        mel = "HTK" if self.htk else "Slaney"
        norm = "area-normalized" if self.norm == "slaney" else "peak 1"
        rate = "the file's rate" if self.sr is None else f"{self.sr / 1000:g} kHz"
        log = {
            "db": f"{10 if self.power == 2.0 else 20} log10 (dB)"
            + ("" if self.top_db is None else f", top_db {self.top_db:g}"),
            "ln": "ln",
            "log10": "log10",
            "none": "no log",
        }[self.log]
        fmax = "sr/2" if self.fmax is None else f"{self.fmax:g} Hz"
        return (
            f"{self.name}: {rate}, {self.n_fft}-point STFT (window {self.win_length}, hop {self.hop_length}, "
            f"{'centred, ' + self.pad_mode + ' padding' if self.center else 'not centred'}), "
            f"{'power' if self.power == 2.0 else 'magnitude'}, {self.n_mels} {mel} mels {self.fmin:g} Hz-{fmax} "
            f"({norm}), {log}"
        )

    @property
    def reference(self) -> str:
        """The implementation this preset reproduces, and what the test suite checks it against."""
        return _REFERENCES[self.name]

    def recipe(self) -> dict[str, Any]:
        """JSON-ready: the preset, its reference, every parameter as used, what the values are."""
        empty = [int(i) for i in self.empty_bands()] if self.sr is not None else None
        doc: dict[str, Any] = {
            "preset": self.name,
            "kind": self.kind,
            "description": self.description,
            "reference": self.reference,
            "parameters": {
                "sr": self.sr,
                "n_fft": self.n_fft,
                "hop_length": self.hop_length,
                "win_length": self.win_length,
                "window": self.window,
                "center": self.center,
                "pad_mode": self.pad_mode,
                "power": self.power,
                "n_mels": self.n_mels,
                "fmin": self.fmin,
                "fmax": self.fmax_hz if self.sr is not None else self.fmax,
                "mel_scale": "htk" if self.htk else "slaney",
                "mel_norm": self.norm or "none",
                "log": self.log,
                "amin": self.amin_value,
                "top_db": self.top_db,
                "target_length": self.target_length,
            },
            "empty_mel_bands": empty,
            "values": _VALUES[self.kind](self),
        }
        if self.kind == "ast":
            from spectroview.dsp.ast import ast_recipe

            doc["ast"] = ast_recipe(int(self.target_length or 0))
        return doc


def _mel_values(fe: FrontEnd) -> str:
    scale = "power |X|^2" if fe.power == 2.0 else "magnitude |X|"
    floor = fe.amin_value
    log = {
        "db": f"{10 if fe.power == 2.0 else 20}*log10(max({floor:g}, mel))",
        "ln": f"ln(max({floor:g}, mel))",
        "log10": f"log10(max({floor:g}, mel))",
        "none": "mel",
    }[fe.log]
    top = "" if fe.top_db is None else f", raised to max - {fe.top_db:g} dB"
    return f"{log}{top}, mel = filters @ {scale}, full-scale samples +-1"


_VALUES = {
    "mel": _mel_values,
    "whisper": lambda fe: (
        "(max(log10(max(1e-10, mel)), peak - 8) + 4) / 4, mel = Slaney filters @ |X|^2, "
        "peak = the window's largest log10 value; 30 s of audio, zero-padded"
    ),
    "ast": lambda fe: (
        "(ln(max(1.1920929e-07, Kaldi mel power)) - (-4.2677393)) / (2 * 4.5689974); "
        "columns past the audio: a zero fbank normalized (0.467)"
    ),
}

_REFERENCES = {
    "librosa": "librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, ...), ref=1.0, amin=1e-10, "
    "top_db=None) (librosa.amplitude_to_db for power 1)",
    "torchaudio": "torchaudio.transforms.MelSpectrogram (defaults: sample_rate=16000, n_fft=400, hop_length=200, "
    "f_min=0, f_max=None, n_mels=128, window_fn=torch.hann_window, power=2, center=True, pad_mode='reflect', "
    "norm=None, mel_scale='htk'); checked against librosa.feature.melspectrogram(htk=True, norm=None, "
    "pad_mode='reflect')",
    "panns": "PANNs (Kong et al., 2020, audioset_tagging_cnn pytorch/models.py: torchlibrosa Spectrogram + "
    "LogmelFilterBank, sample_rate=32000, window_size=1024, hop_size=320, mel_bins=64, fmin=50, fmax=14000, "
    "ref=1.0, amin=1e-10, top_db=None); checked against librosa with those arguments",
    "whisper": "OpenAI whisper/audio.py log_mel_spectrogram(n_mels=80) and pad_or_trim; checked against "
    "transformers.WhisperFeatureExtractor (numpy path)",
    "whisper-128": "OpenAI whisper/audio.py log_mel_spectrogram(n_mels=128) (large-v3); checked against "
    "transformers.WhisperFeatureExtractor(feature_size=128)",
    "ast": "Gong et al., AST (Interspeech 2021), src/dataloader.py: torchaudio.compliance.kaldi.fbank(htk_compat="
    "True, sample_frequency=16000, use_energy=False, window_type='hanning', num_mel_bins=128, dither=0.0, "
    "frame_shift=10), padded/cut to 1024 frames, (x + 4.2677393) / (2 * 4.5689974); checked against "
    "transformers.audio_utils (mel_scale='kaldi')",
}


def _fields() -> dict[str, dict[str, Any]]:
    from spectroview.dsp.ast import AST_FRAME_LENGTH, AST_FRAME_SHIFT, AST_N_FFT, AST_SR, AST_TARGET_LENGTH
    from spectroview.dsp.whisper import WHISPER_HOP_LENGTH, WHISPER_N_FFT, WHISPER_N_FRAMES, WHISPER_SR

    whisper = {
        "kind": "whisper",
        "sr": WHISPER_SR,
        "n_fft": WHISPER_N_FFT,
        "hop_length": WHISPER_HOP_LENGTH,
        "win_length": WHISPER_N_FFT,
        "pad_mode": "reflect",
        "n_mels": 80,
        "fmax": WHISPER_SR / 2,
        "log": "log10",
        "target_length": WHISPER_N_FRAMES,
    }
    return {
        "librosa": {},
        "torchaudio": {
            "sr": 16000,
            "n_fft": 400,
            "hop_length": 200,
            "win_length": 400,
            "pad_mode": "reflect",
            "htk": True,
            "norm": None,
            "log": "none",
        },
        "panns": {
            "sr": 32000,
            "n_fft": 1024,
            "hop_length": 320,
            "win_length": 1024,
            "pad_mode": "reflect",
            "n_mels": 64,
            "fmin": 50.0,
            "fmax": 14000.0,
        },
        "whisper": whisper,
        "whisper-128": {**whisper, "n_mels": 128},
        "ast": {
            "kind": "ast",
            "sr": AST_SR,
            "n_fft": AST_N_FFT,
            "hop_length": AST_FRAME_SHIFT,
            "win_length": AST_FRAME_LENGTH,
            "center": False,
            "htk": True,
            "fmin": 20.0,
            "fmax": AST_SR / 2,
            "norm": None,
            "log": "ln",
            "amin": float(np.finfo(np.float32).eps),
            "target_length": AST_TARGET_LENGTH,
        },
    }


_PRESET_FIELDS = _fields()


def front_end(name: str = "librosa", **changes: Any) -> FrontEnd:
    """The preset ``name`` (:data:`FRONT_ENDS`, or the alias ``logmel``), with ``changes`` to its generic fields.

    Every change is applied as given (``norm=None`` removes the
    normalization, ``fmax=None`` means ``sr / 2``).  Like the references, a changed window length without
    a hop takes the reference's rule: librosa ``win_length // 4``,
    torchaudio ``win_length // 2``; a changed ``n_fft`` without a window
    length takes ``win_length = n_fft``.

    Raises
    ------
    ParameterError
        An unknown preset or field, a change to a fixed preset (panns,
        whisper, whisper-128, ast), or a value outside what is allowed.
    """
    canonical = FRONT_END_ALIASES.get(name, name)
    if canonical not in FRONT_ENDS:
        raise ParameterError(f"preset={name!r}: unknown; choose one of {', '.join(FRONT_ENDS)}")
    given = dict(changes)
    unknown = sorted(set(given) - set(GENERIC_FIELDS))
    if unknown:
        raise ParameterError(f"{unknown[0]}: not a front-end parameter; choose among {', '.join(GENERIC_FIELDS)}")
    fields = {"name": canonical, **_PRESET_FIELDS[canonical]}
    if given and canonical not in _OPEN:
        key = sorted(given)[0]
        raise ParameterError(
            f"{key}={given[key]!r}: fixed by the {canonical} preset, as its model was trained; "
            "the librosa and torchaudio presets let you choose it"
        )
    fields.update(given)
    if "n_fft" in given and "win_length" not in given:
        fields["win_length"] = fields["n_fft"]
    if ("n_fft" in given or "win_length" in given) and "hop_length" not in given:
        divisor = 2 if canonical == "torchaudio" else 4
        fields["hop_length"] = max(1, int(fields.get("win_length", 2048)) // divisor)
    return FrontEnd(**fields)


@lru_cache(maxsize=16)
def _mel_weights(sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float, htk: bool, norm: str | None):
    from spectroview.dsp.mel import _mel_filterbank_cached

    # The filters librosa.filters.mel computes, empty ones included (librosa
    # and torchaudio only warn about them).
    return _mel_filterbank_cached(sr, n_fft, n_mels, fmin, fmax, htk, norm)


class FrontEndStream:
    """A mel front end over a stream of samples: its columns block by block, equal to :meth:`FrontEnd.compute`.

    ``top_db`` is not applied (it needs the whole matrix's maximum; apply
    :meth:`FrontEnd.finish`'s clamp once every column is known).

    Parameters
    ----------
    front_end : FrontEnd
        Mel kind, with a rate (:meth:`FrontEnd.bind`).
    """

    def __init__(self, front_end: FrontEnd, *, workers: int | None = None) -> None:
        from spectroview.dsp.stft import StreamingSpectrogram

        if not front_end.streaming:
            raise ParameterError(f"preset={front_end.name!r}: one model input at a time, not a stream")
        self.front_end = fe = front_end
        sr = fe.require_sr()
        # The engine's own mel rows where every filter holds a bin; else the
        # linear rows and the reference's filters, empty ones included.
        mel = fe._params(scale="mel") if not fe.empty_bands().size else None
        self.params = mel if mel is not None else fe._params(scale="linear")
        self._weights = (
            None
            if mel is not None
            else _mel_weights(float(sr), fe.n_fft, fe.n_mels, float(fe.fmin), fe.fmax_hz, bool(fe.htk), fe.norm)
        )
        # float64 window and FFT, as librosa: a dB matrix keeps cells 140 dB down.
        self._stream = StreamingSpectrogram(sr, self.params, workers=workers, precise=True)

    def pending_frames(self, n_more: int = 0) -> int:
        return self._stream.pending_frames(n_more)

    def values(self, rows: np.ndarray) -> np.ndarray:
        """Engine rows (mel, or linear when projected here) to the front end's values (new float32, C order)."""
        mel = rows if self._weights is None else self._weights @ rows
        return self.front_end.values(mel, out=np.empty(mel.shape, dtype=np.float32))

    def push(self, block: np.ndarray) -> Iterator[np.ndarray]:
        """Columns made complete by ``block`` (mono float at the front end's rate), a few MB at a time."""
        for rows in self._stream.push_bounded(block, reuse=True):
            if rows.shape[1]:
                yield self.values(rows)

    def flush(self) -> Iterator[np.ndarray]:
        """The last columns (the end's padding)."""
        for rows in self._stream.flush_bounded(reuse=True):
            if rows.shape[1]:
                yield self.values(rows)
