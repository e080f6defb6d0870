"""Audio-source benchmark: capture latency and cost through a real loopback, and file-source memory.

Run: ``python -m tests.benchmarks.audio`` (needs pulseaudio, pulseaudio-utils,
libasound2-plugins and libportaudio2, as ``make test`` installs them).

Figures (JSON):

- ``click_latency``: a click played with ``paplay`` into a private PulseAudio
  null sink, captured from its monitor by :class:`MicSource` at 48 kHz and fed
  to :class:`StreamingSpectrogram` (n_fft 2048, hop 256) by a reader polling
  every 2 ms, as a display timer would.  ``adc_to_brightest_column_ms`` runs
  from the moment the click's first sample was captured (PortAudio's ADC
  time of that sample, mapped to this process's clock) to the moment the
  column where the click is brightest exists; its floor is ``n_fft/2 / sr``
  (the frame centred on the click needs the half window after it) plus one
  callback block.  The first column that shows any of the click (its window
  edge) comes earlier.  ``paplay_start_to_brightest_column_ms`` adds paplay's
  start-up and PulseAudio's buffering, from the launch of the process.
- ``capture_cpu``: process CPU seconds per second of audio while capturing
  (callback + ring buffer + PortAudio's own thread), the main thread idle;
  and the callback alone, timed in-process, in microseconds per block.
- ``file_source_rss``: peak RSS of a process that reads a one-hour 44.1 kHz
  stereo file end to end in blocks, against the same process that only
  opens it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import soundfile

from spectroview.audio import devices
from spectroview.audio.mic import MicSource
from spectroview.dsp import SpectrogramParams, StreamingSpectrogram
from tests.audio.pulse import RATE, PulseServer, missing_reason

N_FFT, HOP = 2048, 256


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.002)


def click_latency(server: PulseServer, tmp: Path, repeats: int) -> dict[str, object]:
    wav = tmp / "click.wav"
    y = np.zeros(RATE // 2, dtype=np.float32)
    y[RATE // 10 : RATE // 10 + 48] = 0.9  # a 1 ms click, 0.1 s into the file
    soundfile.write(wav, y, RATE, subtype="PCM_16")
    params = SpectrogramParams(sr=RATE, n_fft=N_FFT, hop_length=HOP)
    first_ms, peak_ms, peak_samples_ms, launch_ms, blocks = [], [], [], [], []
    mic = MicSource(samplerate=RATE, buffer_seconds=10.0)
    mic.start()
    try:
        ring = mic.ring
        assert ring is not None
        _wait(lambda: ring.write_index > RATE // 5, 10)
        for _ in range(repeats):
            stream = StreamingSpectrogram(RATE, params)
            ring.pop()  # start from now
            origin = ring.read_index  # absolute index of the stream's sample 0
            emitted: list[tuple[float, int]] = []  # per column: (time it existed, samples pushed by then)
            energy: list[float] = []
            launched = time.monotonic()
            proc = server.play(wav)
            while time.monotonic() - launched < 1.5:
                chunk = ring.pop(copy=True)
                if chunk.size == 0:
                    time.sleep(0.002)
                    continue
                cols = stream.push(chunk)
                now = time.monotonic()
                emitted += [(now, stream.n_samples)] * cols.shape[1]
                energy += cols.sum(axis=0).tolist()
            proc.wait(10)
            audio = ring.read(origin, origin + stream.n_samples, copy=True)
            loud = np.flatnonzero(np.abs(audio) > 0.3)
            if not loud.size:
                continue
            click = int(loud[0])  # stream sample of the click's start
            e = np.asarray(energy)
            quiet = float(np.median(e)) + 1e-12
            first = int(np.flatnonzero(e > 1000 * quiet)[0])
            peak = int(np.argmax(e))
            # PortAudio's stream clock -> time.monotonic, sampled back to back.
            offset = time.monotonic() - mic.stream_time()
            click_time = mic.adc_time_of(origin + click) + offset
            first_ms.append((emitted[first][0] - click_time) * 1000)
            peak_ms.append((emitted[peak][0] - click_time) * 1000)
            peak_samples_ms.append((emitted[peak][1] - click) / RATE * 1000)
            launch_ms.append((emitted[peak][0] - launched) * 1000)
            blocks.append(mic.last_block_frames / RATE)
    finally:
        mic.close()

    def med(values: list[float]) -> float | None:
        return round(statistics.median(values), 1) if values else None

    return {
        "sr": RATE,
        "n_fft": N_FFT,
        "hop_length": HOP,
        "runs": len(peak_ms),
        "adc_to_brightest_column_ms_median": med(peak_ms),
        "adc_to_brightest_column_ms_runs": [round(v, 1) for v in peak_ms],
        "floor_brightest_ms": round((N_FFT / 2 / RATE + statistics.median(blocks or [0.0])) * 1000, 1),
        "samples_after_click_when_brightest_column_existed_ms_median": med(peak_samples_ms),
        "adc_to_first_visible_column_ms_median": med(first_ms),
        "paplay_start_to_brightest_column_ms_median": med(launch_ms),
        "note": "ADC times are PortAudio's (ALSA pulse plugin) mapped to time.monotonic; the samples figure needs no clock",
    }


def capture_cpu(seconds: float) -> dict[str, object]:
    mic = MicSource(samplerate=RATE, buffer_seconds=seconds + 5)
    mic.start()
    try:
        ring = mic.ring
        assert ring is not None
        _wait(lambda: ring.write_index > RATE // 5, 10)
        n0, c0, t0 = ring.write_index, time.process_time(), time.monotonic()
        time.sleep(seconds)
        n1, c1, t1 = ring.write_index, time.process_time(), time.monotonic()
    finally:
        mic.close()
    audio_s = (n1 - n0) / RATE
    # The callback alone, on a typical block (stereo mixdown, 512 frames).
    probe = MicSource()
    from spectroview.audio.ringbuffer import RingBuffer

    probe.ring = RingBuffer(RATE)
    probe.samplerate, probe._n_open = float(RATE), 2
    probe._mix, probe._mix_scale = np.zeros(1 << 16, np.float32), np.float32(0.5)
    block = np.random.default_rng(0).random((512, 2), dtype=np.float32)
    info, ok = SimpleNamespace(inputBufferAdcTime=0.0), SimpleNamespace(input_overflow=False)
    n = 20000
    start = time.perf_counter()
    for _ in range(n):
        probe._callback(block, 512, info, ok)
    per_call_us = (time.perf_counter() - start) / n * 1e6
    return {
        "audio_seconds": round(audio_s, 2),
        "wall_seconds": round(t1 - t0, 2),
        "cpu_seconds_per_audio_second": round((c1 - c0) / audio_s, 4),
        "callback_us_per_512_frame_stereo_block": round(per_call_us, 2),
        "callback_share_of_realtime": round(per_call_us * 1e-6 / (512 / RATE), 5),
    }


RSS_SCRIPT = """
import sys
from spectroview.audio.files import FileSource
with FileSource(sys.argv[1]) as s:
    if sys.argv[2] == "read":
        n = sum(b.shape[0] for b in s.blocks(1 << 18))
        assert n == s.info.frames
