"""Every format people have opens, with its true length, its tone at its row, and exact random access.

The files are made at test time by the ``ffmpeg`` command line (and
``mpcenc``), with the tag layouts, rates, channel counts and encoder
settings found in the wild; the references are decoded without Spectroview
(see :mod:`tests.audio.media`).

Random access is held to a tolerance per decoder, measured:

- ``exact``: equal to the straight decode (MP3, Vorbis, FLAC, ALAC,
  WavPack, TTA, WMA, Musepack, PCM, and AAC without noise substitution);
- ``float``: Opus, whose decoder state decays rather than ends: equal to
  float32 rounding (1e-6) after the 1 s preroll;
- ``lsb``: MPEG layer II, whose fixed-point synthesis keeps a dither state:
  within one 16-bit step;
- ``noise``: decoders that draw noise from a generator running for the
  whole stream (AAC's perceptual noise substitution, AC-3's dither, Speex):
  no seek can repeat an uninterrupted decode, so reads follow the canonical
  chunked decode (identical for every read order) and match the straight
  decode's spectrum, not its noise waveform.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from spectroview.audio.files import AUDIO_EXTENSIONS, FileSource
from tests.audio.media import (
    MPCENC,
    cli_decode,
    lavfi_tones,
    make,
    need_ffmpeg,
    peak_frequency,
    random_ranges,
    straight_decode,
)

TOLERANCE = {"exact": 0.0, "float": 1e-6, "lsb": 2.0 / 32768.0}


@dataclass(frozen=True)
class Case:
    name: str
    ext: str
    codec: tuple[str, ...]
    sr: int = 44100
    channels: int = 2
    tone: float = 1000.0
    access: str = "exact"  # exact | float | lsb | noise
    decoder: str = "FFmpeg"
    codec_words: str = ""  # in AudioInfo.codec
    seconds: float = 4.0
    frame: int = 1152  # one codec frame: the tolerance on the length against the ffmpeg command line
    post: str = ""  # a change to the bytes after encoding, see _post
    extra_input: tuple[str, ...] = field(default_factory=tuple)
    gate: str = ""  # a gain expression of t gating the tone into bursts: transients (Vorbis switches block sizes)


MP3 = ("-c:a", "libmp3lame")
CASES = [
    # MP3: CBR and VBR, with and without the Xing/LAME tag, MPEG-1/2/2.5 rates, tags of every kind.
    Case("mp3_cbr128_stereo", ".mp3", (*MP3, "-b:a", "128k"), codec_words="MP3"),
    Case("mp3_cbr32_mono_22k", ".mp3", (*MP3, "-b:a", "32k"), sr=22050, channels=1, tone=440.0),
    Case("mp3_cbr48_mono", ".mp3", (*MP3, "-b:a", "48k"), channels=1, tone=2500.0),
    Case("mp3_vbr_q4", ".mp3", (*MP3, "-q:a", "4"), tone=3000.0),
    Case("mp3_vbr_q9", ".mp3", (*MP3, "-q:a", "9"), tone=700.0),
    Case("mp3_vbr_no_xing", ".mp3", (*MP3, "-q:a", "5", "-write_xing", "0"), tone=1500.0),
    Case("mp3_cbr_no_xing_48k", ".mp3", (*MP3, "-b:a", "160k", "-write_xing", "0"), sr=48000),
    Case("mp3_mpeg2_16k", ".mp3", (*MP3, "-b:a", "24k"), sr=16000, channels=1, tone=800.0, frame=576),
    Case("mp3_mpeg25_8k_8kbps", ".mp3", (*MP3, "-b:a", "8k"), sr=8000, channels=1, tone=600.0, frame=576),
    Case("mp3_id3v23", ".mp3", (*MP3, "-b:a", "96k", "-id3v2_version", "3", "-metadata", "title=Drei")),
    Case("mp3_id3v24_id3v1", ".mp3", (*MP3, "-b:a", "96k", "-write_id3v1", "1", "-metadata", "artist=Vier")),
    Case("mp3_id3v22", ".mp3", (*MP3, "-b:a", "96k", "-id3v2_version", "0"), post="id3v22"),
    Case("mp3_apev2", ".mp3", (*MP3, "-b:a", "96k"), post="apev2"),
    Case(
        "mp3_cover_art",
        ".mp3",
        (*MP3, "-b:a", "128k", "-c:v", "mjpeg", "-frames:v", "1", "-disposition:v", "attached_pic"),
        extra_input=("-f", "lavfi", "-i", "color=c=red:s=64x64:d=1"),
    ),
    # AAC and ALAC in MP4; raw ADTS.
    Case("aac_m4a_no_pns", ".m4a", ("-c:a", "aac", "-aac_pns", "0", "-b:a", "128k"), frame=1024, codec_words="AAC"),
    Case("aac_m4a_48k_mono_no_pns", ".m4a", ("-c:a", "aac", "-aac_pns", "0"), sr=48000, channels=1, frame=1024),
    Case("aac_m4a_pns", ".m4a", ("-c:a", "aac", "-b:a", "64k"), frame=1024, access="noise"),
    Case("aac_adts_no_pns", ".aac", ("-c:a", "aac", "-aac_pns", "0"), frame=1024, tone=5000.0),
    Case(
        "alac_m4a",
        ".m4a",
        (
            "-c:a",
            "alac",
        ),
        frame=4096,
        codec_words="ALAC",
    ),
    # Ogg and Matroska.
    Case(
        "opus_ogg", ".opus", ("-c:a", "libopus", "-b:a", "64k"), sr=48000, access="float", frame=960, codec_words="Opus"
    ),
    Case("opus_webm_mono", ".webm", ("-c:a", "libopus"), sr=48000, channels=1, access="float", frame=960),
    Case("vorbis_ogg", ".ogg", ("-c:a", "libvorbis", "-q:a", "3"), frame=2048, codec_words="Vorbis"),
    # Transients: long and short blocks alternate, and the Ogg demuxer's packet timestamps
    # go wrong at each switch (the decoder's output does not).
    Case(
        "vorbis_ogg_bursts",
        ".ogg",
        ("-c:a", "libvorbis"),
        sr=22050,
        channels=1,
        gate="lt(mod(t,0.25),0.02)",
        frame=2048,
    ),
    # Mostly short blocks: the median packet is short, and a timestamp 448 samples off (> 10 ms) for one packet.
    Case(
        "vorbis_ogg_clicks_44k",
        ".ogg",
        ("-c:a", "libvorbis", "-q:a", "-1"),
        channels=1,
        tone=800.0,
        gate="lt(mod(t,0.1),0.02)",
        frame=2048,
    ),
    Case("vorbis_ogg_8k_mono", ".oga", ("-c:a", "libvorbis"), sr=8000, channels=1, tone=500.0, frame=2048),
    Case("vorbis_mka", ".mka", ("-c:a", "libvorbis"), frame=2048),
    Case("speex_ogg", ".spx", ("-c:a", "libspeex"), sr=16000, channels=1, tone=440.0, access="noise", frame=640),
    # Windows Media, WavPack, TTA, AC-3, MPEG layer II.
    Case("wma_v2", ".wma", ("-c:a", "wmav2", "-b:a", "128k"), frame=2048, codec_words="Windows Media Audio"),
    Case("wavpack", ".wv", ("-c:a", "wavpack"), frame=0, codec_words="WavPack"),
    Case("tta", ".tta", ("-c:a", "tta"), frame=0, codec_words="TTA"),
    Case("ac3", ".ac3", ("-c:a", "ac3"), sr=48000, access="noise", frame=1536, codec_words="ATSC A/52A"),
    Case("eac3", ".eac3", ("-c:a", "eac3"), sr=48000, access="noise", frame=1536),
    Case("mp2", ".mp2", ("-c:a", "mp2", "-b:a", "192k"), access="lsb", codec_words="MP2"),
    # Video files: their audio stream.
    Case(
        "video_mp4",
        ".mp4",
        ("-c:v", "mpeg4", "-c:a", "aac", "-aac_pns", "0", "-shortest"),
        extra_input=("-f", "lavfi", "-i", "testsrc=s=160x120:r=25:d=4"),
        frame=1024,
    ),
    Case(
        "video_mkv_vorbis",
        ".mkv",
        ("-c:v", "mpeg4", "-c:a", "libvorbis", "-shortest"),
        extra_input=("-f", "lavfi", "-i", "testsrc=s=160x120:r=25:d=4"),
        frame=2048,
    ),
    # FLAC and PCM containers: libsndfile.
    Case(
        "flac_16",
        ".flac",
        (
            "-c:a",
            "flac",
        ),
        frame=0,
        decoder="libsndfile",
        codec_words="FLAC",
    ),
    Case(
        "flac_24_mono_96k",
        ".flac",
        ("-c:a", "flac", "-sample_fmt", "s32"),
        sr=96000,
        channels=1,
        frame=0,
        decoder="libsndfile",
    ),
    Case(
        "aiff_16",
        ".aiff",
        (
            "-c:a",
            "pcm_s16be",
        ),
        frame=0,
        decoder="libsndfile",
    ),
    Case(
        "caf_24",
        ".caf",
        (
            "-c:a",
            "pcm_s24le",
        ),
        frame=0,
        decoder="libsndfile",
    ),
    Case(
        "w64_16",
        ".w64",
        (
            "-c:a",
            "pcm_s16le",
        ),
        frame=0,
        decoder="libsndfile",
    ),
    Case(
        "wav_u8",
        ".wav",
        (
            "-c:a",
            "pcm_u8",
        ),
        sr=8000,
        channels=1,
        tone=300.0,
        frame=0,
        decoder="libsndfile",
    ),
    Case(
        "wav_16",
        ".wav",
        (
            "-c:a",
            "pcm_s16le",
        ),
        frame=0,
        decoder="libsndfile",
    ),
    Case(
        "wav_24_6ch_extensible",
        ".wav",
        (
            "-c:a",
            "pcm_s24le",
        ),
        channels=6,
        frame=0,
        decoder="libsndfile",
    ),
    Case(
        "wav_32",
        ".wav",
        (
            "-c:a",
            "pcm_s32le",
        ),
        sr=48000,
        frame=0,
        decoder="libsndfile",
    ),
    Case(
        "wav_float",
        ".wav",
        (
            "-c:a",
            "pcm_f32le",
        ),
        sr=96000,
        frame=0,
        decoder="libsndfile",
    ),
    Case(
        "wav_double",
        ".wav",
        (
            "-c:a",
            "pcm_f64le",
        ),
        frame=0,
        decoder="libsndfile",
    ),
    # WAV holding a codec libsndfile does not read: FFmpeg takes over.
    Case(
        "wav_ima_adpcm_via_ffmpeg",
        ".wav",
        (
            "-c:a",
            "adpcm_ima_wav",
        ),
        sr=22050,
        channels=1,
        frame=0,
    ),
]


def _id3v22(title: str) -> bytes:
    """An ID3v2.2 tag (three-letter frame ids, FFmpeg cannot write them) with one TT2 frame."""
    text = b"\x00" + title.encode("latin-1")
    frame = b"TT2" + len(text).to_bytes(3, "big") + text
    body = frame + bytes(64)  # and some padding, as taggers leave
    size = len(body)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x02\x00\x00" + syncsafe + body


def _apev2(items: dict[str, str]) -> bytes:
    """An APEv2 tag with header and footer, as foobar2000 and mp3gain append them."""
    body = b"".join(
        struct.pack("<II", len(v.encode()), 0) + k.encode() + b"\x00" + v.encode() for k, v in items.items()
    )
    size = len(body) + 32

    def block(flags: int) -> bytes:
        return b"APETAGEX" + struct.pack("<IIII", 2000, size, len(items), flags) + bytes(8)

    return block(0xA0000000) + body + block(0x80000000)


def _post(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "id3v22":
        path.write_bytes(_id3v22("Zwei") + data)
    elif how == "apev2":
        path.write_bytes(data + _apev2({"Title": "Ape", "REPLAYGAIN_TRACK_GAIN": "-3.1 dB"}))
    elif how == "xing_half":
        # A Xing tag whose frame count is half the truth (a cut file whose tag
        # was not rewritten): the length must come from what decodes.
        at = max(data.find(b"Xing"), data.find(b"Info"))
        assert at > 0, "no Xing/Info tag"
        flags = struct.unpack(">I", data[at + 4 : at + 8])[0]
        assert flags & 1, "Xing tag without a frame count"
        frames = struct.unpack(">I", data[at + 8 : at + 12])[0]
        path.write_bytes(data[: at + 8] + struct.pack(">I", frames // 2) + data[at + 12 :])
    else:
        raise AssertionError(how)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    need_ffmpeg()
    d = tmp_path_factory.mktemp("formats")
    out: dict[str, Path] = {}
    for case in CASES:
        source = lavfi_tones([case.tone], sr=case.sr, seconds=case.seconds, channels=case.channels, noise=0.02)
        if case.gate:
            source = [*source[:-1], f"asetnsamples=64,{source[-1]},volume='{case.gate}':eval=frame"]
        path = d / f"{case.name}{case.ext}"
        if case.extra_input:
            # A picture or a video beside the tone: the filter graph's output
            # is mapped by its label, the extra input by its index.
            extra = source.count("-i")
            source = [*source[:-1], source[-1] + "[a]", *case.extra_input, "-map", "[a]", "-map", f"{extra}:v"]
        make(path, source, "-ar", str(case.sr), *case.codec)
        if case.post:
            _post(path, case.post)
        out[case.name] = path
    return out


def test_cases_use_the_extensions_the_dialogs_offer() -> None:
    for case in CASES:
        assert case.ext in AUDIO_EXTENSIONS, case.ext


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_opens_with_true_length_and_tone_at_its_row(made: dict[str, Path], case: Case) -> None:
    path = made[case.name]
    ref, _ = straight_decode(path)
    with FileSource(path) as source:
        info = source.info
        assert info.decoder.startswith(case.decoder), info.decoder
        assert (info.samplerate, info.channels) == (case.sr, case.channels)
        assert case.codec_words in info.codec, info.codec
        assert info.bit_rate and info.bit_rate > 0
        assert info.sample_format
        assert not info.warnings, info.warnings
        # The length is what decodes: the same decoder's straight decode exactly,
        # the ffmpeg command line (another FFmpeg) within one codec frame.
        assert info.frames == ref.shape[0]
        cli = cli_decode(path, channels=case.channels)
        assert abs(info.frames - cli.shape[0]) <= case.frame, (info.frames, cli.shape[0])
        assert abs(info.duration - case.seconds) < 0.15
        middle = source.read(info.frames // 2 - 8192, info.frames // 2 + 8192)
    assert abs(peak_frequency(middle, case.sr) - case.tone) < 0.005 * case.tone + 1.0


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_random_reads_equal_the_straight_decode(made: dict[str, Path], case: Case) -> None:
    path = made[case.name]
    ref, _ = straight_decode(path)
    with FileSource(path) as source:
        n = source.info.frames
        ranges = random_ranges(n, 50, seed=zlib.crc32(case.name.encode()))
        got = [(a, b, source.read_frames(a, b)) for a, b in ranges]
        # Sequential blocks, after all that seeking: the canonical decode, front to back.
        sequential = np.concatenate([source.read_frames(a, min(n, a + 7919)) for a in range(0, n, 7919)])
        again = [source.read_frames(a, b) for a, b, _ in got[::-1]]
    assert sequential.shape == ref.shape
    for (a, b, data), repeat in zip(got, again[::-1], strict=True):
        # Whatever the order, the same samples read the same.
        np.testing.assert_array_equal(repeat, data, err_msg=f"[{a}, {b}) read twice")
        np.testing.assert_array_equal(data, sequential[a:b], err_msg=f"[{a}, {b}) vs the sequential read")
    if case.access == "noise":
        _assert_same_spectrum(sequential, ref, case.sr)
        return
    tolerance = TOLERANCE[case.access]
    worst = max(float(np.abs(data - ref[a:b]).max()) if b > a else 0.0 for a, b, data in got)
    assert worst <= tolerance, f"max |read - straight decode| = {worst:g} > {tolerance:g}"
    assert float(np.abs(sequential - ref).max()) <= tolerance


def _assert_same_spectrum(got: np.ndarray, ref: np.ndarray, sr: int) -> None:
    """Noise-substituting decoders: the same spectrum (band levels within 1.5 dB), frame by frame."""
    from spectroview.dsp import SpectrogramParams, spectrogram

    params = SpectrogramParams(sr=sr, n_fft=1024, scale="mel", n_mels=32)
    a = spectrogram(got.mean(axis=1), params)
    b = spectrogram(ref.mean(axis=1), params)
    loud = b > b.max() * 1e-4  # bands well above the codec's floor
    diff = 10 * np.log10(a[loud] / b[loud])
    assert np.median(np.abs(diff)) < 1.5, np.median(np.abs(diff))
    tone_row = np.argmax(b.mean(axis=1))
    sounding = b[tone_row] > b[tone_row].max() * 1e-2
    assert sounding.sum() > 10
    np.testing.assert_allclose(10 * np.log10(a[tone_row, sounding] / b[tone_row, sounding]), 0.0, atol=0.5)


# -- a Xing tag that lies --------------------------------------------------------------------------


def test_mp3_whose_xing_frame_count_is_wrong_loses_nothing(tmp_path: Path) -> None:
    """A Xing tag saying half the frames (a cut file whose tag was not rewritten).

    FFmpeg's demuxer then puts the encoder's end padding mid-stream and its
    decoder cuts 1055 samples out of the middle (the ffmpeg command line and
    a plain PyAV decode both do).  Spectroview keeps the end padding at the
    end only: every sample of the audio is there, in place.
    """
    source = lavfi_tones([1000.0], sr=44100, seconds=4.0, channels=2, noise=0.02)
    good = make(tmp_path / "good.mp3", source, *MP3, "-q:a", "6")
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(good.read_bytes())
    _post(bad, "xing_half")
    truth, _ = straight_decode(good)
    with FileSource(bad) as source_bad:
        n = source_bad.info.frames
        # Everything the correct file holds, then the encoder's padding (at most one frame).
        assert truth.shape[0] <= n <= truth.shape[0] + 1152
        np.testing.assert_array_equal(source_bad.read_frames(0, truth.shape[0]), truth)
        for a, b in random_ranges(truth.shape[0], 30, seed=3):
            np.testing.assert_array_equal(source_bad.read_frames(a, b), truth[a:b])
    # The libraries' own straight decode of the bad file misses a piece in the middle.
    lossy, _ = straight_decode(bad)
    assert lossy.shape[0] < n and not np.array_equal(lossy[88200:90000], truth[88200:90000])


# -- Musepack (mpcenc) ---------------------------------------------------------------------------


def test_musepack_opens_and_reads_exactly(tmp_path: Path) -> None:
    if MPCENC is None:
        pytest.skip("mpcenc (musepack-tools) is not installed; make test installs it as root")
    import subprocess

    wav = make(tmp_path / "src.wav", lavfi_tones([1200.0], sr=44100, seconds=3, channels=2), "-c:a", "pcm_s16le")
    mpc = tmp_path / "tone.mpc"
    subprocess.run([MPCENC, "--quality", "5", str(wav), str(mpc)], capture_output=True, check=True, timeout=60)
    ref, _ = straight_decode(mpc)
    with FileSource(mpc) as source:
        assert "Musepack" in source.info.codec
        assert source.info.frames == ref.shape[0]
        for a, b in random_ranges(source.info.frames, 30, seed=5):
            np.testing.assert_array_equal(source.read_frames(a, b), ref[a:b])
        middle = source.read(60000, 76384)
    assert abs(peak_frequency(middle, 44100) - 1200.0) < 7.0


def test_noise_substituting_decoder_without_copyable_parameters_still_reads_reproducibly(made: dict[str, Path]) -> None:
    """When a decoder cannot be rebuilt from copied parameters, each chunk gets a container's fresh decoder.

    (A flush would not do: it leaves AAC's noise generator where the last
    read left it, and the same samples would read differently each time.)
    """
    path = made["aac_m4a_pns"]
    with FileSource(path) as normal:
        n = normal.info.frames
        want = normal.read_frames(0, n)
    with FileSource(path) as source:
        decoder = source._backend._decoder  # type: ignore[union-attr]
        assert decoder.scan.chunk > 0
        decoder.scan.fresh_copies = False  # the scan is shared: restored below
        try:
            ranges = random_ranges(n, 20, seed=11)
            for a, b in ranges + ranges[::-1]:
                np.testing.assert_array_equal(source.read_frames(a, b), want[a:b], err_msg=f"[{a}, {b})")
        finally:
            decoder.scan.fresh_copies = True


# -- DSD (DSF), written by hand: no encoder makes it --------------------------------------------


def _dsf(path: Path, freq: float, seconds: float, *, channels: int = 2) -> Path:
    """A DSF file (Sony's DSD stream file, version 1): 2.8224 MHz 1-bit, first-order sigma-delta."""
    rate = 2_822_400
    n = int(rate * seconds)
    x = 0.5 * np.sin(2 * np.pi * freq * np.arange(n) / rate)
    bits = np.empty(n, np.uint8)
    acc = 0.0
    for t, v in enumerate(x.tolist()):  # first-order modulator: the integrator chases the signal
        bit = 1 if acc >= 0 else 0
        bits[t] = bit
        acc += v - (1.0 if bit else -1.0)
    block = 4096  # bytes per channel per block
    per_channel = np.packbits(bits, bitorder="little")
    padded = np.zeros(-(-per_channel.size // block) * block, np.uint8)
    padded[: per_channel.size] = per_channel
    blocks = padded.reshape(-1, block)
    data = np.concatenate([np.concatenate([b] * channels) for b in blocks]).tobytes()
    fmt = struct.pack("<4sQIIIIIIQII", b"fmt ", 52, 1, 0, 2 if channels == 2 else 1, channels, rate, 1, n, block, 0)
    body = fmt + struct.pack("<4sQ", b"data", 12 + len(data)) + data
    path.write_bytes(struct.pack("<4sQQQ", b"DSD ", 28, 28 + len(body), 0) + body)
    return path


def test_dsd_stream_file_opens_with_its_tone(tmp_path: Path) -> None:
    path = _dsf(tmp_path / "tone.dsf", 1000.0, 0.25)
    ref, sr = straight_decode(path)
    with FileSource(path) as source:
        info = source.info
        assert "DSD" in info.codec and info.decoder.startswith("FFmpeg")
        assert info.samplerate == sr == 2_822_400 // 8  # FFmpeg's DSD-to-PCM rate
        assert info.frames == ref.shape[0] and abs(info.duration - 0.25) < 0.02
        middle = source.read(info.frames // 4, 3 * info.frames // 4)
        for a, b in random_ranges(info.frames, 20, seed=2):
            got = source.read_frames(a, b)
            np.testing.assert_array_equal(got, source.read_frames(a, b))  # the same, read again
            np.testing.assert_allclose(got, ref[a:b], atol=1e-6)
    assert abs(peak_frequency(middle, sr) - 1000.0) < 10.0


# -- FLAC with a variable block size, written by hand (the ffmpeg and flac encoders use fixed ones) --


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _utf8_number(n: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame's first sample number (up to 36 bits)."""
    if n < 0x80:
        return bytes([n])
    for length, first_bits in ((2, 5), (3, 4), (4, 3), (5, 2), (6, 1), (7, 0)):
        if n < 1 << (first_bits + 6 * (length - 1)):
            out = [0x80 | ((n >> (6 * i)) & 0x3F) for i in range(length - 1)][::-1]
            lead = ((0xFF << (8 - length)) & 0xFF) | (n >> (6 * (length - 1)))
            return bytes([lead, *out])
    raise ValueError(n)


def _flac_variable(path: Path, samples: np.ndarray, sr: int, block_sizes: list[int]) -> Path:
    """Mono 16-bit FLAC, VERBATIM subframes, blocking strategy "variable" (frames numbered by sample)."""
    assert sum(block_sizes) == samples.size
    streaminfo = struct.pack(">HH", min(block_sizes), max(block_sizes)) + bytes(6)  # frame sizes unknown
    packed = (sr << 44) | (0 << 41) | (15 << 36) | samples.size  # rate, channels-1, bps-1, total samples
    streaminfo += packed.to_bytes(8, "big") + bytes(16)  # no MD5
    out = bytearray(b"fLaC" + bytes([0x80, 0, 0, len(streaminfo)]) + streaminfo)
    start = 0
    for size in block_sizes:
        header = bytes([0xFF, 0xF9, 0x70, 0x08])  # variable; size: 16 bits at end; rate, 1 ch, 16 bit from STREAMINFO
        header += _utf8_number(start) + (size - 1).to_bytes(2, "big")
        header += bytes([_crc8(header)])
        body = bytes([0x02]) + samples[start : start + size].astype(">i2").tobytes()  # VERBATIM subframe
        frame = header + body
        out += frame + _crc16(frame).to_bytes(2, "big")
        start += size
    path.write_bytes(bytes(out))
    return path


def test_flac_with_variable_block_size_reads_exactly(tmp_path: Path) -> None:
    sr = 16000
    rng = np.random.default_rng(4)
    t = np.arange(3 * sr) / sr
    y = np.round(8000 * np.sin(2 * np.pi * 440 * t) + 500 * rng.standard_normal(t.size)).astype(np.int16)
    sizes = []
    left = y.size
    while left:
        size = min(left, int(rng.choice([192, 576, 1152, 2304, 4096, 4608])))
        sizes.append(size)
        left -= size
    path = _flac_variable(tmp_path / "variable.flac", y, sr, sizes)
    want = y.astype(np.float32) / 32768.0
    with FileSource(path) as source:
        assert source.info.frames == y.size and not source.warnings
        np.testing.assert_array_equal(source.read(), want)
        for a, b in random_ranges(y.size, 40, seed=9):
            np.testing.assert_array_equal(source.read(a, b), want[a:b])
    # And FFmpeg, the other decoder, reads it the same (lossless).
    ref, _ = straight_decode(path)
    np.testing.assert_array_equal(ref[:, 0], want)


# -- every extension offered opens --------------------------------------------------------------

#: ffmpeg arguments to write a file with each ending (its default codec otherwise).
_RECIPES: dict[str, tuple[str, ...]] = {
    ".wave": ("-f", "wav"),
    ".bwf": ("-f", "wav"),
    ".rf64": ("-f", "wav", "-rf64", "always"),
    ".snd": ("-f", "au"),
    ".alac": ("-c:a", "alac", "-f", "ipod"),
    ".dts": ("-c:a", "dca", "-strict", "-2", "-ar", "48000"),
    ".weba": ("-f", "webm", "-c:a", "libopus"),
    ".gsm": ("-ar", "8000", "-ac", "1"),
    ".3gp": ("-c:a", "aac", "-f", "3gp"),
    ".3g2": ("-c:a", "aac", "-f", "3g2"),
    ".voc": ("-ar", "22050"),
    ".ra": ("-ar", "48000"),
}
#: Made by their own tests above (mpcenc; a DSF written by hand).
_MADE_ELSEWHERE = {".mpc", ".dsf"}
#: FFmpeg reads them; nothing here can write one (no encoder for Monkey's
#: Audio, DSDIFF or AMR in Debian's FFmpeg).
_NOT_MADE_HERE = {".ape", ".dff", ".amr", ".3ga"}


@pytest.mark.parametrize("ext", [e for e in AUDIO_EXTENSIONS if e not in _MADE_ELSEWHERE | _NOT_MADE_HERE])
def test_every_offered_extension_opens_a_file_of_that_kind(tmp_path: Path, ext: str) -> None:
    need_ffmpeg()
    source = ["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100:duration=2"]
    path = make(tmp_path / f"tone{ext}", source, *_RECIPES.get(ext, ("-ac", "2")))
    with FileSource(path) as opened:
        info = opened.info
        middle = opened.read(info.frames // 4, info.frames // 4 + info.samplerate // 2)
    assert abs(info.duration - 2.0) < 0.1
    assert abs(peak_frequency(middle, info.samplerate) - 1000.0) < 15.0


def test_unverifiable_extensions_are_few_and_known() -> None:
    assert _NOT_MADE_HERE <= set(AUDIO_EXTENSIONS) and len(_NOT_MADE_HERE) <= 4


def test_preview_reads_may_differ_in_invented_noise_only_and_leave_exact_reads_exact(made: dict[str, Path]) -> None:
    """``exact=False`` (the overview's preview) starts a noise-substituting decoder nearer the read."""
    path = made["aac_m4a_pns"]
    with FileSource(path) as source:
        n = source.info.frames
        exact = source.read(0, n)
        for a, b in random_ranges(n, 20, seed=21):
            quick = source.read(a, b, exact=False)
            assert quick.shape == (b - a,)
            # Then an exact read of the same samples is the canonical one (the preview left no state).
            np.testing.assert_array_equal(source.read(a, b), exact[a:b])
        # The preview's signal is the file's: same level, same tone, other noise.
        quick = source.read(n // 2 - 8192, n // 2 + 8192, exact=False)
        mine = exact[n // 2 - 8192 : n // 2 + 8192]
        assert abs(20 * np.log10(np.std(quick) / np.std(mine))) < 0.5
        assert abs(peak_frequency(quick, 44100) - peak_frequency(mine, 44100)) < 1.0
    with FileSource(made["mp3_cbr128_stereo"]) as mp3:  # exact decoders: the very same samples
        np.testing.assert_array_equal(mp3.read(5000, 9000, exact=False), mp3.read(5000, 9000))
