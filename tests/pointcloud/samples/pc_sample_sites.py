"""Helpers for the shipped two-epoch samples (sample_surveys/bridge, sample_surveys/seawall).

Each site's comparison is what an engineer runs: register epoch 2 onto epoch 1 on the stable
areas, M3C2 with the site's designed parameters, DoD, zone statistics on zones.gpkg.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SAMPLES = Path(__file__).resolve().parents[3] / "sample_surveys"


@dataclass
class Site:
    name: str
    folder: Path
    truth: dict[str, Any]
    epoch1: Any  # PointCloud
    epoch2: Any
    zones: Any  # GeoDataFrame
    stable: list
    sections: Any  # GeoDataFrame

    def params(self):
        """M3C2 parameters the site was designed for (ground_truth.json, radii in metres)."""
        from gis_desk.analysis.m3c2 import M3C2Params

        md = self.truth["m3c2_designed"]
        return M3C2Params(normal_radius=md["normal_radius"], cylinder_radius=md["cylinder_radius"],
                          max_depth=md["max_depth"], normal_orientation=("towards", tuple(md["viewpoint_bng"])))

    def settings(self, **overrides):
        from gis_desk.analysis.change import ComparisonSettings

        base = dict(stable_areas=self.stable, m3c2=self.params(), zones=self.zones,
                    section_lines=list(self.sections.geometry), site=self.name,
                    epoch_labels=tuple(e["label"] for e in self.truth["epochs"]))
        base.update(overrides)
        return ComparisonSettings(**base)


def load_site(name: str) -> Site:
    import geopandas as gpd

    from gis_desk.io.pointcloud import read_pointcloud

    folder = SAMPLES / name
    if not (folder / "ground_truth.json").exists():
        pytest.skip(f"sample {folder} is not in this checkout")
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    files = truth["files"]
    e1 = read_pointcloud(folder / files["epoch1"])[0].cloud
    e2 = read_pointcloud(folder / files["epoch2"])[0].cloud
    return Site(name, folder, truth, e1, e2, gpd.read_file(folder / files["zones"]),
                list(gpd.read_file(folder / files["stable_areas"]).geometry), gpd.read_file(folder / files["sections"]))


def local_uv(site: Site, xy: np.ndarray) -> np.ndarray:
    """(u, v) in the site's local frame: u along the structure, v to its left."""
    frame = site.truth["local_frame"]
    b = np.radians(frame["u_bearing_deg"])
    d = xy - np.asarray(frame["origin_bng"])
    u = d[:, 0] * np.sin(b) + d[:, 1] * np.cos(b)
    v = -d[:, 0] * np.cos(b) + d[:, 1] * np.sin(b)
    return np.column_stack([u, v])


def change_mask(result, change: dict[str, Any], *, buffer: float = 0.0) -> np.ndarray:
    """Core points inside a ground-truth change region (and its z range, if any)."""
    import shapely
    from shapely import wkt

    poly = wkt.loads(change["region_wkt"])
    if buffer:
        poly = poly.buffer(buffer)
    core = result.m3c2.core
    m = shapely.contains_xy(poly, core[:, 0], core[:, 1])
    if change.get("z_range") and not buffer:
        lo, hi = change["z_range"]
        m &= (core[:, 2] >= lo) & (core[:, 2] <= hi)
    return m
