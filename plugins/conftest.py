"""Plugin tests run like the app's own: Qt offscreen unless a real display is asked for."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