"""


def file_source_rss(tmp: Path) -> dict[str, object]:
    from tests.audio.test_long_file import sparse_hour_wav

    path = tmp / "hour.wav"
    sparse_hour_wav(path, {0: 0.5})
    out = {}
    for mode in ("open", "read"):
        report = tmp / f"{mode}.time"
        cmd = [sys.executable, "-c", RSS_SCRIPT, str(path), mode]
        if os.path.exists("/usr/bin/time"):
            cmd = ["/usr/bin/time", "-f", "%M %e", "-o", str(report), *cmd]
        subprocess.run(cmd, check=True, cwd=Path(__file__).resolve().parents[2])
        if report.exists():
            rss_kb, wall = report.read_text().split()[-2:]
            out[mode] = {"peak_rss_mb": round(int(rss_kb) / 1024, 1), "wall_s": float(wall)}
    if "open" in out and "read" in out:
        out["reading_adds_mb"] = round(out["read"]["peak_rss_mb"] - out["open"]["peak_rss_mb"], 1)
    out["file"] = "1 h, 44.1 kHz, stereo, 16-bit WAV (1211 MB as float32)"
    return out


def main() -> None:
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        report["file_source_rss"] = file_source_rss(tmp)
        reason = missing_reason()
        if reason:
            report["loopback"] = f"skipped: {reason}"
        else:
            server = PulseServer(tmp / "pulse")
            os.environ["PULSE_SERVER"] = server.server
            server.start()
            try:
                devices.refresh_devices()
                report["click_latency"] = click_latency(server, tmp, repeats=10)
                report["capture_cpu"] = capture_cpu(10.0)
            finally:
                server.kill()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
