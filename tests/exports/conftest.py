"""Shared inputs for export tests: real Trafford LSOAs with synthetic record counts, and a
helper running GDAL's command-line tools when they are installed."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

TRAFFORD_LSOA = "uk_boundaries/UK-GeoJSON/lsoa11_E08000009_Trafford.geojson"
IMD_2019 = "uk_deprivation/humaniverse_IMD/imd2019_england_lsoa11.csv"


@pytest.fixture
def lsoas(real_data):
    """Trafford's 138 LSOAs (2011) in BNG with a synthetic, skewed 'care' count per area and
    their real IMD 2019 decile."""
    import pandas as pd

    from gis_desk.io.vector import read_vector

    frame = read_vector(real_data / TRAFFORD_LSOA)[0].frame.to_crs(27700)
    rng = np.random.default_rng(42)
    frame["care"] = rng.negative_binomial(1, 0.07, size=len(frame)).astype(np.int64)
    imd = pd.read_csv(real_data / IMD_2019, usecols=["lsoa11_code", "IMD_decile"])
    frame = frame.merge(imd, left_on="LSOA11CD", right_on="lsoa11_code", how="left").drop(columns="lsoa11_code")
    frame["IMD_decile"] = frame["IMD_decile"].astype("Int64")
    return frame


def gdal_tool(name: str, *args: str) -> subprocess.CompletedProcess | None:
    """Run ogrinfo/gdalinfo when installed (None otherwise)."""
    exe = shutil.which(name)
    if exe is None:
        return None
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def gdal():
    return gdal_tool
