"""A private PulseAudio daemon with a null sink: a real loopback for audio tests.

The daemon gets its own runtime directory and socket; ``PULSE_SERVER``
points this process (PortAudio through ALSA's pulse plugin) and the
``paplay``/``pactl`` subprocesses at it.  The null sink's monitor is the
default source, so what is played is what the microphone hears.  Only the
daemon started here is ever stopped, by its own pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

SINK = "spectroview_null"
RATE = 48000

CONFIG = """\
load-module module-native-protocol-unix socket={socket} auth-anonymous=1
load-module module-null-sink sink_name={sink} rate={rate} channels=2 sink_properties=device.description=SpectroviewNull
set-default-sink {sink}
set-default-source {sink}.monitor
"""

TOOLS = ("pulseaudio", "pactl", "paplay")
ALSA_PULSE_PLUGIN_GLOBS = (
    "/usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so",
    "/usr/lib/alsa-lib/libasound_module_pcm_pulse.so",
)


def missing_reason() -> str | None:
    """Why the loopback cannot run here, or None."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f"{', '.join(missing)} not installed (make test installs pulseaudio and pulseaudio-utils as root)"
    if not any(Path("/").glob(g.lstrip("/")) for g in ALSA_PULSE_PLUGIN_GLOBS):
        return "ALSA's pulse plugin is not installed (make test installs libasound2-plugins as root)"
    return None


class PulseServer:
    """One private daemon; :meth:`start`, :meth:`kill` and :meth:`start` again."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "native"
        self.server = f"unix:{self.socket}"
        self.proc: subprocess.Popen[bytes] | None = None
        (root / "runtime").mkdir(parents=True, exist_ok=True)
        self.config = root / "default.pa"
        self.config.write_text(CONFIG.format(socket=self.socket, sink=SINK, rate=RATE))
        self.log = root / "pulseaudio.log"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(PULSE_SERVER=self.server, PULSE_RUNTIME_PATH=str(self.root / "runtime"), HOME=str(self.root))
        return env

    def start(self, timeout: float = 15.0) -> None:
        if self.socket.exists():
            self.socket.unlink()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    "pulseaudio",
                    "-n",
                    "-F",
                    str(self.config),
                    "--daemonize=no",
                    "--exit-idle-time=-1",
                    "--use-pid-file=no",
                    "--disallow-exit",
                    "--log-target=stderr",
                ],
                env=self.env(),
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if self.socket.exists() and self.pactl("info").returncode == 0:
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"pulseaudio did not come up in {timeout} s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL our daemon (a crash, as far as clients can tell) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def pactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pactl", *args], env=self.env(), capture_output=True, text=True, timeout=10)

    def play(self, path: Path) -> subprocess.Popen[bytes]:
        """Start ``paplay`` of a WAV into the null sink; returns the process."""
        return subprocess.Popen(
            ["paplay", f"--device={SINK}", str(path)], env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
