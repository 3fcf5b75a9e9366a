"""Test-wide settings: Qt runs offscreen unless a real display is asked for (GL tests)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
