"""Helpers for the council-data GUI tests (imported by the test modules)."""

from __future__ import annotations

from pathlib import Path


def add_points(session, xy, crs="EPSG:27700", name="records", **columns):
    """Add a point layer of ``xy`` (N, 2) with extra ``columns`` to ``session``; returns it."""
    import geopandas as gpd

    from gis_desk.core.datasets import DataSource, VectorDataset

    frame = gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)
    dataset = VectorDataset(DataSource(f"/memory/{name}.gpkg"), frame)
    layer = session.layer_for(dataset, name=name)
    session.add_layers([layer])
    return layer


def grab(widget, path: Path) -> Path:
    """Save a picture of ``widget`` (to look at the panels under offscreen Qt)."""
    widget.grab().save(str(path))
    return path
