"""Photo layer benchmark (standalone: ``python benchmarks/bench_photos.py [--photos N]``).

A survey of N (default 2,000) small synthetic DJI JPEGs (96 x 72, full EXIF GPS + drone-dji XMP,
nadir and oblique, in a lawn-mower pattern over Trafford) is written once into
``benchmarks/out/photos_N/``; then, each timed in this run:

(a) ``read_photos(folder)``: the whole layer, end to end (header-only metadata of every file,
    BNG positions, vectorised footprints).  Target < 2 s for 2,000 photos.
(b) The footprint step alone, vectorised (``gis_desk.analysis.footprint.footprints`` for all
    cameras at once) against the BASELINE of the same run: ``camera_footprint`` called once per
    photo (what a non-vectorised reader would do).  Polygons are checked equal.
(c) The same on a DTM (``DtmSampler``, ray-marched): vectorised vs per photo (on 200 photos for
    the baseline, scaled).
(d) Drawing the layer (points, heading ticks, footprints) at 1600 x 1000: first draw (includes
    the per-CRS cache) and a redraw.

Figures are printed (and written to benchmarks/out/bench_photos.json); nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
sys.path.insert(0, str(REPO))

E0, N0 = 377800.0, 393600.0  # south-west corner of the survey (BNG)


def make_survey(folder: Path, n: int) -> Path:
    """N photos along east-west lines 20 m apart, 15 m between shots; every 5th oblique."""
    from gis_desk.core.crs import transform_xy
    from gis_desk.io.photos import write_dji_jpeg

    marker = folder / ".complete"
    if marker.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    per_line = 40
    i = np.arange(n)
    line, k = i // per_line, i % per_line
    x = E0 + np.where(line % 2 == 0, k, per_line - 1 - k) * 15.0
    y = N0 + line * 20.0
    lon, lat = transform_xy("EPSG:27700", "EPSG:4326", x, y)
    rng = np.random.default_rng(7)
    base = rng.integers(60, 200, (72, 96, 3), dtype=np.uint8)
    for j in range(n):
        oblique = j % 5 == 4
        write_dji_jpeg(folder / f"DJI_{j:05d}.JPG", base, lat=float(lat[j]), lon=float(lon[j]),
                       abs_alt=131.0 + rng.normal(0, 0.3), rel_alt=100.0 + rng.normal(0, 0.3),
                       gimbal_yaw=90.0 if line[j] % 2 == 0 else 270.0,
                       gimbal_pitch=-45.0 if oblique else -90.0 + rng.normal(0, 0.5),
                       gimbal_roll=0.0, calibrated_focal_px=96 / 2 / math.tan(math.radians(36.0)),
                       model="L2D-20c", quality=70)
    marker.write_text(str(n))
    return folder


def make_dtm(path: Path) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    if path.exists():
        return path
    cell, size = 2.0, 1200
    cols, rows = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    z = 31.0 + 0.01 * cols * cell + 2.0 * np.sin(rows * cell / 80.0)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32",
                       crs="EPSG:27700", transform=from_origin(E0 - 600, N0 + 1900, cell, cell)) as ds:
        ds.write(z.astype("float32"), 1)
    return path


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=2000)
    args = parser.parse_args(argv)
    n = args.photos
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    folder = make_survey(OUT / f"photos_{n}", n)
    dtm_path = make_dtm(OUT / "photos_dtm.tif")
    print(f"survey of {n} photos ready in {time.perf_counter() - t0:.1f} s ({folder})")

    from gis_desk.analysis.footprint import DtmSampler, camera_footprint, footprints
    from gis_desk.io.photos import read_photos

    results: dict = {"photos": n}
    # (a) the whole layer
    t_read, [ds] = timed(lambda: read_photos(folder), repeat=3)
    placed = int(ds.footprints.notna().sum())
    results["read_photos_s"] = t_read
    print(f"(a) read_photos, {n} photos end to end: {t_read:.3f} s ({n / t_read:,.0f} photos/s), "
          f"{placed} footprints  [target < 2 s: {'met' if t_read < 2 else 'NOT met'}]")

    t_read_dtm, [ds_dtm] = timed(lambda: read_photos(folder, ground=str(dtm_path)), repeat=2)
    results["read_photos_on_dtm_s"] = t_read_dtm
    print(f"(a) read_photos on a DTM (footprints ray-marched on the terrain): {t_read_dtm:.3f} s, "
          f"{int(ds_dtm.footprints.notna().sum())} footprints")

    f = ds.frame
    args8 = [np.asarray(f[c], float) for c in ("camera_z", "yaw", "pitch")]
    x, y = np.asarray(f.geometry.x), np.asarray(f.geometry.y)
    z, yaw, pitch = args8
    hfov, vfov = np.asarray(f["hfov"], float), np.asarray(f["vfov"], float)
    roll = np.zeros(n)

    # (b) flat ground: vectorised vs per photo
    t_vec, fp = timed(lambda: footprints(x, y, z, yaw, pitch, roll, hfov, vfov, ground=0.0), repeat=3)
    t_loop, loop = timed(lambda: [camera_footprint(x[i], y[i], z[i], yaw[i], pitch[i], 0.0, hfov[i], vfov[i])
                                  for i in range(n)])
    same = all(a.equals_exact(b, 1e-6) for a, b in zip(fp.polygons, loop))
    results.update(flat_vectorised_s=t_vec, flat_per_photo_s=t_loop, flat_speedup=t_loop / t_vec)
    print(f"(b) footprints on flat ground: vectorised {t_vec * 1000:.1f} ms, per photo (baseline) "
          f"{t_loop * 1000:.0f} ms -> {t_loop / t_vec:.0f}x faster; identical polygons: {same}")

    # (c) on a DTM
    dtm = DtmSampler(dtm_path)
    footprints(x[:2], y[:2], z[:2] + 31.0, yaw[:2], pitch[:2], roll[:2], hfov[:2], vfov[:2], ground=dtm)  # imports
    t_dvec, fpd = timed(lambda: footprints(x, y, z + 31.0, yaw, pitch, roll, hfov, vfov, ground=dtm), repeat=2)
    m = min(200, n)
    t_dloop, loopd = timed(lambda: [camera_footprint(x[i], y[i], z[i] + 31.0, yaw[i], pitch[i], 0.0, hfov[i], vfov[i],
                                                     ground=dtm) for i in range(m)])
    same_d = all(a.equals_exact(b, 1e-6) for a, b in zip(fpd.polygons[:m], loopd))
    est = t_dloop * n / m
    results.update(dtm_vectorised_s=t_dvec, dtm_per_photo_est_s=est, dtm_speedup=est / t_dvec)
    print(f"(c) footprints on a DTM: vectorised {t_dvec:.3f} s, per photo (baseline, {m} timed, scaled to {n}) "
          f"{est:.2f} s -> {est / t_dvec:.1f}x faster; identical polygons: {same_d}")

    # (d) drawing
    from gis_desk.core.photos import PhotoLayer
    from gis_desk.render.photos import render_photo_layer  # noqa: F401 - registers the renderer
    from gis_desk.render.renderer import render_layer
    from gis_desk.render.viewport import Viewport

    layer = PhotoLayer(ds)
    vp = Viewport(ds.bounds, 1600, 1000, "EPSG:27700")
    t_first, img = timed(lambda: render_layer(layer, vp))
    t_again, _ = timed(lambda: render_layer(layer, vp), repeat=3)
    results.update(render_first_s=t_first, render_again_s=t_again)
    print(f"(d) drawing {n} photos with footprints at 1600x1000: first {t_first * 1000:.0f} ms, "
          f"redraw {t_again * 1000:.0f} ms; {int((img[..., 3] > 0).sum()):,} pixels drawn")
    (OUT / "bench_photos.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
