#!/usr/bin/env python3
"""Generate Spectroview's bundled demo recording and its description.

Usage (from the repository root)::

    python resources/make_demo.py [-o resources/demo.flac] [--json PATH]

Writes a mono, 22050 Hz, 16-bit FLAC file and a JSON file (by default next
to it, same name with ``.json``) listing every segment with its start/end
time in seconds and what it contains, so that tests and documentation can
refer to the demo's contents without hard-coding them.

The segments, separated by short silences, each show something a
spectrogram reveals:

1. speech from ``espeak-ng`` (formants, harmonics, fricative noise),
2. a harmonic tone whose pitch glides (parallel rising harmonics),
3. a linear chirp 100 Hz -> 9 kHz (a sloping line),
4. two tones 40 Hz apart (resolved only with a long FFT window),
5. a click train (vertical lines: good time, no frequency resolution),
6. a faint tone under white noise (visible only with a long FFT window).

Everything is deterministic: fixed noise seed, no dither, and the 16-bit
quantization is done here rather than by the encoder, so a rerun on the same
system (same espeak-ng, numpy and libsndfile) gives identical bytes.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    # Run as a script from a checkout: make the in-tree package importable.
    sys.path.insert(0, str(REPO_ROOT))

from spectroview.audio import synth  # noqa: E402  (after the sys.path insert)

SR = 22050
PEAK_DBFS = -1.0
LEAD_IN = 0.25  # s of silence before the first segment
GAP = 0.4  # s of silence between segments
TAIL = 0.25  # s of silence after the last segment
FADE = 0.010  # s raised-cosine fade on every tonal segment edge
NOISE_SEED = 20240611
MAX_DURATION = 20.0  # s
MAX_BYTES = 1_000_000

SPEECH_TEXT = "This is Spectroview. Sound, made visible."
SPEECH_VOICE = "en-us"
SPEECH_WPM = 150


@dataclass
class Segment:
    """One demo segment before placement.

    ``signal`` is 1-D float32 at :data:`SR`; ``content`` holds JSON-ready
    facts about it (frequencies in Hz, times in seconds relative to the
    segment start unless the key says ``_abs``).
    """

    name: str
    description: str
    signal: NDArray[np.float32]
    content: dict[str, Any] = field(default_factory=dict)


def dbfs(x: float) -> float:
    """Linear full-scale amplitude to dBFS (-inf for 0)."""
    return 20.0 * math.log10(x) if x > 0 else -math.inf


# ---------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------


def espeak_version(espeak: str) -> str:
    """First line of ``espeak-ng --version`` (recorded in the JSON)."""
    out = subprocess.run([espeak, "--version"], check=True, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    # Drop the "Data at: <path>" part: it is machine-specific.
    return lines[0].split("Data at:")[0].strip() if lines else "unknown"


def speech(espeak: str) -> Segment:
    """Speech synthesized by espeak-ng, resampled to SR and trimmed."""
    with tempfile.TemporaryDirectory(prefix="spectroview-demo-") as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(
            [espeak, "-v", SPEECH_VOICE, "-s", str(SPEECH_WPM), "-w", str(wav), SPEECH_TEXT],
            check=True,
            capture_output=True,
        )
        y, sr_in = sf.read(wav, dtype="float64", always_2d=True)
    y = y.mean(axis=1)
    if sr_in != SR:
        from spectroview.audio.resample import resample  # soxr HQ, as everywhere in Spectroview

        y = resample(y, orig_sr=int(sr_in), target_sr=SR).astype(np.float64)
    # espeak pads with silence; trim it so the segment times in the JSON
    # bracket the actual speech (threshold -50 dB re peak, 20 ms margin).
    peak = float(np.max(np.abs(y)))
    if peak == 0.0:
        raise RuntimeError("espeak-ng produced silence")
    loud = np.nonzero(np.abs(y) > peak * 10 ** (-50 / 20))[0]
    margin = round(0.02 * SR)
    y = y[max(loud[0] - margin, 0) : loud[-1] + margin + 1]
    y = y * (0.8 / peak)
    y = synth.fade(y, sr=SR, fade_in=FADE, fade_out=FADE)
    return Segment(
        name="speech",
        description="Speech synthesized by espeak-ng: harmonics, formants and noisy fricatives.",
        signal=y,
        content={
            "text": SPEECH_TEXT,
            "voice": SPEECH_VOICE,
            "words_per_minute": SPEECH_WPM,
            "engine": espeak_version(espeak),
        },
    )


def harmonic_glide() -> Segment:
    f0, f0_end, dur, nh = 150.0, 400.0, 3.0, 12
    y = synth.harmonic_tone(f0, dur, sr=SR, n_harmonics=nh, amplitude=0.8, f0_end=f0_end)
    return Segment(
        name="harmonic_glide",
        description="Harmonic tone whose pitch glides up: 12 parallel rising harmonics with 1/k amplitudes.",
        signal=synth.fade(y, sr=SR, fade_in=FADE, fade_out=FADE),
        content={
            "f0_start": f0,
            "f0_end": f0_end,
            "glide": "logarithmic",
            "n_harmonics": nh,
            "harmonic_amplitudes": "1/k",
            "max_frequency": f0_end * nh,
        },
    )


def chirp() -> Segment:
    f0, f1, dur = 100.0, 9000.0, 2.5
    y = synth.chirp(f0, f1, dur, sr=SR, method="linear", amplitude=0.4)
    return Segment(
        name="chirp",
        description="Linear chirp: a straight sloping line on a linear frequency axis.",
        signal=synth.fade(y, sr=SR, fade_in=FADE, fade_out=FADE),
        content={
            "f_start": f0,
            "f_end": f1,
            "method": "linear",
            "sweep_rate_hz_per_s": (f1 - f0) / dur,
        },
    )


def close_tones() -> Segment:
    freqs, dur = [1000.0, 1040.0], 2.0
    y = synth.tones(freqs, dur, sr=SR, amplitude=0.5)
    return Segment(
        name="close_tones",
        description="Two tones 40 Hz apart: two lines with n_fft=2048 "
        "(10.8 Hz bins), one beating line with n_fft=256 (86 Hz bins).",
        signal=synth.fade(y, sr=SR, fade_in=FADE, fade_out=FADE),
        content={
            "frequencies": freqs,
            "separation": freqs[1] - freqs[0],
            "beat_frequency": freqs[1] - freqs[0],
            "resolved_at_n_fft": 2048,
            "unresolved_at_n_fft": 256,
        },
    )


def clicks() -> Segment:
    rate, lead, dur = 10.0, 0.05, 1.45
    # Clicks start 50 ms in so that none falls on a segment edge, and come
    # from rate= so they are exactly SR/rate = 2205 samples apart.  They are
    # the only intended broadband transients, so no fade is applied.
    y = np.concatenate(
        [
            synth.silence(lead, sr=SR),
            synth.click_train(dur, sr=SR, rate=rate, amplitude=0.8, width=1),
        ]
    )
    return Segment(
        name="click_train",
        description="Click train: single-sample impulses, vertical lines across all frequencies.",
        signal=y,
        content={
            "rate": rate,
            "n_clicks": int(np.count_nonzero(y)),
            "width_samples": 1,
        },
    )


def faint_tone_in_noise() -> Segment:
    freq, dur, tone_amp, noise_rms = 3000.0, 2.0, 0.015, 0.05
    rng = np.random.default_rng(NOISE_SEED)
    noise = rng.standard_normal(synth.n_samples(dur, SR)) * noise_rms
    y = noise + synth.tone(freq, dur, sr=SR, amplitude=tone_amp)
    snr_db = dbfs(tone_amp / math.sqrt(2)) - dbfs(noise_rms)
    return Segment(
        name="faint_tone_in_noise",
        description="A faint 3 kHz tone under white noise: each FFT bin "
        "holds less noise as n_fft grows, so the tone stands out with "
        "n_fft=2048 but hardly with n_fft=256.",
        signal=synth.fade(y, sr=SR, fade_in=FADE, fade_out=FADE),
        content={
            "frequency": freq,
            "broadband_snr_db": round(snr_db, 2),
            "noise": "white gaussian",
            "noise_seed": NOISE_SEED,
        },
    )


# ---------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------


def _round_floats(obj: Any, ndigits: int = 6) -> Any:
    """Round floats recursively so the JSON is short and stable."""
    if isinstance(obj, float):
        return round(obj, ndigits)
    if isinstance(obj, dict):
        return {k: _round_floats(v, ndigits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round_floats(v, ndigits) for v in obj]
    return obj


def build(espeak: str) -> tuple[NDArray[np.int16], dict[str, Any]]:
    """Render the demo.

    Returns
    -------
    pcm : numpy.ndarray
        Shape ``(n,)``, dtype ``int16``, mono at :data:`SR`.
    description : dict
        JSON-ready description of the file and its segments.
    """
    segments = [
        speech(espeak),
        harmonic_glide(),
        chirp(),
        close_tones(),
        clicks(),
        faint_tone_in_noise(),
    ]
    parts: list[NDArray[np.float32]] = [synth.silence(LEAD_IN, sr=SR)]
    spans: list[tuple[int, int]] = []
    pos = len(parts[0])
    for i, seg in enumerate(segments):
        if i:
            gap = synth.silence(GAP, sr=SR)
            parts.append(gap)
            pos += len(gap)
        parts.append(seg.signal.astype(np.float32))
        spans.append((pos, pos + len(seg.signal)))
        pos += len(seg.signal)
    parts.append(synth.silence(TAIL, sr=SR))
    y = np.concatenate(parts).astype(np.float64)

    # One gain for the whole file keeps the designed relative levels.
    target = 10 ** (PEAK_DBFS / 20)
    gain = target / float(np.max(np.abs(y)))
    pcm = np.round(y * gain * 32767.0).astype(np.int16)

    seg_info = []
    for seg, (a, b) in zip(segments, spans, strict=True):
        peak = float(np.max(np.abs(pcm[a:b].astype(np.int32)))) / 32767.0
        content = dict(seg.content)
        if seg.name == "click_train":
            # Absolute positions, so tests can look the clicks up directly.
            idx = a + np.nonzero(seg.signal)[0]
            content["click_samples"] = [int(i) for i in idx]
            content["click_times"] = [float(i) / SR for i in idx]
        seg_info.append(
            {
                "name": seg.name,
                "start": a / SR,
                "end": b / SR,
                "start_sample": a,
                "end_sample": b,
                "peak_dbfs": dbfs(peak),
                "description": seg.description,
                **content,
            }
        )
    description = {
        "file": "demo.flac",
        "generator": "resources/make_demo.py",
        "license": "CC0-1.0",
        "sample_rate": SR,
        "channels": 1,
        "subtype": "PCM_16",
        "n_samples": int(pcm.shape[0]),
        "duration": pcm.shape[0] / SR,
        "peak_dbfs": PEAK_DBFS,
        "notes": "Times in seconds from the start of the file; end is "
        "exclusive (end_sample is one past the last sample). Frequencies in "
        "Hz. Silence elsewhere.",
        "segments": seg_info,
    }
    return pcm, _round_floats(description)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=REPO_ROOT / "resources" / "demo.flac",
        help="FLAC file to write (default: resources/demo.flac)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="segment description to write (default: OUTPUT with .json)",
    )
    parser.add_argument("--espeak", default="espeak-ng", help="espeak-ng executable to run")
    args = parser.parse_args(argv)

    if shutil.which(args.espeak) is None:
        parser.error(f"{args.espeak!r} not found; install espeak-ng")
    json_path = args.json or args.output.with_suffix(".json")

    pcm, description = build(args.espeak)
    description["file"] = args.output.name
    if description["duration"] > MAX_DURATION:
        raise SystemExit(f"demo is {description['duration']} s > {MAX_DURATION} s")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    sf.write(args.output, pcm, SR, format="FLAC", subtype="PCM_16")
    size = args.output.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{args.output} is {size} bytes > {MAX_BYTES}")
    json_path.write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")

    print(f"wrote {args.output} ({size} bytes, {description['duration']:.3f} s)")
    print(f"wrote {json_path}")
    for seg in description["segments"]:
        print(f"  {seg['start']:7.3f}-{seg['end']:7.3f} s  {seg['name']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
