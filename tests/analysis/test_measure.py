"""Measuring distances and areas: planar in BNG, geodesic in WGS84, and the text shown."""

import math

import pyproj
import pytest

from gis_desk.analysis.measure import format_area, format_distance, measure_line, measure_polygon
from gis_desk.errors import CrsError

E0, N0 = 383_000.0, 395_000.0  # somewhere in Trafford, BNG metres


def test_three_four_five_triangle_in_bng():
    a, b, c = (E0, N0), (E0 + 3, N0), (E0 + 3, N0 + 4)
    assert measure_line([a, c], "EPSG:27700") == pytest.approx(5.0, abs=1e-9)
    assert measure_line([a, b, c], "EPSG:27700") == pytest.approx(7.0, abs=1e-9)
    area, perimeter = measure_polygon([a, b, c], "EPSG:27700")
    assert area == pytest.approx(6.0, abs=1e-6)
    assert perimeter == pytest.approx(12.0, abs=1e-9)


def test_hundred_metre_square_is_one_hectare_either_winding_open_or_closed():
    square = [(E0, N0), (E0 + 100, N0), (E0 + 100, N0 + 100), (E0, N0 + 100)]
    for ring in (square, square[::-1], square + square[:1]):
        area, perimeter = measure_polygon(ring, 27700)
        assert area == pytest.approx(10_000.0, rel=1e-12)
        assert perimeter == pytest.approx(400.0, rel=1e-12)
    assert format_area(area) == "1.00 ha (10,000 m²)"


def test_projected_crs_in_feet_is_converted_to_metres():
    # EPSG:2229 (California zone 5, US survey feet)
    feet = 1000.0
    metres = measure_line([(6_500_000, 1_800_000), (6_500_000 + feet, 1_800_000)], "EPSG:2229")
    assert metres == pytest.approx(feet * 1200 / 3937, rel=1e-9)


def test_geodesic_line_along_a_meridian_matches_pyproj():
    coords = [(-2.3, 53.0), (-2.3, 53.5), (-2.3, 54.0)]
    geod = pyproj.Geod(ellps="WGS84")
    expected = geod.line_length([c[0] for c in coords], [c[1] for c in coords])
    got = measure_line(coords, "EPSG:4326")
    assert got == pytest.approx(expected, rel=1e-12)
    # one degree of latitude near 53.5N is about 111.25 km: a sanity check independent of pyproj
    assert 111_000 < got < 111_500


def test_geodesic_polygon_uses_the_crs_ellipsoid():
    ring = [(-2.35, 53.40), (-2.30, 53.40), (-2.30, 53.43), (-2.35, 53.43)]
    area, perimeter = measure_polygon(ring, "EPSG:4326")
    exp_area, exp_perim = pyproj.Geod(ellps="WGS84").polygon_area_perimeter(
        [p[0] for p in ring], [p[1] for p in ring])
    assert area == pytest.approx(abs(exp_area), rel=1e-9)
    assert perimeter == pytest.approx(exp_perim, rel=1e-9)
    # the same ring in BNG measures within 0.2 % (BNG scale factor near Manchester)
    t = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    bng = [t.transform(*p) for p in ring]
    planar_area, _ = measure_polygon(bng, "EPSG:27700")
    assert planar_area == pytest.approx(area, rel=2e-3)


def test_degenerate_inputs():
    assert measure_line([], 27700) == 0.0
    assert measure_line([(E0, N0)], 27700) == 0.0
    assert measure_polygon([(E0, N0), (E0 + 5, N0)], 27700) == (0.0, 10.0)
    area, perimeter = measure_polygon([(-2.3, 53.0), (-2.2, 53.0)], 4326)
    assert area == 0.0 and perimeter > 0


def test_bad_input_raises_typed_errors():
    with pytest.raises(CrsError):
        measure_line([(0, 0), (1, 1)], None)
    with pytest.raises(CrsError):
        measure_line([(0, 0), (1, 1)], "EPSG:4978")  # geocentric
    with pytest.raises(ValueError):
        measure_line([(0, 0), (math.nan, 1)], 27700)


@pytest.mark.parametrize("metres, text", [
    (0, "0.0 m"), (5, "5.0 m"), (612.34, "612.3 m"), (1234.5, "1,234.5 m"),
    (9999.94, "9,999.9 m"), (12_345, "12.35 km"), (1_234_567, "1,234.57 km"),
])
def test_format_distance(metres, text):
    assert format_distance(metres) == text


@pytest.mark.parametrize("m2, text", [
    (6, "6.0 m² (0.00 ha)"), (456, "456.0 m² (0.05 ha)"), (23_456, "2.35 ha (23,456 m²)"),
    (12_345_678, "1,234.57 ha (12,345,678 m²)"),
])
def test_format_area(m2, text):
    assert format_area(m2) == text
