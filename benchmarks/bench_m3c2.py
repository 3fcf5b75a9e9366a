"""M3C2 benchmark against py4dgeo 1.2 (standalone: ``python benchmarks/bench_m3c2.py [--large]``).

Routine case (the field-facts one): a synthetic 60 x 10 m vertical sea wall (x along the wall, z
up, the face at y ~ 0 with 1 cm block relief and 3 mm noise), two independent surveys of
1,000,000 points each; epoch 2 has a 2.0 x 1.5 m spall 4 cm deep and a 2 m wide 1.5 cm bulge.
Core points: every 10th point of epoch 1 (100,000).  Normal and cylinder radius 0.5 m, depth 3 m,
normals oriented towards -y (the sea), registration error 5 mm.

Both implementations run in the same process on the same arrays; times include building their
search structures (py4dgeo: Epoch + KD-tree; ours: column grids).  Ours runs once to warm numba's
cache (the warm-up time is printed), then is timed.  Printed: times, speed-up, share of core
points whose distance agrees within 1 mm, LoD95 agreement, counts agreement, and the recovered
spall and bulge depths.

``--large``: 2 x 5,000,000 points, 500,000 core points; py4dgeo only with ``--with-py4dgeo``
(about 15 minutes on 2 cores).  Results also go to ``benchmarks/out/bench_m3c2.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from gis_desk.analysis.m3c2 import M3C2Params, core_points, m3c2

LENGTH, HEIGHT = 60.0, 10.0
ORIGIN = np.array([331_000.0, 431_000.0, 5.0])  # somewhere on the Lancashire coast, BNG
SPALL = dict(x=(20.0, 22.0), z=(3.0, 4.5), depth=0.04)  # material lost: face moves +y (inland)
BULGE = dict(x=(40.0, 42.0), amp=0.015)  # face moves -y (seaward), smooth in x


def wall(n: int, seed: int, changed: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, LENGTH, n)
    z = rng.uniform(0, HEIGHT, n)
    # Block relief: 1 cm recessed mortar joints every 0.6 m along x and 0.3 m along z.
    joint = ((x % 0.6) < 0.02) | ((z % 0.3) < 0.02)
    y = 0.01 * joint + rng.normal(0, 0.003, n)
    if changed:
        sp = (x >= SPALL["x"][0]) & (x < SPALL["x"][1]) & (z >= SPALL["z"][0]) & (z < SPALL["z"][1])
        y[sp] += SPALL["depth"]
        bx = (x - BULGE["x"][0]) / (BULGE["x"][1] - BULGE["x"][0])
        inside = (bx >= 0) & (bx <= 1)
        y[inside] -= BULGE["amp"] * np.sin(np.pi * bx[inside])
    return np.c_[x, y, z] + ORIGIN


def run_py4dgeo(e1, e2, core, p: M3C2Params):
    import logging

    import py4dgeo

    # py4dgeo appends to ./py4dgeo.log and prints each KD-tree build: warnings only, no file.
    log = logging.getLogger("py4dgeo")
    for handler in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
        log.removeHandler(handler)
    log.setLevel(logging.WARNING)

    t0 = time.perf_counter()
    ep1, ep2 = py4dgeo.Epoch(e1), py4dgeo.Epoch(e2)
    algo = py4dgeo.M3C2(
        epochs=(ep1, ep2), corepoints=core, normal_radii=(p.normal_radius,),
        cyl_radius=p.cylinder_radius, max_distance=p.max_depth,
        registration_error=p.registration_error, robust_aggr=p.use_median,
        orientation_vector=np.asarray(p.normal_orientation, dtype=float),
    )
    d, u = algo.run()
    return time.perf_counter() - t0, d, u, algo.corepoint_normals


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--large", action="store_true", help="2 x 5M points, 500k core points")
    ap.add_argument("--with-py4dgeo", action="store_true", help="also run py4dgeo in --large")
    ap.add_argument("--points", type=int, help="points per epoch (overrides the case)")
    ap.add_argument("--median", action="store_true", help="median/IQR instead of mean/std")
    args = ap.parse_args(argv)

    n = args.points or (5_000_000 if args.large else 1_000_000)
    with_py4dgeo = args.with_py4dgeo or not args.large
    print(f"M3C2 benchmark: 2 x {n:,} points, wall {LENGTH:g} x {HEIGHT:g} m, CPUs: {os.cpu_count()}")
    t0 = time.perf_counter()
    e1 = wall(n, 1, False)
    e2 = wall(n, 2, True)
    core = core_points(e1, "every_nth", n=10)
    print(f"  synthetic clouds: {time.perf_counter() - t0:.1f} s; core points {len(core):,}")
    p = M3C2Params(normal_radius=0.5, cylinder_radius=0.5, max_depth=3.0, registration_error=0.005,
                   use_median=args.median, normal_orientation=(0.0, -1.0, 0.0), min_points=1)

    # Warm-up: compiles or loads the numba kernels (cached on disk after the first run).
    t0 = time.perf_counter()
    m3c2(e1[:20_000], e2[:20_000], core[:500], p)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = m3c2(e1, e2, core, p)
    ours = time.perf_counter() - t0
    print(f"  gis_desk m3c2: {ours:.2f} s (warm-up/compile {warm:.1f} s)")

    out = {"points_per_epoch": n, "core_points": len(core), "gis_desk_s": ours, "warmup_s": warm,
           "median": args.median}
    x = core[:, 0] - ORIGIN[0]
    z = core[:, 2] - ORIGIN[2]
    # Core points whose whole 0.5 m cylinder lies in the spall.
    in_spall = ((x > SPALL["x"][0] + 0.55) & (x < SPALL["x"][1] - 0.55)
                & (z > SPALL["z"][0] + 0.55) & (z < SPALL["z"][1] - 0.55))
    mid_bulge = np.abs(x - 41.0) < 0.05
    stable = (x > 5) & (x < 15)
    sig_stable = float(res.significant[stable].mean())
    print(f"  spall centre: {np.nanmedian(res.distance[in_spall]) * 1000:+.1f} mm "
          f"(truth {-SPALL['depth'] * 1000:+.0f} mm along the seaward normal); "
          f"bulge crest: {np.nanmedian(res.distance[mid_bulge]) * 1000:+.1f} mm "
          f"(truth {BULGE['amp'] * 1000:+.0f} mm); stable wall flagged significant: {sig_stable:.2%}")
    out.update(spall_mm=float(np.nanmedian(res.distance[in_spall]) * 1000),
               bulge_mm=float(np.nanmedian(res.distance[mid_bulge]) * 1000),
               stable_significant_share=sig_stable)

    # C2C on the same clouds (field facts: CloudCompare 2.11 C2C takes 1.6 s for 1M points).
    from gis_desk.analysis.c2c import c2c

    t0 = time.perf_counter()
    near = c2c(e1, e2)
    t_c2c = time.perf_counter() - t0
    t0 = time.perf_counter()
    plane = c2c(e1, e2, local_model="plane", k=6)
    t_c2c_plane = time.perf_counter() - t0
    print(f"  C2C nearest: {t_c2c:.2f} s (median {np.median(near.distance) * 1000:.1f} mm); "
          f"local plane k=6: {t_c2c_plane:.2f} s (median {np.median(plane.distance) * 1000:.1f} mm) "
          "on a stable-mostly wall with 3 mm noise")
    out.update(c2c_s=t_c2c, c2c_plane_s=t_c2c_plane)

    if with_py4dgeo:
        print("  running py4dgeo 1.2 ...", flush=True)
        t_p, d, u, nrm = run_py4dgeo(e1, e2, core, p)
        ok = np.isfinite(d) & np.isfinite(res.distance)
        diff = np.abs(d - res.distance)
        within = float((diff[ok] <= 0.001).mean()) if ok.any() else float("nan")
        lod_diff = np.abs(u["lodetection"] - res.lod95)
        lod_ok = np.isfinite(lod_diff)
        both_defined_same = float((np.isfinite(d) == np.isfinite(res.distance)).mean())
        n1_diff = u["num_samples1"] - res.n1
        n2_same = float((u["num_samples2"] == res.n2).mean())
        normal_dot = np.abs((nrm * res.normals).sum(axis=1))
        sig_same = float(((np.abs(d) > u["lodetection"]) == res.significant)[ok].mean())
        print(f"  py4dgeo:       {t_p:.2f} s")
        print(f"  speed-up:      {t_p / ours:.1f}x")
        print(f"  distance within 1 mm of py4dgeo: {within:.4%} of {ok.sum():,} core points "
              f"(max diff {np.nanmax(diff) * 1000:.3f} mm; defined in both/neither: {both_defined_same:.4%})")
        print(f"  LoD95 within 0.1 mm: {(lod_diff[lod_ok] <= 1e-4).mean():.4%}, "
              f"median |diff| {np.median(lod_diff[lod_ok]) * 1e6:.2f} um; same significance: {sig_same:.4%}")
        print(f"  counts: n2 identical {n2_same:.4%}; n1 - py4dgeo n1 in "
              f"{{{', '.join(f'{v:+d}: {c}' for v, c in zip(*np.unique(-n1_diff, return_counts=True)))}}} "
              "(py4dgeo counts a core point lying on its slab boundary 0 or 2 times)")
        print(f"  normals: min |dot| with py4dgeo's {normal_dot.min():.6f}")
        out.update(py4dgeo_s=t_p, speedup=t_p / ours, within_1mm=within,
                   lod_within_0_1mm=float((lod_diff[lod_ok] <= 1e-4).mean()),
                   same_significance=sig_same, normals_min_abs_dot=float(normal_dot.min()))
    dest = Path(__file__).resolve().parent / "out"
    dest.mkdir(exist_ok=True)
    (dest / "bench_m3c2.json").write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
