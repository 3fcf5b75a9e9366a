"""GUI benchmarks (standalone: ``python benchmarks/bench_gui.py``), offscreen Qt.

(a) Start-up: wall time from launching a fresh Python process to a usable main window with the
    sample project (``sample_surveys/trafford/trafford.gdesk``) open and its first map drawn.
    Target < 2 s.  Baseline in the same run: a bare process that only creates a QApplication
    (``python -c "import PySide6.QtWidgets; QApplication([])"``).  Median of 3 runs each.
(b) Attribute table of 1,000,000 rows (synthetic points, 5 columns): model creation + first
    paint of the table widget (target < 1 s), then scroll steps (jump to a random row and
    repaint; median and worst over 50 steps), and a sort by a float column.

Figures are printed; nothing here asserts a time (speed targets live in benchmarks, not tests).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_surveys" / "trafford" / "trafford.gdesk"

_CHILD = r"""
import sys, time
from gis_desk.qt.app import create_application
app = create_application()
from gis_desk.qt.main_window import MainWindow
from gis_desk.session import Session
w = MainWindow(Session())
w.resize(1600, 1000)
w.show()
if sys.argv[1]:
    w.open_project(sys.argv[1], ask_to_save=False)
deadline = time.perf_counter() + 30
app.processEvents()
while (w.canvas.is_rendering or not w.isVisible()) and time.perf_counter() < deadline:
    app.processEvents()
    time.sleep(0.002)
print("READY", len(w.session.project.layers), flush=True)
w.session.project.mark_dirty(False)
"""

_BARE = "import PySide6.QtWidgets as w; w.QApplication([]); print('READY', flush=True)"


def _time_process(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    for line in proc.stdout:
        if line.startswith("READY"):
            elapsed = time.perf_counter() - start
            break
    else:
        raise RuntimeError(f"{args[:2]} never became ready")
    proc.wait(60)
    return elapsed


def bench_startup(runs: int = 3) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GIS_DESK_CONFIG_DIR=tempfile.mkdtemp(prefix="gdbench"))
    project = str(SAMPLE) if SAMPLE.exists() else ""
    bare = statistics.median(_time_process(["-c", _BARE], env) for _ in range(runs))
    app = statistics.median(_time_process(["-c", _CHILD, project], env) for _ in range(runs))
    what = SAMPLE.relative_to(REPO) if project else "an empty project (sample not found)"
    print(f"(a) start to usable window with {what}: {app * 1000:.0f} ms (target < 2000 ms)")
    print(f"    baseline, bare QApplication process: {bare * 1000:.0f} ms; ratio {app / bare:.1f}x")


def bench_attribute_table(n: int = 1_000_000) -> None:
    import geopandas as gpd
    import numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from gis_desk.core.datasets import DataSource, VectorDataset
    from gis_desk.core.layer import VectorLayer
    from gis_desk.qt.widgets.attribute_table import AttributeTable

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    frame = gpd.GeoDataFrame(
        {"uprn": np.arange(10_000_000, 10_000_000 + n), "value": rng.normal(100, 15, n),
         "ward": rng.choice(np.array(["Altrincham", "Sale", "Stretford", "Urmston", "Partington"], dtype=object), n),
         "rating": rng.integers(1, 6, n), "area_m2": rng.uniform(10, 5000, n)},
        geometry=gpd.points_from_xy(rng.uniform(370000, 385000, n), rng.uniform(385000, 400000, n)),
        crs="EPSG:27700")
    layer = VectorLayer(VectorDataset(DataSource("synthetic.gpkg"), frame))

    start = time.perf_counter()
    table = AttributeTable(layer)
    table.resize(1200, 500)
    table.show()
    table.grab()  # forces layout and a full paint of the visible cells
    app.processEvents()
    open_ms = (time.perf_counter() - start) * 1000
    print(f"(b) attribute table, {n:,} rows: model + first paint {open_ms:.0f} ms (target < 1000 ms)")

    view = table.view
    steps = []
    for row in rng.integers(0, n, 50):
        t = time.perf_counter()
        view.scrollTo(table.model.index(int(row), 0))
        view.viewport().repaint()
        app.processEvents()
        steps.append((time.perf_counter() - t) * 1000)
    print(f"    scroll step (jump + repaint): median {statistics.median(steps):.1f} ms, worst {max(steps):.1f} ms")

    t = time.perf_counter()
    table.model.sort(1, Qt.SortOrder.DescendingOrder)
    view.viewport().repaint()
    print(f"    sort by a float column: {(time.perf_counter() - t) * 1000:.0f} ms")
    t = time.perf_counter()
    table.model.set_filter("rating >= 4")
    view.viewport().repaint()
    print(f"    filter 'rating >= 4' ({table.model.rowCount():,} rows): {(time.perf_counter() - t) * 1000:.0f} ms")
    t = time.perf_counter()
    layer.selection = set(range(0, n, 7))
    print(f"    select {len(layer.selection):,} features from the map side and sync the table: "
          f"{(time.perf_counter() - t) * 1000:.0f} ms")
    table.close()


if __name__ == "__main__":
    bench_startup()
    bench_attribute_table()
