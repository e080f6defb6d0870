"""Which file names are audio: a leaf without numpy.

The command line's ``--help`` and ``features DIR``'s scan use these before any
file is decoded; :mod:`spectroview.audio.files` re-exports both names.
"""

from __future__ import annotations

import os

__all__ = ["AUDIO_EXTENSIONS", "is_audio_path"]

#: File name endings (lower case) of the files the Open dialog, drag and drop
#: and ``features DIR`` offer: containers libsndfile or FFmpeg read that carry
#: audio (tests/audio/test_formats.py checks each against both libraries).
AUDIO_EXTENSIONS: tuple[str, ...] = (
    # PCM and lossless, libsndfile first
    ".wav", ".wave", ".bwf", ".rf64", ".w64", ".aif", ".aiff", ".aifc", ".caf", ".au", ".snd", ".flac",
    # compressed audio, FFmpeg
    ".mp3", ".mp2", ".mpa", ".m4a", ".m4b", ".aac", ".adts", ".alac", ".ogg", ".oga", ".opus", ".spx",
    ".wma", ".asf", ".ape", ".wv", ".mpc", ".dsf", ".dff", ".tta", ".ac3", ".eac3", ".dts", ".amr",
    ".3ga", ".mka", ".weba", ".ra", ".voc", ".gsm",
    # video files (their audio stream)
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".m2ts",
    ".mts", ".vob", ".3gp", ".3g2", ".ogv",
)  # fmt: skip


def is_audio_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path``'s name ends in one of :data:`AUDIO_EXTENSIONS` (any case)."""
    return os.path.splitext(os.fspath(path))[1].lower() in AUDIO_EXTENSIONS
