"""Every model front end against its reference implementation (bar: 1e-4 of the reference's range).

The signals are made at 44.1 kHz and at each preset's own rate; the 44.1 kHz
ones are resampled to the preset's rate with soxr HQ on both sides (ours:
:func:`spectroview.audio.resample.resample`; the reference's:
``librosa.resample(res_type="soxr_hq")``, what ``librosa.load(sr=...)`` does),
so the comparison covers the whole path a user's file takes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import librosa
import numpy as np
import pytest
from transformers import WhisperFeatureExtractor
from transformers.audio_utils import mel_filter_bank, spectrogram, window_function

from spectroview.audio.resample import resample
from spectroview.dsp import ParameterError
from spectroview.dsp.frontends import FRONT_ENDS, FrontEnd, FrontEndStream, front_end
from tests.dsp.helpers import chord, vowel

#: The worst difference seen per preset, printed at the end for the closing note.
WORST: dict[str, float] = {}


SIGNALS: dict[str, Callable[[int], np.ndarray]] = {
    "speech": lambda sr: vowel(sr, 3.0),
    "music": lambda sr: chord(sr, 4.0),
    "silence": lambda sr: np.zeros(sr, np.float32),
    # Shorter than one frame of every preset but AST (which needs 25 ms; see below).
    "short_clip": lambda sr: vowel(sr, 0.5)[: round(0.018 * sr)],
}


def librosa_reference(fe: FrontEnd, y: np.ndarray) -> np.ndarray:
    """``librosa.feature.melspectrogram`` with the front end's arguments, then its log."""
    mel = librosa.feature.melspectrogram(
        y=y,
        sr=fe.sr,
        n_fft=fe.n_fft,
        hop_length=fe.hop_length,
        win_length=fe.win_length,
        window=fe.window,
        center=fe.center,
        pad_mode=fe.pad_mode,
        power=fe.power,
        n_mels=fe.n_mels,
        fmin=fe.fmin,
        fmax=fe.fmax,
        htk=fe.htk,
        norm=fe.norm,
    )
    if fe.log == "db":
        if fe.power == 2.0:
            return librosa.power_to_db(mel, ref=1.0, amin=fe.amin_value, top_db=fe.top_db)
        return librosa.amplitude_to_db(mel, ref=1.0, amin=fe.amin_value, top_db=fe.top_db)
    if fe.log == "ln":
        return np.log(np.maximum(mel, fe.amin_value))
    if fe.log == "log10":
        return np.log10(np.maximum(mel, fe.amin_value))
    return mel


def reference(fe: FrontEnd, y: np.ndarray) -> np.ndarray:
    if fe.kind == "whisper":
        extractor = WhisperFeatureExtractor(feature_size=fe.n_mels)
        return extractor(y, sampling_rate=fe.sr, return_tensors="np")["input_features"][0]
    if fe.kind == "ast":
        return ast_reference(y)
    return librosa_reference(fe, y)


def ast_reference(y16: np.ndarray) -> np.ndarray:
    """``ASTFeatureExtractor``'s numpy path (transformers 4.x-5.x, without torch or torchaudio), transposed.

    Its class refuses to build without torch, so its ``_extract_fbank_features``
    and ``normalize`` are restated here with the same ``transformers.audio_utils`` calls.
    """
    mel_filters = mel_filter_bank(
        num_frequency_bins=257,
        num_mel_filters=128,
        min_frequency=20,
        max_frequency=8000,
        sampling_rate=16000,
        norm=None,
        mel_scale="kaldi",
        triangularize_in_mel_space=True,
    )
    fbank = spectrogram(
        np.squeeze(y16),
        window_function(400, "hann", periodic=False),
        frame_length=400,
        hop_length=160,
        fft_length=512,
        power=2.0,
        center=False,
        preemphasis=0.97,
        mel_filters=mel_filters,
        log_mel="log",
        mel_floor=1.192092955078125e-07,
        remove_dc_offset=True,
    ).T
    padded = np.zeros((1024, 128), dtype=np.float32)
    padded[: min(1024, fbank.shape[0])] = fbank[:1024]
    return ((padded - (-4.2677393)) / (4.5689974 * 2)).T


def presets() -> list[FrontEnd]:
    return [front_end(name).bind(16000) for name in FRONT_ENDS]


def _compare(fe: FrontEnd, y: np.ndarray, want: np.ndarray) -> None:
    got = fe.compute(y)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.shape[1] == fe.n_frames(y.shape[0])
    span = float(want.max() - want.min())
    diff = float(np.abs(got - want).max())
    if span > 0:
        WORST[fe.name] = max(WORST.get(fe.name, 0.0), diff / span)
    assert diff <= 1e-4 * max(span, 1.0), f"{fe.name}: max difference {diff:g} of a range {span:g}"


