"""Qt-free 3D pictures of point clouds: an oblique perspective view as a PNG, with a legend.

The report, the CLI and tests need a picture of a cloud without an OpenGL context, so points are
projected through a pinhole camera in numpy and splatted into a z-buffer (numba), nearest point
winning, then shaded with eye-dome lighting (each pixel darkened by how much nearer it is than
its neighbours, in log depth) so shapes read without normals.  Colours come from
``gis_desk.render.pointcloud.point_colours``: a point has the same colour in the 2D map, the 3D
view and the report.  The legend (a colour bar for ramps, swatches for classes) is drawn with
matplotlib (Agg) from ``colour_legend``.

Camera: ``azimuth`` is the grid bearing (degrees clockwise from north) the camera looks
*towards*; ``elevation`` how far it looks down.  ``azimuth=None`` looks across the cloud's long
horizontal axis, slightly oblique, which for a bridge or a wall shows its side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gis_desk.core.pointcloud import PointCloud, PointCloudDataset, PointCloudLayer, PointCloudStyle
from gis_desk.errors import DataError
from gis_desk.io.atomic import atomic_path


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: ``eye`` position, unit ``forward``/``right``/``up`` axes, ``focal`` in px."""

    eye: np.ndarray
    forward: np.ndarray
    right: np.ndarray
    up: np.ndarray
    focal: float
    width: int
    height: int

    def project(self, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(px, py, depth) of world points; depth <= 0 is behind the camera."""
        rel = xyz - self.eye
        depth = rel @ self.forward
        with np.errstate(divide="ignore", invalid="ignore"):
            px = self.width / 2.0 + self.focal * (rel @ self.right) / depth
            py = self.height / 2.0 - self.focal * (rel @ self.up) / depth
        return px, py, depth


def auto_azimuth(xyz: np.ndarray) -> float:
    """A bearing looking across the cloud's long horizontal axis, 25 degrees off square."""
    xy = xyz[:, :2] - xyz[:, :2].mean(axis=0)
    if len(xy) < 3:
        return 20.0
    _, vecs = np.linalg.eigh(np.cov(xy.T))
    ax, ay = vecs[:, -1]  # long axis
    along = math.degrees(math.atan2(ax, ay))  # its grid bearing
    return (along + 90.0 - 25.0) % 360.0


def fit_camera(xyz: np.ndarray, width: int, height: int, *, azimuth: float | None = None,
               elevation: float = 25.0, fov: float = 40.0, margin: float = 0.06) -> Camera:
    """A camera looking at the cloud from ``azimuth``/``elevation`` (degrees), far enough that
    every point is in the picture (``fov``: horizontal field of view)."""
    if len(xyz) == 0:
        raise DataError("There are no points to draw")
    lo, hi = np.percentile(xyz, 0.5, axis=0), np.percentile(xyz, 99.5, axis=0)
    centre = (lo + hi) / 2.0
    az = math.radians(auto_azimuth(xyz) if azimuth is None else azimuth)
    el = math.radians(float(np.clip(elevation, -89.0, 89.0)))
    forward = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), -math.sin(el)])
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    focal = (width / 2.0) / math.tan(math.radians(fov) / 2.0)
    # distance so (nearly) every point fits: per point, the distance at which it reaches the
    # picture's edge; the 99.5th percentile ignores stray outliers
    pts = xyz if len(xyz) <= 200_000 else xyz[np.random.default_rng(0).choice(len(xyz), 200_000, replace=False)]
    rel = pts - centre
    a, b, c = rel @ right, rel @ up, rel @ forward
    half_w, half_h = (1 - margin) * width / 2.0 / focal, (1 - margin) * height / 2.0 / focal
    need = np.maximum(np.abs(a) / half_w - c, np.abs(b) / half_h - c)
    dist = max(float(np.percentile(need, 99.5)), 1e-3)
    # centre the picture on the points' projected extent rather than the box centre
    depth = dist + c
    ok = depth > 0
    u, v = a[ok] / depth[ok], b[ok] / depth[ok]
    du = (np.percentile(u, 0.5) + np.percentile(u, 99.5)) / 2.0
    dv = (np.percentile(v, 0.5) + np.percentile(v, 99.5)) / 2.0
    eye = centre - forward * dist + (right * du + up * dv) * dist
    # re-fit after the shift: the distance grows a little if a side now overflows
    rel = pts - eye
    depth = rel @ forward
    ok = depth > 0
    spread = max(float(np.percentile(np.abs(rel[ok] @ right) / depth[ok], 99.5)) / half_w,
                 float(np.percentile(np.abs(rel[ok] @ up) / depth[ok], 99.5)) / half_h, 1e-9)
    if spread > 1.0:
        eye = eye - forward * dist * (spread - 1.0)
    return Camera(eye, forward, right, up, focal, int(width), int(height))


