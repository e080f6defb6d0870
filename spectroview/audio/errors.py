"""Errors of the audio layer."""


class AudioError(Exception):
    """Base error of the audio layer: its message is one line a user can read."""
