"""Test-wide settings: Qt renders offscreen unless a test starts Xvfb itself."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
