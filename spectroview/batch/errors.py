"""The batch layer's error type (a leaf: the command line imports it without numpy)."""

from __future__ import annotations

__all__ = ["BatchError"]


class BatchError(Exception):
    """A request that cannot apply to a file or a folder (a channel it lacks, too short for the model's frame, clashing outputs)."""
