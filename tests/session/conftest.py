"""Fixtures of the application-core tests (no Qt)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spectroview.session.scheduler import Scheduler


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    """A scheduler without ``deliver``: results run on the test's thread (``run_pending``, ``wait_idle``)."""
    s = Scheduler()
    try:
        yield s
    finally:
        s.shutdown(wait=True)
