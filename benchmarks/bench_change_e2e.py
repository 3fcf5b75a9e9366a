"""End-to-end epoch comparison benchmark: load, ICP, M3C2, DoD, zone statistics on the bridge survey.

    .venv/bin/python benchmarks/bench_change_e2e.py                      # 2 x 1M points
    .venv/bin/python benchmarks/bench_change_e2e.py --points 5000000     # 2 x 5M points
    .venv/bin/python benchmarks/bench_change_e2e.py --points 20000000 --core-n 20

The bridge sample is regenerated at the requested size by sample_surveys/make_pointcloud_samples.py
(deterministic) into benchmarks/out/pc<N> once and reused.  Prints wall time per stage, the peak
resident memory after each stage (getrusage) and, as a machine baseline measured in the same run,
the time to build a scipy cKDTree on epoch 1: stage times are also given as multiples of it, so
figures from different machines compare.  Peak RSS is the process's: when the sample is generated
in the same run, the generator's peak is in it (run again to measure the comparison alone).  Results go to benchmarks/out/change_e2e_<N>.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def ensure_sample(points: int) -> Path:
    folder = HERE / "out" / f"pc{points}"
    if not (folder / "bridge" / "ground_truth.json").exists():
        sys.path.insert(0, str(ROOT / "sample_surveys"))
        import make_pointcloud_samples

        t = time.perf_counter()
        make_pointcloud_samples.main(["--site", "bridge", "--points", str(points), "--out", str(folder)])
        print(f"generated the {points:,}-point bridge in {time.perf_counter() - t:.1f} s -> {folder}")
    return folder / "bridge"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000, help="points per epoch (default 1,000,000)")
    ap.add_argument("--core-n", type=int, default=10, help="M3C2 core points: every n-th of epoch 1")
    args = ap.parse_args(argv)

    import geopandas as gpd
    from scipy.spatial import cKDTree

    from gis_desk.analysis.change import ComparisonSettings, compare_epochs
    from gis_desk.analysis.m3c2 import M3C2Params
    from gis_desk.io.pointcloud import read_pointcloud

    site = ensure_sample(args.points)
    truth = json.loads((site / "ground_truth.json").read_text())
    rows: list[tuple[str, float, float]] = []

    t = time.perf_counter()
    e1 = read_pointcloud(site / truth["files"]["epoch1"])[0].cloud
    e2 = read_pointcloud(site / truth["files"]["epoch2"])[0].cloud
    rows.append(("load (2 LAZ)", time.perf_counter() - t, peak_mb()))

    t = time.perf_counter()
    cKDTree(e1.xyz)
    baseline = time.perf_counter() - t

    md = truth["m3c2_designed"]
    settings = ComparisonSettings(
        stable_areas=list(gpd.read_file(site / "stable_areas.gpkg").geometry),
        zones=gpd.read_file(site / "zones.gpkg"), core_n=args.core_n,
        m3c2=M3C2Params(normal_radius=md["normal_radius"], cylinder_radius=md["cylinder_radius"],
                        max_depth=md["max_depth"], normal_orientation=("towards", tuple(md["viewpoint_bng"]))))

    class StagePeaks:  # peak RSS when each stage ends (compare_epochs reports stage starts)
        def __init__(self):
            self.peaks: dict[str, float] = {}
            self.current = None

        def on_message(self, level, text):
            if text.startswith("Comparison: "):
                if self.current:
                    self.peaks[self.current] = peak_mb()
                self.current = text.removeprefix("Comparison: ")

    from gis_desk.processing.feedback import Feedback

    peaks = StagePeaks()
    t = time.perf_counter()
    result = compare_epochs(e1, e2, settings, feedback=Feedback(on_message=peaks.on_message))
    total = time.perf_counter() - t
    peaks.peaks[peaks.current] = peak_mb()
    for stage in ("checks", "registration", "m3c2", "dod", "zones", "sections"):
        rows.append((stage, result.timings.get(stage, 0.0), peaks.peaks.get(stage, float("nan"))))

    print(f"\nbridge, {len(e1):,} + {len(e2):,} points, {len(result.m3c2.core):,} core points "
          f"(every {args.core_n}th)")
    print(f"baseline: cKDTree on epoch 1 {baseline:.3f} s")
    print(f"{'stage':<16}{'wall s':>9}{'x baseline':>12}{'peak RSS MB':>14}")
    for name, secs, mb in rows:
        print(f"{name:<16}{secs:>9.2f}{secs / baseline:>12.1f}{mb:>14.0f}")
    print(f"{'compare total':<16}{total:>9.2f}{total / baseline:>12.1f}{peak_mb():>14.0f}")
    s = result.summary()
    print(f"\nflagged zones: {', '.join(s['flagged_zones'])}; significant {s['share_significant']:.1%}; "
          f"median LoD95 {s['median_lod95_m'] * 1000:.1f} mm; registration error {result.registration_error * 1000:.1f} mm")
    import numpy as np

    want = np.asarray(truth["misregistration"]["registration_expected"])
    lo, hi = e2.xyz.min(axis=0), e2.xyz.max(axis=0)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    got = result.registration.matrix
    reg_mm = float(np.linalg.norm((corners @ got[:3, :3].T + got[:3, 3]) - (corners @ want[:3, :3].T + want[:3, 3]),
                                  axis=1).max() * 1000)
    print(f"registration vs the planted misregistration: {reg_mm:.1f} mm at worst over the site; "
          f"{result.registration.method}, RMS {result.registration.rms * 1000:.1f} mm")
    expected = set(truth["zones_expected_flagged"])
    print("flagged as planted: " + ("yes" if set(s["flagged_zones"]) == expected else f"NO (expected {sorted(expected)})"))

    out = HERE / "out" / f"change_e2e_{args.points}.json"
    out.write_text(json.dumps({
        "points": [len(e1), len(e2)], "core_points": int(len(result.m3c2.core)), "baseline_kdtree_s": baseline,
        "stages": [{"stage": n, "wall_s": s_, "peak_rss_mb": m} for n, s_, m in rows],
        "compare_total_s": total, "peak_rss_mb": peak_mb(), "summary": s, "registration_error_vs_truth_mm": reg_mm,
    }, indent=2, default=float))
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