@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize("signal", list(SIGNALS))
@pytest.mark.parametrize("fe", presets(), ids=lambda fe: fe.name)
def test_equals_its_reference_at_the_preset_rate(fe: FrontEnd, signal: str) -> None:
    y = SIGNALS[signal](fe.require_sr())
    if fe.kind == "ast" and signal == "short_clip":
        # torchaudio's fbank gives no frame, which AST's loader pads to 1024
        # columns of padding; a model input with no audio in it is refused
        # here, with the reason.
        with pytest.raises(ParameterError, match="too short for the AST front end"):
            fe.compute(y)
        return
    _compare(fe, y, reference(fe, y))


@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize("signal", ["speech", "music"])
@pytest.mark.parametrize("fe", presets(), ids=lambda fe: fe.name)
def test_equals_its_reference_after_resampling_from_44k(fe: FrontEnd, signal: str) -> None:
    y44 = SIGNALS[signal](44100)
    sr = fe.require_sr()
    ours = resample(y44, orig_sr=44100, target_sr=sr)
    theirs = librosa.resample(y44, orig_sr=44100, target_sr=sr, res_type="soxr_hq")
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    _compare(fe, ours, reference(fe, theirs))


@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize(
    "changes",
    [
        {"htk": True, "norm": None},
        {"power": 1.0},
        {"power": 1.0, "top_db": 60.0},
        {"center": False},
        {"pad_mode": "reflect", "log": "ln"},
        {"log": "log10", "n_mels": 40, "fmin": 30.0, "fmax": 7000.0},
        {"log": "none", "window": "hamming", "win_length": 300, "hop_length": 100},
        {"top_db": 80.0},
    ],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()),
)
@pytest.mark.parametrize("name", ["librosa", "torchaudio"])
def test_generic_options_equal_librosa_with_the_same_arguments(name: str, changes: dict) -> None:
    if "top_db" in changes:
        changes = {"log": "db", **changes}  # torchaudio's own has no log
    fe = front_end(name, **changes).bind(16000)
    for key, value in changes.items():
        assert getattr(fe, key) == value
    y = vowel(16000, 2.0)
    _compare(fe, y, librosa_reference(fe, y))


def test_torchaudio_defaults_and_the_seed_example() -> None:
    fe = front_end("torchaudio")
    assert (fe.sr, fe.n_fft, fe.hop_length, fe.win_length, fe.n_mels) == (16000, 400, 200, 400, 128)
    assert (fe.htk, fe.norm, fe.pad_mode, fe.center, fe.power, fe.log) == (True, None, "reflect", True, 2.0, "none")
    # torchaudio's defaults leave some of the 128 HTK bands without a bin: kept as zero rows, like torchaudio.
    assert fe.empty_bands().size > 0
    assert np.all(fe.compute(vowel(16000, 1.0))[fe.empty_bands()] == 0.0)
    # The seed's example: one second at 16 kHz, n_fft 1024, hop 512, 64 mels: 64 x 32.
    seed = front_end("torchaudio", n_fft=1024, hop_length=512, n_mels=64)
    assert seed.compute(vowel(16000, 1.0)).shape == (64, 32)
    # A window change without a hop takes torchaudio's rule (hop = win_length // 2); librosa's is // 4.
    assert front_end("torchaudio", n_fft=1024).hop_length == 512
    assert front_end("librosa", n_fft=1024).hop_length == 256


def test_equals_torchaudio_itself_where_installed() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (7 GB with torchaudio); librosa stands in")
    torchaudio = pytest.importorskip("torchaudio", reason="torchaudio is not installed")
    y = vowel(16000, 2.0)
    want = torchaudio.transforms.MelSpectrogram()(torch.from_numpy(y)).numpy()
    _compare(front_end("torchaudio"), y, want)


@pytest.mark.parametrize("name", ["panns", "whisper", "whisper-128", "ast"])
def test_fixed_presets_refuse_changes(name: str) -> None:
    with pytest.raises(ParameterError, match=rf"^n_fft=512: fixed by the {name} preset"):
        front_end(name, n_fft=512)
    fe = front_end(name)
    with pytest.raises(ParameterError, match=rf"^hop_length=7: fixed by the {name} preset"):
        dataclasses.replace(fe, hop_length=7)


