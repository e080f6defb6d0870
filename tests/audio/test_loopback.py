"""End to end through a real loopback: paplay / Player -> null sink -> monitor -> MicSource.

PortAudio reaches the private PulseAudio daemon through ALSA's pulse plugin
(see ``pulse.py``).  Waits poll the ring buffer's sample clock against a
deadline; they never assume how long the audio stack takes.
"""

from __future__ import annotations

import itertools
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from spectroview.audio import synth
from spectroview.audio.errors import AudioError
from spectroview.audio.files import FileSource
from spectroview.audio.mic import MicError, MicSource
from spectroview.audio.player import Player
from spectroview.dsp import SpectrogramParams, StreamingSpectrogram, fft_frequencies, frame_times
from tests.audio.pulse import RATE, PulseServer

SR = RATE
PARAMS = SpectrogramParams(sr=SR, n_fft=2048, hop_length=256)
BIN_HZ = SR / PARAMS.n_fft


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def write(path: Path, y: np.ndarray) -> Path:
    soundfile.write(path, y, SR, subtype="PCM_16")
    return path


def gap(seconds: float) -> np.ndarray:
    return synth.silence(seconds, sr=SR)


def tone(freq: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    return synth.fade(synth.tone(freq, seconds, sr=SR, amplitude=amplitude), sr=SR)


def started_mic() -> MicSource:
    mic = MicSource(samplerate=SR, buffer_seconds=30.0)
    mic.start()
    wait_until(lambda: mic.ring is not None and mic.ring.write_index > SR // 10, 10, "the first captured samples")
    return mic


def capture(mic: MicSource, play: Callable[[], None], tail: float = 0.3) -> np.ndarray:
    """Samples captured from just before ``play()`` until ``tail`` s after it returns."""
    ring = mic.ring
    assert ring is not None
    first = ring.write_index
    play()
    last = ring.write_index + round(tail * SR)
    wait_until(lambda: ring.write_index >= last, 10, "the tail of the capture")
    return ring.read(first, last, copy=True)


def spectrogram_of(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns through StreamingSpectrogram in 10 ms blocks, and their times in s."""
    stream = StreamingSpectrogram(SR, PARAMS)
    block = SR // 100
    cols = [stream.push(y[i : i + block]) for i in range(0, y.size, block)] + [stream.flush()]
    S = np.concatenate(cols, axis=1)
    return S, frame_times(S.shape[1], PARAMS)


def band_energy(S: np.ndarray, freq: float) -> np.ndarray:
    k = round(freq / BIN_HZ)
    return S[max(0, k - 2) : k + 3].sum(axis=0)


def active_span(energy: np.ndarray, times: np.ndarray) -> tuple[float, float]:
    on = np.flatnonzero(energy > 0.5 * energy.max())
    assert on.size, "nothing captured"
    return float(times[on[0]]), float(times[on[-1]])


def play_and_wait(pulse: PulseServer, path: Path) -> Callable[[], None]:
    def run() -> None:
        proc = pulse.play(path)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err.decode()

    return run


def played_and_heard(pulse: PulseServer, wav: Path) -> tuple[np.ndarray, np.ndarray]:
    """Play ``wav`` with paplay while capturing; the captured spectrogram and column times."""
    mic = started_mic()
    try:
        captured = capture(mic, play_and_wait(pulse, wav))
    finally:
        mic.close()
    return spectrogram_of(captured)


def peak_frequency(S: np.ndarray, times: np.ndarray, on: float, off: float) -> float:
    """Frequency of the strongest bin, averaged over [on + 0.1, off - 0.1] s."""
    inside = (times > on + 0.1) & (times < off - 0.1)
    return float(fft_frequencies(sr=SR, n_fft=PARAMS.n_fft)[np.argmax(S[:, inside].mean(axis=1))])


def test_tone_sequence_has_right_bins_and_onsets(pulse_running: PulseServer, tmp_path: Path) -> None:
    y = np.concatenate([gap(0.3), tone(1000.0, 0.5), gap(0.2), tone(2500.0, 0.5), gap(0.2)])
    wav = write(tmp_path / "sequence.wav", y)
    S, times = played_and_heard(pulse_running, wav)
    a_on, a_off = active_span(band_energy(S, 1000.0), times)
    b_on, b_off = active_span(band_energy(S, 2500.0), times)
    # Peak bins while each tone sounds, within one bin.
    assert abs(peak_frequency(S, times, a_on, a_off) - 1000.0) <= BIN_HZ
    assert abs(peak_frequency(S, times, b_on, b_off) - 2500.0) <= BIN_HZ
    # Onsets and durations as played, within 50 ms.
    assert b_on - a_on == pytest.approx(0.7, abs=0.05)
    assert a_off - a_on == pytest.approx(0.5, abs=0.05)
    assert b_off - b_on == pytest.approx(0.5, abs=0.05)


def test_two_simultaneous_tones_show_two_peaks(pulse_running: PulseServer, tmp_path: Path) -> None:
    both = synth.fade(synth.tones([700.0, 3100.0], 0.6, sr=SR, amplitude=0.8), sr=SR)
    wav = write(tmp_path / "two.wav", np.concatenate([gap(0.2), both, gap(0.2)]))
    S, times = played_and_heard(pulse_running, wav)
    on, off = active_span(band_energy(S, 700.0), times)
    spectrum = S[:, (times > on + 0.1) & (times < off - 0.1)].mean(axis=1)
    freqs = fft_frequencies(sr=SR, n_fft=PARAMS.n_fft)
    top_two = sorted(freqs[np.argsort(spectrum)[-2:]])
    # The two largest bins may be neighbours of one tone; take one per half instead.
    low = freqs[np.argmax(np.where(freqs < 1900, spectrum, 0))]
    high = freqs[np.argmax(np.where(freqs >= 1900, spectrum, 0))]
    assert abs(low - 700.0) <= BIN_HZ and abs(high - 3100.0) <= BIN_HZ, top_two
    assert spectrum[round(3100 / BIN_HZ)] > 100 * np.median(spectrum)


def test_chirp_rises_at_the_played_rate(pulse_running: PulseServer, tmp_path: Path) -> None:
    sweep = synth.fade(synth.chirp(300.0, 3000.0, 1.0, sr=SR, amplitude=0.5), sr=SR)
    wav = write(tmp_path / "chirp.wav", np.concatenate([gap(0.3), sweep, gap(0.2)]))
    S, times = played_and_heard(pulse_running, wav)
    energy = S.sum(axis=0)
    on, off = active_span(energy, times)
    assert off - on == pytest.approx(1.0, abs=0.05)
    inside = (times > on + 0.1) & (times < off - 0.1)
    freqs = fft_frequencies(sr=SR, n_fft=PARAMS.n_fft)[np.argmax(S[:, inside], axis=0)]
    slope, intercept = np.polyfit(times[inside] - on, freqs, 1)
    assert slope == pytest.approx(2700.0, rel=0.05)
    assert np.all(np.diff(freqs) >= -BIN_HZ)  # it only goes up
    assert intercept == pytest.approx(300.0, abs=2700.0 * 0.05 + BIN_HZ)  # onset within 50 ms


def test_player_plays_the_range_heard_through_the_loopback(pulse_running: PulseServer, tmp_path: Path) -> None:
    wav = write(tmp_path / "play.wav", np.concatenate([gap(0.5), tone(1500.0, 0.8), gap(0.5)]))
    mic = started_mic()
    positions: list[float] = []
    with FileSource(wav) as source:
        player = Player(source)

        def play() -> None:
            player.play(0.3, 1.6)  # 0.2 s of silence, the tone, 0.3 s of silence
            while not player.wait(0.02):
                positions.append(player.position)
            assert player.state == "finished", player.message

        try:
            captured = capture(mic, play)
        finally:
            player.stop()
            mic.close()
    S, times = spectrogram_of(captured)
    on, off = active_span(band_energy(S, 1500.0), times)
    assert off - on == pytest.approx(0.8, abs=0.05)
    f = fft_frequencies(sr=SR, n_fft=PARAMS.n_fft)[
        np.argmax(S[:, (times > on + 0.1) & (times < off - 0.1)].mean(axis=1))
    ]
    assert abs(f - 1500.0) <= BIN_HZ
    # The heard position moves forward through the range and ends at its end.
    assert positions and positions[0] >= 0.3 - 1e-9
    assert all(b >= a for a, b in itertools.pairwise(positions))
    assert positions[-1] > 1.2
    assert player.position == pytest.approx(1.6)


def test_player_pause_resume_and_seek(pulse_running: PulseServer, tmp_path: Path) -> None:
    wav = write(tmp_path / "long.wav", tone(440.0, 3.0, amplitude=0.2))
    with FileSource(wav) as source:
        player = Player(source)
        try:
            player.play(0.0)
            # Through ALSA's pulse plugin the first sound is heard ~1.5 s after the start, and an
            # underrun on a loaded machine holds the position ~2 s more: 10 s, not 5.
            wait_until(lambda: player.position > 0.3, 10, "playback to advance")
            player.pause()
            paused_at = player.position
            assert player.state == "paused" and 0.3 <= paused_at < 3.0
            assert player.position == paused_at
            player.resume()
            wait_until(lambda: player.position > paused_at + 0.2, 5, "playback to resume")
            player.seek(2.5)
            assert player.state == "playing"
            wait_until(lambda: player.position >= 2.5, 5, "the seek to take effect")
            assert player.wait(5) and player.state == "finished"
        finally:
            player.stop()


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


@pytest.mark.slow
def test_sixty_seconds_of_capture_lose_nothing_and_memory_stays_flat(pulse_running: PulseServer) -> None:
    mic = MicSource(samplerate=SR, buffer_seconds=5.0)
    mic.start()
    try:
        ring = mic.ring
        assert ring is not None
        wait_until(lambda: ring.write_index > SR, 10, "capture to start")
        t0, n0, rss0 = time.monotonic(), ring.write_index, rss_mb()
        consumed = 0
        while time.monotonic() - t0 < 60.0:
            consumed += ring.pop(copy=True).shape[0]  # a reader keeps up, as the display does
            assert mic.status.state == "running", mic.status.message
            time.sleep(0.05)
        t1, n1, rss1 = time.monotonic(), ring.write_index, rss_mb()
    finally:
        mic.close()
    captured_rate = (n1 - n0) / (t1 - t0)
    assert captured_rate == pytest.approx(SR, rel=0.01)
    assert ring.dropped == 0 and mic.status.input_overflows == 0
    assert consumed >= n1 - n0 - SR  # the reader saw it all (all but the last poll)
    assert rss1 - rss0 < 5.0, f"RSS grew from {rss0:.1f} to {rss1:.1f} MB"


def test_daemon_killed_mid_capture_is_reported_and_recovered(pulse_running: PulseServer) -> None:
    mic = MicSource(samplerate=SR, buffer_seconds=30.0)
    mic.start()
    try:
        ring = mic.ring
        assert ring is not None
        wait_until(lambda: ring.write_index > SR // 2, 10, "capture to start")
        pulse_running.kill()
        wait_until(lambda: mic.status.state == "error", 10, "the source to notice the dead daemon")
        status = mic.status
        assert "went away" in status.message or "no audio" in status.message
        before = ring.write_index
        kept = ring.read(0, before, copy=True)
        assert kept.shape == (before,)  # what was captured before the fault is intact and readable
        pulse_running.start()
        mic.start()
        assert mic.status.state == "running"
        wait_until(lambda: ring.write_index > before + SR // 4, 10, "capture after the daemon is back")
        np.testing.assert_array_equal(ring.read(0, before), kept)
    finally:
        mic.close()
    assert mic.status.state in ("stopped", "idle", "error")


def test_unsupported_rate_and_unknown_device_are_statuses_not_crashes(pulse_running: PulseServer) -> None:
    mic = MicSource(samplerate=7_777_777)
    with pytest.raises(MicError, match=r"cannot (open|start) .* at 7\.77778e\+06 Hz"):
        mic.start()
    assert mic.status.state == "error" and "7.77778e+06 Hz" in mic.status.message
    mic.close()
    other = MicSource(device="no such device")
    with pytest.raises(AudioError, match=r"device='no such device': no input device name contains it"):
        other.start()
    assert other.status.state == "error"
    # A good start after a failed one works on the same source.
    mic.requested_samplerate = SR
    mic.start()
    try:
        assert mic.status.state == "running"
    finally:
        mic.close()
    assert mic.status.state == "stopped"


def test_devices_command_lists_the_loopback_devices(pulse_running: PulseServer) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "spectroview", "devices"],
        env=pulse_running.env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if "ALSA" in line]
    assert any(" default " in row or row.split()[-5] == "default" for row in rows), proc.stdout
    default_row = next(row for row in rows if "default" in row)
    assert default_row.startswith("<>"), "the default input and output are marked"


def test_closing_a_just_started_capture_does_not_wait_for_the_stream(pulse_running: PulseServer) -> None:
    # Toggling live mode quickly (L, L, L...) must not block: PortAudio's stop() waits up to 2 s
    # for pending buffers through PulseAudio right after a start; the capture aborts instead.
    for _ in range(3):
        mic = MicSource(buffer_seconds=5.0)
        mic.start()
        start = time.perf_counter()
        mic.close()
        assert time.perf_counter() - start < 0.5
        assert mic.ring is None or mic.status.state != "running"
