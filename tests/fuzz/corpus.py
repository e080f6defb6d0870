"""A seeded corpus of hostile inputs, made at test time from real encoders' files.

:func:`make_corpus` writes, under a folder, real files from the ``ffmpeg``
command line (PCM, float, FLAC, MP3, Vorbis, Opus, AAC, AIFF, WavPack) and
from them, with one ``random.Random(seed)``: random bytes under audio names,
truncations at many offsets, bit flips in headers and in data, absurd header
fields (channels, rates, sizes, block alignment, sample widths), sparse
multi-GB files, a FIFO, a symbolic-link loop, a directory with an audio name,
and odd file names.  The same seed makes the same corpus.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: (name, ffmpeg output options): one second and a half of a tone over noise.
BASES = (
    ("pcm16.wav", ["-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"]),
    ("float.wav", ["-ar", "44100", "-ac", "2", "-c:a", "pcm_f32le"]),
    ("lossless.flac", ["-ar", "22050", "-ac", "1"]),
    ("cbr.mp3", ["-ar", "44100", "-ac", "2", "-b:a", "128k"]),
    ("vorbis.ogg", ["-ar", "22050", "-ac", "1", "-c:a", "libvorbis"]),
    ("speech.opus", ["-ar", "48000", "-ac", "1", "-c:a", "libopus"]),
    ("aac.m4a", ["-ar", "44100", "-ac", "2", "-c:a", "aac", "-b:a", "96k"]),
    ("pcm.aiff", ["-ar", "8000", "-ac", "1"]),
    ("pack.wv", ["-ar", "16000", "-ac", "1", "-c:a", "wavpack"]),
)


@dataclass(frozen=True)
class Case:
    """One hostile input: its path and how it was made (for the failure message)."""

    path: Path
    how: str
    #: True when the input is a real, undamaged file that must render (exit 0).
    valid: bool = False


def _encode(folder: Path) -> dict[str, Path]:
    made = {}
    for name, options in BASES:
        out = folder / name
        proc = subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=440:d=1.5", "-f", "lavfi",
             "-i", "anoisesrc=d=1.5:a=0.05:seed=7", "-filter_complex", "amix=inputs=2", *options, str(out)],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        if proc.returncode == 0 and out.stat().st_size > 0:
            made[name] = out
    return made


def _wav(channels: int, rate: int, bits: int, data_size: int, *, block_align: int | None = None,
         fmt_size: int = 16, riff_size: int | None = None, payload: bytes = b"") -> bytes:  # fmt: skip
    align = channels * bits // 8 if block_align is None else block_align
    byte_rate = (rate * align) & 0xFFFFFFFF
    # The fmt chunk's size field says fmt_size; its body is the 16 bytes (fewer if fmt_size is smaller).
    fmt = struct.pack("<HHIIHH", 1, channels, rate, byte_rate, align & 0xFFFF, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", fmt_size) + fmt[:fmt_size] + b"data" + struct.pack("<I", data_size)
    body += payload
    riff = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", riff & 0xFFFFFFFF) + body


def make_corpus(folder: Path, seed: int) -> list[Case]:
    """Write the corpus under ``folder`` (which must exist); returns its cases, at least 150."""
    rng = random.Random(seed)
    bases_dir = folder / "bases"
    bases_dir.mkdir()
    bases = _encode(bases_dir)
    cases = [Case(p, f"{n}: as encoded", valid=True) for n, p in bases.items()]
    hostile = folder / "hostile"
    hostile.mkdir()

    def put(name: str, data: bytes, how: str) -> None:
        path = hostile / f"{len(cases):03d}-{name}"
        path.write_bytes(data)
        cases.append(Case(path, how))

    # Random bytes under audio names.
    for ext in ("wav", "mp3", "flac", "ogg", "opus", "m4a", "aiff", "wv", "mp4", "wma", "caf", "mka"):
        size = rng.choice([1, 3, 44, 512, 4096, 65536, 300_000])
        put(f"random.{ext}", rng.randbytes(size), f"{size} random bytes")
    # Truncations at many offsets; bit flips in the header and in the data.
    for name, path in bases.items():
        data = path.read_bytes()
        ext = name.rsplit(".", 1)[1]
        offsets = sorted({1, 4, 12, 44, 100, rng.randrange(len(data)), rng.randrange(len(data)), len(data) - 1})
        for cut in offsets:
            if cut < len(data):
                put(f"cut{cut}.{ext}", data[:cut], f"{name} cut to {cut} bytes")
        for region, lo, hi, count in (("header", 0, min(len(data), 256), 3), ("data", len(data) // 4, len(data), 40)):
            for k in range(2):
                flipped = bytearray(data)
                for _ in range(count):
                    i = rng.randrange(lo, hi)
                    flipped[i] ^= 1 << rng.randrange(8)
                put(f"flip-{region}{k}.{ext}", bytes(flipped), f"{name}: {count} bits flipped in the {region}")
        chunk = rng.randrange(len(data) // 2, len(data))
        put(f"zeroed.{ext}", data[: chunk // 2] + bytes(chunk - chunk // 2) + data[chunk:], f"{name}: a run zeroed")
    # Absurd header fields.
    tone = struct.pack("<800h", *[rng.randrange(-3000, 3000) for _ in range(800)])
    absurd = [
        ("channels0", _wav(0, 16000, 16, len(tone), payload=tone)),
        ("channels65535", _wav(65535, 16000, 16, len(tone), payload=tone)),
        ("channels1000", _wav(1000, 16000, 16, len(tone), payload=tone)),
        ("rate0", _wav(1, 0, 16, len(tone), payload=tone)),
        ("rate1", _wav(1, 1, 16, len(tone), payload=tone)),
        ("rate4e9", _wav(1, 4_000_000_000, 16, len(tone), payload=tone)),
        ("bits0", _wav(1, 16000, 0, len(tone), payload=tone)),
        ("bits7", _wav(1, 16000, 7, len(tone), payload=tone)),
        ("bits64", _wav(1, 16000, 64, len(tone), payload=tone)),
        ("align0", _wav(1, 16000, 16, len(tone), block_align=0, payload=tone)),
        ("align65535", _wav(1, 16000, 16, len(tone), block_align=65535, payload=tone)),
        ("datasize-max", _wav(1, 16000, 16, 0xFFFFFFFF, payload=tone)),
        ("datasize0", _wav(1, 16000, 16, 0, payload=tone)),
        ("datasize-odd", _wav(1, 16000, 16, 3, payload=tone)),
        ("fmtsize-huge", _wav(1, 16000, 16, len(tone), fmt_size=0x7FFFFFF0, payload=tone)),
        ("fmtsize2", _wav(1, 16000, 16, len(tone), fmt_size=2, payload=tone)),
        ("riffsize0", _wav(1, 16000, 16, len(tone), riff_size=0, payload=tone)),
        ("riffsize-max", _wav(1, 16000, 16, len(tone), riff_size=0xFFFFFFFF, payload=tone)),
        ("no-data", _wav(1, 16000, 16, 0)[:-8]),
    ]
    for name, data in absurd:
        put(f"{name}.wav", data, f"WAV header: {name}")
    if "pcm.aiff" in bases:
        aiff = bytearray(bases["pcm.aiff"].read_bytes())
        comm = aiff.find(b"COMM")
        for name, offset, value in (("aiff-channels0", 8, b"\x00\x00"), ("aiff-frames-max", 10, b"\xff\xff\xff\xff"),
                                    ("aiff-rate-inf", 16, b"\x7f\xff" + bytes(8))):  # fmt: skip
            if comm >= 0:
                bad = bytearray(aiff)
                bad[comm + offset : comm + offset + len(value)] = value
                put(f"{name}.aiff", bytes(bad), f"AIFF COMM: {name}")
    if "lossless.flac" in bases:
        flac = bytearray(bases["lossless.flac"].read_bytes())
        for name, offset, value in (("flac-rate0", 18, b"\x00\x00\x0f"), ("flac-blocksize0", 8, b"\x00\x00\x00\x00")):
            bad = bytearray(flac)
            bad[offset : offset + len(value)] = value
            put(f"{name}.flac", bytes(bad), f"FLAC STREAMINFO: {name}")
    # Sparse multi-GB files: a short WAV followed by gigabytes of holes; holes, or noise then
    # holes, under audio names.  (Not a header that claims gigabytes of samples: that is a
    # long recording of silence, honestly drawn, in the time its length takes.)
    for name, head, size in (
        ("sparse-tail.wav", _wav(1, 16000, 16, len(tone), payload=tone), 3 << 30),
        ("sparse-zeros.mp3", b"", 4 << 30),
        ("sparse-noise.flac", rng.randbytes(4096), 2 << 30),
    ):
        path = hostile / f"{len(cases):03d}-{name}"
        with open(path, "wb") as f:
            f.write(head)
            f.truncate(size)
        cases.append(Case(path, f"sparse file of {size >> 30} GiB"))
    # Things that are not regular files, and odd names.
    fifo = hostile / f"{len(cases):03d}-fifo.wav"
    os.mkfifo(fifo)
    cases.append(Case(fifo, "a FIFO nobody writes to"))
    loop_a, loop_b = hostile / f"{len(cases):03d}-loop-a.wav", hostile / f"{len(cases):03d}-loop-b.wav"
    loop_a.symlink_to(loop_b.name)
    loop_b.symlink_to(loop_a.name)
    cases.append(Case(loop_a, "a symbolic-link loop"))
    folder_named = hostile / f"{len(cases):03d}-folder.wav"
    folder_named.mkdir()
    cases.append(Case(folder_named, "a directory with an audio name"))
    dangling = hostile / f"{len(cases):03d}-dangling.wav"
    dangling.symlink_to("nowhere.wav")
    cases.append(Case(dangling, "a dangling symbolic link"))
    if "pcm16.wav" in bases:
        good = bases["pcm16.wav"].read_bytes()
        for name in ("-starts-with-dash.wav", "spaces and 'quotes'.wav", "newline\nin-name.wav", "ünïcødé-名前.WAV",
                     "no-extension", "x" * 200 + ".wav", "double.wav.mp3", ".hidden.wav"):  # fmt: skip
            path = hostile / f"{len(cases):03d}{name}"
            path.write_bytes(good)
            cases.append(Case(path, f"a good WAV named {name!r}", valid=True))
        odd = Path(os.fsdecode(bytes(hostile) + b"/" + f"{len(cases):03d}".encode() + b"-bad-utf8-\xff\xfe.wav"))
        odd.write_bytes(good)
        cases.append(Case(odd, "a good WAV whose name is not UTF-8", valid=True))
    return cases


def snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """What is under ``folder``: kind, size and a checksum per entry (FIFOs and holes not read)."""
    import hashlib

    out: dict[str, tuple[str, int, int]] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            st = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file" if path.is_file() else "other"
            digest = 0
            if kind == "file" and st.st_blocks * 512 >= st.st_size // 2:  # not a sparse file
                digest = int(hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest(), 16)
            elif kind == "file":
                with open(path, "rb") as f:
                    digest = int(hashlib.blake2b(f.read(1 << 20), digest_size=8).hexdigest(), 16)
            out[os.fsdecode(path.relative_to(folder))] = (kind, st.st_size, digest)
    return out


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
