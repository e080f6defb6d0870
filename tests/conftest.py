"""Test-wide settings and fixtures.

Qt renders offscreen unless a test starts Xvfb itself.  The ``pulse``
fixtures start a private PulseAudio daemon with a null sink (a real audio
loopback) that PortAudio in this process uses; see ``tests/audio/pulse.py``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from tests.audio.pulse import PulseServer, missing_reason

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The viewer's overview cache (platformdirs' user cache folder) goes to a folder of
# this run, never the user's: windows made without a cache of their own use it.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="spectroview-test-cache-")


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A running private PulseAudio daemon that PortAudio in this process uses.

    Skips (with the reason) where the audio stack is not installed; as root
    ``make test`` installs it, so in CI these tests run.
    """
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    try:
        from spectroview.audio import devices

        devices.import_sounddevice()
    except Exception as exc:  # PortAudio missing
        pytest.skip(str(exc))
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    saved = {k: os.environ.get(k) for k in ("PULSE_SERVER", "PULSE_RUNTIME_PATH")}
    os.environ["PULSE_SERVER"] = server.server
    os.environ["PULSE_RUNTIME_PATH"] = str(server.root / "runtime")
    server.start()
    # PortAudio lists devices when it starts; it may have started before the
    # daemon did (another test imported sounddevice), so list them again.
    assert devices.refresh_devices(), "a stream was left open by an earlier test"
    names = [d.name for d in devices.list_devices()]
    if not any(n in ("pulse", "default") for n in names):
        server.kill()
        pytest.skip(f"PortAudio does not see the PulseAudio daemon through ALSA (devices: {names})")
    try:
        yield server
    finally:
        server.kill()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def pulse_running(pulse: PulseServer) -> PulseServer:
    """The daemon, restarted if an earlier test killed it."""
    if pulse.proc is None or pulse.proc.poll() is not None:
        pulse.start()
    return pulse