def crop_to_content(image: np.ndarray, background=(255, 255, 255), margin: int = 12) -> np.ndarray:
    """``image`` cut to the box of non-background pixels plus ``margin`` px."""
    mask = np.any(image[:, :, :3] != np.asarray(background, dtype=np.uint8)[:3], axis=2)
    if not mask.any():
        return image
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    r0, r1 = max(0, rows[0] - margin), min(image.shape[0], rows[-1] + 1 + margin)
    c0, c1 = max(0, cols[0] - margin), min(image.shape[1], cols[-1] + 1 + margin)
    return image[r0:r1, c0:c1]


_KERNEL: list = []


def _zbuffer_kernel():
    if not _KERNEL:
        import numba

        @numba.njit(cache=True)
        def kernel(image, depth_buf, px, py, depth, colours, offs):
            height, width = depth_buf.shape
            for i in range(px.shape[0]):
                d = depth[i]
                if not (d > 0 and np.isfinite(px[i]) and np.isfinite(py[i])):
                    continue
                ix, iy = int(np.floor(px[i])), int(np.floor(py[i]))
                for k in range(offs.shape[0]):
                    cx, cy = ix + offs[k, 0], iy + offs[k, 1]
                    if cx < 0 or cy < 0 or cx >= width or cy >= height:
                        continue
                    if d < depth_buf[cy, cx]:
                        depth_buf[cy, cx] = d
                        for c in range(3):
                            image[cy, cx, c] = colours[i, c]

        _KERNEL.append(kernel)
    return _KERNEL[0]


def render_points(xyz: np.ndarray, colours: np.ndarray, camera: Camera, *, point_size: float = 2.0,
                  background=(255, 255, 255), edl: float = 1.0) -> np.ndarray:
    """RGB uint8 (height, width, 3) picture of points with RGBA/RGB ``colours`` (k, 3|4) through
    ``camera``; ``edl`` is the eye-dome lighting strength (0 = flat colours)."""
    from gis_desk.render.pointcloud import _kernel

    h, w = camera.height, camera.width
    image = np.empty((h, w, 3), dtype=np.uint8)
    image[:] = np.asarray(background, dtype=np.uint8)[:3]
    depth_buf = np.full((h, w), np.inf)
    px, py, depth = camera.project(np.asarray(xyz, dtype=np.float64))
    offs = np.array(_kernel(point_size), dtype=np.int64).reshape(-1, 2)
    _zbuffer_kernel()(image, depth_buf, np.ascontiguousarray(px), np.ascontiguousarray(py),
                      np.ascontiguousarray(depth), np.ascontiguousarray(np.asarray(colours)[:, :3], dtype=np.uint8),
                      offs)
    if edl > 0:
        image = _eye_dome(image, depth_buf, edl)
    return image


_EDL_STEP = 0.004  # log-depth step per pixel below which neighbours count as the same surface


