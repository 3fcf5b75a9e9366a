"""A comparison of the bridge sample's two epochs, made once for the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

BRIDGE = Path(__file__).resolve().parents[3] / "sample_surveys" / "bridge"


@pytest.fixture(scope="module")
def bridge_result():
    """ComparisonResult of the bridge sample (core points every 20th point: about 5 s)."""
    if not (BRIDGE / "bridge_epoch1_2024-03.laz").is_file():
        pytest.skip(f"bridge sample not found in {BRIDGE}")
    from gis_desk.analysis.change import (ComparisonSettings, compare_epochs, load_epoch, load_lines,
                                          load_m3c2_params, load_polygons, load_zones)

    e1 = load_epoch(BRIDGE / "bridge_epoch1_2024-03.laz")
    e2 = load_epoch(BRIDGE / "bridge_epoch2_2025-03.laz")
    params, _, _ = load_m3c2_params(BRIDGE / "m3c2_params.txt")
    lines, labels = load_lines(BRIDGE / "sections.gpkg", e1.crs)
    settings = ComparisonSettings(
        stable_areas=load_polygons(BRIDGE / "stable_areas.gpkg", e1.crs), m3c2=params,
        zones=load_zones(BRIDGE / "zones.gpkg", e1.crs), section_lines=lines, section_labels=labels, core_n=20,
        epoch_labels=("Epoch 1 (2024-03)", "Epoch 2 (2025-03)"), site="Mersey bridge")
    return compare_epochs(e1, e2, settings)
