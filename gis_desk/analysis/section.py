"""Cross-sections through point clouds: the strip of points near a plan-view line, as a profile.

A section is a line drawn on the map plus a strip width.  Points whose plan position is
within ``width / 2`` of the line (and not beyond its ends) are kept with their distance along
the line, signed offset from it (positive to the left of the drawing direction) and height.
Several epochs along the same line, plotted together, show deck sag or wall lean directly.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from gis_desk.errors import DataError, ParameterError
from gis_desk.io.atomic import atomic_path

PLOT_FORMATS = (".png", ".svg", ".pdf")


@dataclass
class Profile:
    label: str
    distance: np.ndarray  # metres along the line from its start, ascending
    z: np.ndarray  # heights
    offset: np.ndarray  # metres from the line, positive to the left of the drawing direction
    index: np.ndarray  # indices into the cloud the section was cut from
    x: np.ndarray | None = None  # plan coordinates of the kept points
    y: np.ndarray | None = None
    width: float = math.nan  # strip width used, metres
    length: float = math.nan  # length of the section line, metres

    def __len__(self) -> int:
        return len(self.distance)


def section_profile(xyz: np.ndarray, line, width: float, label: str = "") -> Profile:
    """The points of ``xyz`` (n, 3) within ``width / 2`` of ``line`` (a shapely LineString, plan
    view, same CRS), sorted by distance along the line."""
    import shapely
    from shapely.geometry import LineString

    if not isinstance(line, LineString) or line.is_empty or not line.length > 0:
        raise ParameterError("A section needs a line of two or more distinct points",
                             hint="draw the section line across the structure")
    if not (width > 0 and math.isfinite(width)):
        raise ParameterError(f"The section width must be positive, not {width}")
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] < 3:
        raise DataError(f"Section points must be an (n, 3) array, not {xyz.shape}")
    half = width / 2.0
    length = float(line.length)
    xmin, ymin, xmax, ymax = line.bounds
    x, y = xyz[:, 0], xyz[:, 1]
    cand = np.flatnonzero((x >= xmin - half) & (x <= xmax + half) & (y >= ymin - half) & (y <= ymax + half)
                          & np.isfinite(xyz[:, 2]))
    pts = shapely.points(x[cand], y[cand])
    dist = shapely.distance(line, pts)
    near = dist <= half
    cand, pts, dist = cand[near], pts[near], dist[near]
    along = shapely.line_locate_point(line, pts)

    # line_locate_point clamps to the ends: drop points lying beyond the start or the end.
    coords = np.asarray(line.coords)
    px, py = x[cand], y[cand]
    keep = np.ones(len(cand), dtype=bool)
    for end, a, b in ((0.0, coords[0], coords[1]), (length, coords[-1], coords[-2])):
        t = (a - b) / np.linalg.norm(a - b)  # outward direction at this end
        at_end = np.abs(along - end) < 1e-9
        beyond = (px - a[0]) * t[0] + (py - a[1]) * t[1] > 1e-9
        keep &= ~(at_end & beyond)
    cand, along, dist, px, py = cand[keep], along[keep], dist[keep], px[keep], py[keep]

    # Sign of the offset: which side of the local direction of the line the point lies on.
    h = min(0.01, length * 1e-4)
    pa = shapely.get_coordinates(shapely.line_interpolate_point(line, np.clip(along - h, 0, length)))
    pb = shapely.get_coordinates(shapely.line_interpolate_point(line, np.clip(along + h, 0, length)))
    foot = shapely.get_coordinates(shapely.line_interpolate_point(line, along))
    cross = (pb[:, 0] - pa[:, 0]) * (py - foot[:, 1]) - (pb[:, 1] - pa[:, 1]) * (px - foot[:, 0])
    offset = np.where(cross < 0, -dist, dist)

    order = np.argsort(along, kind="stable")
    return Profile(label=label, distance=along[order], z=xyz[cand[order], 2], offset=offset[order],
                   index=cand[order], x=px[order], y=py[order], width=float(width), length=length)


def plot_sections(profiles: Sequence[Profile], path_or_axes: Any, title: str = "", *, equal_aspect: bool = False,
                  point_size: float = 2.0, colors: Sequence[str] | None = None, dpi: int = 150,
                  figsize: tuple[float, float] = (10.0, 4.0)):
    """Plot several epochs' profiles (distance vs height) in different colours.

    ``path_or_axes``: a ``.png``/``.svg``/``.pdf`` path (written atomically, returns the Path)
    or a matplotlib Axes to draw on (returns the Axes).  ``equal_aspect`` gives true shape
    (1 m across = 1 m up); off, the height is stretched so small deformations show.
    """
    from matplotlib.figure import Figure

    if hasattr(path_or_axes, "plot") and hasattr(path_or_axes, "figure"):
        _draw(path_or_axes, profiles, title, equal_aspect, point_size, colors)
        return path_or_axes
    path = Path(path_or_axes)
    if path.suffix.lower() not in PLOT_FORMATS:
        raise ParameterError(f"Sections can be plotted to {', '.join(PLOT_FORMATS)}, not {path.suffix or 'no suffix'}",
                             path=path)
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    _draw(ax, profiles, title, equal_aspect, point_size, colors)
    with atomic_path(path, "the section plot") as tmp:
        fig.savefig(tmp, format=path.suffix.lower()[1:])
    return path


def _draw(ax, profiles, title, equal_aspect, point_size, colors) -> None:
    import matplotlib

    palette = list(colors) if colors else list(matplotlib.colormaps["tab10"].colors)
    for i, prof in enumerate(profiles):
        name = prof.label or f"Profile {i + 1}"
        n = len(prof)
        ax.plot(prof.distance, prof.z, linestyle="none", marker=".", markersize=point_size,
                markeredgewidth=0, color=palette[i % len(palette)],
                label=f"{name}: {n:,} points" if n else f"{name}: no points")
    if not any(len(p) for p in profiles):
        ax.text(0.5, 0.5, "No points within the section strip", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlabel("Distance along section (m)")
    ax.set_ylabel("Height (m)")
    if title:
        ax.set_title(title)
    ax.grid(True, linewidth=0.4, alpha=0.5)
    if equal_aspect:
        ax.set_aspect("equal", adjustable="datalim")
    if profiles:
        ax.legend(loc="best", markerscale=max(1.0, 8.0 / max(point_size, 0.1)), fontsize="small")


def export_sections_csv(profiles: Sequence[Profile], path: str | Path) -> Path:
    """One CSV row per section point: label, index, distance_m, offset_m, x, y, z (atomic write)."""
    path = Path(path)
    with atomic_path(path, "the sections CSV") as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["label", "index", "distance_m", "offset_m", "x", "y", "z"])
        for prof in profiles:
            xs = prof.x if prof.x is not None else np.full(len(prof), np.nan)
            ys = prof.y if prof.y is not None else np.full(len(prof), np.nan)
            for i, d, o, xx, yy, zz in zip(prof.index, prof.distance, prof.offset, xs, ys, prof.z):
                w.writerow([prof.label, int(i), f"{d:.4f}", f"{o:.4f}", f"{xx:.4f}", f"{yy:.4f}", f"{zz:.4f}"])
    return path