def _eye_dome(image: np.ndarray, depth: np.ndarray, strength: float) -> np.ndarray:
    """Darken pixels lying behind their neighbours (log-depth steps over 4 neighbours at 1 and
    2 px), which outlines edges and the silhouettes of parts in front."""
    filled = np.isfinite(depth)
    if not filled.any():
        return image
    logd = np.where(filled, np.log(np.where(filled, depth, 1.0)), 0.0)
    far = logd[filled].max() + 1.0  # empty neighbours count as far behind
    logd = np.where(filled, logd, far)
    response = np.zeros_like(logd)
    for r in (1, 2):
        padded = np.pad(logd, r, mode="edge")
        for dy, dx in ((-r, 0), (r, 0), (0, -r), (0, r)):
            nb = padded[r + dy:r + dy + logd.shape[0], r + dx:r + dx + logd.shape[1]]
            # steps beyond a small share of the depth only: a slanted surface's steady
            # gradient is not an edge and stays unshaded
            response += np.maximum(0.0, logd - nb - _EDL_STEP * r) / r
    shade = np.exp(-response * 60.0 * strength)
    out = image.astype(np.float32)
    out[filled] *= shade[filled, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def _xyz_of(obj, index) -> np.ndarray:
    if isinstance(obj, PointCloudLayer):
        return obj.points(index)
    cloud = obj.cloud if isinstance(obj, PointCloudDataset) else obj
    if not isinstance(cloud, PointCloud):
        raise TypeError(f"expected a point cloud layer, dataset or cloud, got {type(obj).__name__}")
    return cloud.xyz if index is None else cloud.xyz[index]


def _even_index(n: int, budget: int) -> np.ndarray | None:
    if n <= budget:
        return None
    return np.sort(np.random.default_rng(0).choice(n, budget, replace=False))


def snapshot(obj, style: PointCloudStyle, *, index=None, budget: int = 1_500_000, width: int = 1600,
             height: int = 1000, azimuth: float | None = None, elevation: float = 25.0, fov: float = 40.0,
             point_size: float | None = None, edl: float = 1.0, background=(255, 255, 255),
             camera: Camera | None = None) -> tuple[np.ndarray, Camera]:
    """(RGB picture, camera) of a ``PointCloudLayer`` (its transform applied), dataset or cloud
    coloured by ``style``; at most ``budget`` points (an even random thinning)."""
    from gis_desk.render.pointcloud import point_colours

    if index is None:
        n = len(obj.cloud) if isinstance(obj, (PointCloudLayer, PointCloudDataset)) else len(obj)
        index = _even_index(n, budget)
    xyz = _xyz_of(obj, index)
    if len(xyz) == 0:
        raise DataError("There are no points to draw")
    colours = point_colours(obj, style, index, xyz=xyz)
    cam = camera or fit_camera(xyz, width, height, azimuth=azimuth, elevation=elevation, fov=fov)
    size = style.point_size if point_size is None else point_size
    return render_points(xyz, colours, cam, point_size=size, background=background, edl=edl), cam


def write_snapshot(obj, style: PointCloudStyle, path: str | Path, *, title: str | None = None,
                   legend: bool = True, legend_values=None, dpi: int = 150, crop: bool = False,
                   **view: Any) -> Path:
    """A PNG of ``snapshot(obj, style, **view)`` with a legend beside it (colour bar or class
    swatches from ``colour_legend``) and an optional title; written atomically.  ``crop`` cuts
    the empty background around the points."""
    from gis_desk.render.pointcloud import colour_legend, mode_of, value_range

    image, _ = snapshot(obj, style, **view)
    if crop:
        image = crop_to_content(image, view.get("background", (255, 255, 255)))
    entries = []
    if legend:
        if mode_of(style) in ("elevation", "field") and not (style.value_range and len(style.value_range) == 2):
            from dataclasses import replace

            style = replace(style, value_range=list(value_range(obj, style)))
        values = legend_values
        if values is None and mode_of(style) == "classification":
            cloud = obj.cloud if isinstance(obj, (PointCloudLayer, PointCloudDataset)) else obj
            values = cloud.attributes.get("classification")
        entries = colour_legend(style, values)
    return compose_png(image, path, entries=entries, title=title, dpi=dpi)


def compose_png(image: np.ndarray, path: str | Path, *, entries=(), title: str | None = None,
                dpi: int = 150, unit_scale: float = 1.0, unit: str = "") -> Path:
    """Write ``image`` (RGB) as a PNG with the legend ``entries`` beside it.  A ramp entry is a
    colour bar labelled with its range times ``unit_scale`` in ``unit`` (e.g. 1000, 'mm')."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.colors import ListedColormap, Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from gis_desk.core.ramps import ramp_lut

    path = Path(path)
    h, w = image.shape[:2]
    ramp = next((e for e in entries if e.shape == "ramp"), None)
    swatches = [e for e in entries if e.shape != "ramp"]
    extra = 1.6 if (ramp is not None or swatches) else 0.0
    fig_w = w / dpi + extra
    fig = Figure(figsize=(fig_w, h / dpi + (0.35 if title else 0.05)), dpi=dpi)
    ax = fig.add_axes((0, 0, (w / dpi) / fig_w, h / (h + (0.35 if title else 0.05) * dpi)))
    ax.imshow(image, interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10, y=0.99)
    left = (w / dpi + 0.15) / fig_w
    if ramp is not None and ramp.vmin is not None and ramp.vmax is not None:
        cax = fig.add_axes((left, 0.15, 0.18 / fig_w, 0.7))
        cmap = ListedColormap(ramp_lut(ramp.ramp or "viridis")[:, :3] / 255.0)
        from matplotlib.cm import ScalarMappable

        bar = fig.colorbar(ScalarMappable(norm=Normalize(ramp.vmin * unit_scale, ramp.vmax * unit_scale), cmap=cmap),
                           cax=cax)
        bar.ax.tick_params(labelsize=7)
        bar.set_label(f"{ramp.label}" + (f" ({unit})" if unit else ""), fontsize=8)
    elif swatches:
        handles = [Patch(facecolor=e.fill or "#808080", edgecolor="#444444", label=e.label) for e in swatches[:20]]
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(left - 0.02, 0.5), fontsize=7, frameon=False)
    with atomic_path(path, "the snapshot") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")
    return path
