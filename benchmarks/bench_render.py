"""Rendering benchmarks (standalone: ``python benchmarks/bench_render.py``).

(a) Full redraw at 1920x1080 of 10,000 synthetic parcels (EPSG:27700, 8-40 vertices each,
    categorised into 6 land uses) over a synthetic RGB orthomosaic with overviews.  Target
    < 100 ms.  Baseline in the same run: the same parcels drawn the naive way (a skia path built
    vertex by vertex in Python and one draw call per feature).
(b) Redraw of a 1920x1080 view of a 20,000 x 20,000 RGB GeoTIFF (tiled 512, deflate, with
    overviews) at overview zoom and at full resolution.  Target < 50 ms.  Baseline: the same
    overview-zoom view read with overviews disabled (GDAL open option OVERVIEW_LEVEL=NONE).

Data is generated once into benchmarks/out/ (git-ignored).  Figures are medians of warm runs;
the first (cold) run, which reprojects/flattens the geometry and opens the files, is shown too.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
WIDTH, HEIGHT = 1920, 1080
ORIGIN = (380_000.0, 390_000.0)  # Trafford-ish BNG


def timed(fn, repeat: int = 7) -> tuple[float, float]:
    """(cold ms, median warm ms)."""
    t0 = time.perf_counter()
    fn()
    cold = (time.perf_counter() - t0) * 1000
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        warm.append((time.perf_counter() - t0) * 1000)
    return cold, statistics.median(warm)


def write_rgb_tiff(path: Path, size: int, pixel: float, origin, overviews=(2, 4, 8, 16, 32, 64)) -> None:
    """A smooth synthetic RGB image (deflate, tiled 512) with internal overviews."""
    import rasterio
    from affine import Affine
    from rasterio.enums import Resampling

    if path.exists():
        return
    print(f"generating {path.name} ({size} x {size}) ...", flush=True)
    profile = dict(driver="GTiff", width=size, height=size, count=3, dtype="uint8", crs="EPSG:27700",
                   transform=Affine(pixel, 0, origin[0], 0, -pixel, origin[1] + size * pixel),
                   tiled=True, blockxsize=512, blockysize=512, compress="deflate", photometric="RGB")
    tmp = path.with_suffix(".tmp.tif")
    cols = np.arange(size, dtype=np.float32)
    with rasterio.open(tmp, "w", **profile) as dst:
        for r0 in range(0, size, 512):
            rows = np.arange(r0, min(size, r0 + 512), dtype=np.float32)[:, None]
            base = (np.sin(cols / 97.0) * np.cos(rows / 131.0) + 1) * 100
            fields = (rows // 40 + cols // 40) % 2 * 30
            dst.write(np.stack([(base + fields).astype(np.uint8), (base * 0.8 + 40).astype(np.uint8),
                                (120 - base * 0.3 + fields).astype(np.uint8)]), window=((r0, r0 + len(rows)), (0, size)))
        dst.build_overviews(list(overviews), Resampling.average)
    tmp.rename(path)


def parcels(n_side: int = 100, cell: float = 30.0):
    """n_side^2 irregular star-shaped parcels, 8-40 vertices each, in EPSG:27700."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(42)
    polys = []
    for i in range(n_side * n_side):
        cx = ORIGIN[0] + (i % n_side + 0.5) * cell
        cy = ORIGIN[1] + (i // n_side + 0.5) * cell
        k = int(rng.integers(8, 41))
        angle = np.sort(rng.uniform(0, 2 * np.pi, k))
        radius = cell * 0.45 * (0.75 + 0.25 * rng.random(k))
        polys.append(np.column_stack([cx + radius * np.cos(angle), cy + radius * np.sin(angle)]))
    geoms = [shapely.Polygon(p) for p in polys]
    uses = np.array(["residential", "retail", "industrial", "park", "school", "vacant"])
    return gpd.GeoDataFrame({"use": uses[rng.integers(0, 6, len(geoms))]}, geometry=geoms, crs="EPSG:27700")


def naive_vector(frame, viewport, style):
    """Baseline: per-vertex Python path building and one draw call per feature."""
    import skia

    from gis_desk.render import skia_util
    from gis_desk.render.vector import feature_classes

    classes, symbols = feature_classes(frame, style)
    image = skia_util.new_image(viewport.width, viewport.height)
    xmin, _, _, ymax = viewport.extent
    inv = 1 / viewport.pixel_size
    with skia_util.surface_for(image) as canvas:
        for geom, c in zip(frame.geometry.values, classes):
            path = skia.Path()
            for ring in [geom.exterior, *geom.interiors]:
                coords = list(ring.coords)
                path.moveTo((coords[0][0] - xmin) * inv, (ymax - coords[0][1]) * inv)
                for x, y in coords[1:]:
                    path.lineTo((x - xmin) * inv, (ymax - y) * inv)
                path.close()
            canvas.drawPath(path, skia_util.fill_paint(symbols[c].fill))
            canvas.drawPath(path, skia_util.stroke_paint(symbols[c].stroke, symbols[c].stroke_width))
    return image


def bench_parcels() -> None:
    from gis_desk.core.classify import categorised_style
    from gis_desk.core.datasets import DataSource, VectorDataset
    from gis_desk.core.layer import RasterLayer, VectorLayer
    from gis_desk.io.raster import read_raster
    from gis_desk.render.renderer import render_layer, render_map
    from gis_desk.render.viewport import Viewport

    ortho = OUT / "ortho_3km.tif"
    write_rgb_tiff(ortho, 12_000, 0.25, (ORIGIN[0], ORIGIN[1]))  # 3 km at 25 cm
    frame = parcels()
    vertices = int(sum(len(g.exterior.coords) for g in frame.geometry))
    vector = VectorLayer(VectorDataset(DataSource("/bench/parcels.gpkg"), frame), name="parcels")
    vector.style = categorised_style(frame, "use", ramp="Set2")
    vector.opacity = 0.8
    (ortho_ds,) = read_raster(ortho)
    raster = RasterLayer(ortho_ds)
    view = Viewport.fit(vector.dataset.bounds, WIDTH, HEIGHT, "EPSG:27700")

    cold_map, warm_map = timed(lambda: render_map([raster, vector], view))
    _, warm_vec = timed(lambda: render_layer(vector, view))
    _, warm_ras = timed(lambda: render_layer(raster, view))
    _, naive = timed(lambda: naive_vector(frame, view, vector.style), repeat=3)
    panned = view.panned(300, 200)
    _, warm_pan = timed(lambda: render_map([raster, vector], panned))
    print(f"(a) {len(frame):,} parcels ({vertices:,} vertices) over a 12,000 px orthomosaic, {WIDTH}x{HEIGHT}:")
    print(f"    full redraw      {warm_map:7.1f} ms  (cold first draw {cold_map:.1f} ms)  target < 100 ms")
    print(f"    panned redraw    {warm_pan:7.1f} ms")
    print(f"    parcels only     {warm_vec:7.1f} ms  vs naive per-vertex skia {naive:.1f} ms "
          f"-> {naive / warm_vec:.1f}x faster")
    print(f"    orthomosaic only {warm_ras:7.1f} ms")


def bench_big_raster() -> None:
    import rasterio

    from gis_desk.core.layer import RasterLayer
    from gis_desk.io.raster import read_raster
    from gis_desk.render.renderer import render_layer
    from gis_desk.render.viewport import Viewport

    big = OUT / "rgb_20000.tif"
    write_rgb_tiff(big, 20_000, 0.1, ORIGIN)
    (dataset,) = read_raster(big)
    layer = RasterLayer(dataset)
    whole = Viewport.fit(dataset.bounds, WIDTH, HEIGHT, "EPSG:27700")
    overview = whole.zoomed(1.2)  # about 1/12 of full resolution
    cx, cy = whole.center
    full = Viewport((cx - WIDTH * 0.05, cy - HEIGHT * 0.05, cx + WIDTH * 0.05, cy + HEIGHT * 0.05),
                    WIDTH, HEIGHT, "EPSG:27700")  # 1 screen px = 1 raster px
    cold_o, warm_o = timed(lambda: render_layer(layer, overview))
    cold_f, warm_f = timed(lambda: render_layer(layer, full))
    shifted = [full.panned(dx, 0) for dx in range(0, 7 * 640, 640)]
    moving = []
    for vp in shifted:  # fresh areas each time: no GDAL block cache help
        t0 = time.perf_counter()
        render_layer(layer, vp)
        moving.append((time.perf_counter() - t0) * 1000)

    def no_overview_read():
        from rasterio.enums import Resampling
        from rasterio.windows import from_bounds

        with rasterio.open(big, OVERVIEW_LEVEL="NONE") as src:
            window = from_bounds(*overview.extent, transform=src.transform)
            src.read([1, 2, 3], window=window, out_shape=(3, HEIGHT, WIDTH), boundless=True,
                     resampling=Resampling.nearest)

    _, baseline = timed(no_overview_read, repeat=1)
    print(f"(b) 20,000 x 20,000 RGB GeoTIFF (tiled 512, deflate, overviews), {WIDTH}x{HEIGHT} view:")
    print(f"    overview zoom (1/{overview.pixel_size / 0.1:.0f})  {warm_o:7.1f} ms  (cold {cold_o:.1f} ms)  "
          f"target < 50 ms")
    print(f"    same view without overviews {baseline:7.1f} ms -> {baseline / warm_o:.0f}x slower")
    print(f"    full resolution (1:1)    {warm_f:7.1f} ms warm (cold {cold_f:.1f} ms); "
          f"panning to fresh areas median {statistics.median(moving):.1f} ms")


def main() -> int:
    OUT.mkdir(exist_ok=True)
    bench_parcels()
    bench_big_raster()
    return 0


if __name__ == "__main__":
    sys.exit(main())