@pytest.mark.parametrize(
    ("name", "changes", "match"),
    [
        ("whisper-large", {}, r"^preset='whisper-large': unknown; choose one of librosa, torchaudio"),
        ("librosa", {"power": 3}, r"^power=3: must be 1 \(magnitude\) or 2 \(power\)"),
        ("librosa", {"log": "log2"}, r"^log='log2': must be one of db, ln, log10, none"),
        ("librosa", {"log": "ln", "top_db": 80.0}, r"^top_db=80.0: goes with log='db'"),
        ("librosa", {"top_db": -1.0}, r"^top_db=-1.0: must be a number of dB >= 0"),
        ("librosa", {"pad_mode": "wrap"}, r"^pad_mode='wrap': must be one of constant, edge, reflect, symmetric"),
        ("librosa", {"n_fft": 8}, r"^n_fft=8: must be an integer in \[16, 65536\]"),
        ("torchaudio", {"fmax": 9000.0}, r"^fmax=9000.0: must be <= sr/2 = 8000 Hz"),
        ("torchaudio", {"sr": 0}, r"^sr=0: must be a whole sample rate"),
        ("librosa", {"n_fft_size": 3}, r"^n_fft_size: not a front-end parameter"),
    ],
)
def test_refusals_name_the_parameter_value_and_what_is_allowed(name: str, changes: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        front_end(name, **changes)


def test_logmel_is_an_alias_and_librosa_reads_the_files_rate() -> None:
    assert front_end("logmel") == front_end("librosa")
    fe = front_end("librosa")
    assert fe.sr is None
    with pytest.raises(ParameterError, match="bind"):
        fe.compute(np.zeros(100, np.float32))
    assert fe.bind(44100).sr == 44100 and fe.bind(44100).bind(8000).sr == 44100


@pytest.mark.parametrize("name", ["librosa", "torchaudio", "panns"])
def test_the_stream_equals_the_whole_for_any_blocks(name: str) -> None:
    fe = front_end(name, **({"log": "db", "top_db": 50.0} if name != "panns" else {})).bind(16000)
    y = chord(fe.require_sr(), 2.0)
    whole = fe.compute(y)
    rng = np.random.default_rng(7)
    cuts = np.sort(rng.integers(0, y.shape[0], 9))
    stream = FrontEndStream(fe)
    parts = [c for block in np.split(y, cuts) for c in stream.push(block)] + list(stream.flush())
    streamed = fe.finish(np.concatenate(parts, axis=1))
    assert streamed.shape == whole.shape == (fe.n_mels, fe.n_frames(y.shape[0]))
    np.testing.assert_allclose(streamed, whole, atol=1e-5 * float(np.ptp(whole)))


@pytest.mark.parametrize("fe", presets(), ids=lambda fe: fe.name)
def test_geometry(fe: FrontEnd) -> None:
    """Frame times, row frequencies and frame counts are what the matrix holds: a tone lands where they say."""
    sr = fe.require_sr()
    t = np.arange(round(1.5 * sr)) / sr
    burst = (0.5 * np.sin(2 * np.pi * 1000.0 * t) * ((t > 0.6) & (t < 0.9))).astype(np.float32)
    m = fe.compute(burst)
    centres, edges = fe.row_frequencies()
    assert centres.shape == (fe.n_rows,) and edges.shape == (fe.n_rows + 1,)
    assert np.all(np.diff(edges) > 0) and np.all((edges[:-1] <= centres) & (centres <= edges[1:]))
    row = int(np.argmax(m.max(axis=1)))
    assert edges[row] - 60 <= 1000.0 <= edges[row + 1] + 60
    valid = fe.valid_frames(burst.shape[0])
    times = fe.frame_times(valid)
    loud = m[row, :valid] > m[row, :valid].min() + 0.5 * np.ptp(m[row, :valid])
    # A frame is loud when its window reaches into the burst (0.6-0.9 s).
    reach = fe.win_length / 2 / sr + fe.hop_length / sr
    assert 0.6 - reach < times[loud].min() < 0.6 + reach and 0.9 - reach < times[loud].max() < 0.9 + reach
    if fe.streaming:
        assert m.shape[1] == fe.n_frames(burst.shape[0])
    else:
        assert m.shape[1] == fe.target_length and valid < m.shape[1]


@pytest.mark.parametrize("fe", presets(), ids=lambda fe: fe.name)
def test_recipe_is_json_with_every_parameter(fe: FrontEnd) -> None:
    import json

    doc = json.loads(json.dumps(fe.recipe(), allow_nan=False))
    assert doc["preset"] == fe.name and doc["reference"] == fe.reference
    assert doc["parameters"]["n_mels"] == fe.n_mels and doc["parameters"]["hop_length"] == fe.hop_length
    assert fe.name.split("-")[0] in fe.description.lower()


def test_report_worst_differences(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the largest difference per preset seen by the tests above (read for the closing note)."""
    with capsys.disabled():
        for name, worst in sorted(WORST.items()):
            print(f"\n  front end {name}: max difference {worst:.2e} of the reference's range")


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("n_fft", [400, 401, 1024, 1023])
def test_frame_counts_are_the_engines_for_every_length(n_fft: int, center: bool) -> None:
    from spectroview.dsp.stft import StreamingSpectrogram

    for hop in (1, 97, 160, n_fft, 3 * n_fft):
        fe = front_end("librosa", sr=16000, n_fft=n_fft, hop_length=hop, center=center, pad_mode="reflect")
        for n in (0, 1, n_fft // 2, n_fft // 2 + 1, n_fft - 1, n_fft, n_fft + 1, 5 * n_fft + 7):
            want = StreamingSpectrogram(16000, fe._params(scale="linear")).pending_frames(n)
            assert fe.n_frames(n) == want, (n_fft, hop, center, n)
