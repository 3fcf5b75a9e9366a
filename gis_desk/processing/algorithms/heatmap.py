"""Processing algorithm ``builtins.heatmap``: kernel density of a point layer to a GeoTIFF.

The computation is ``gis_desk.analysis.kde.kde`` (QGIS-compatible by default).  The output
holds RAW densities of the records, meant as a working layer: to share it, export it through
``gis_desk.io.exports.export_heatmap`` (disclosure control masks cells reached by few records).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gis_desk.analysis.kde import BANDWIDTH_METHODS, KERNELS, OUTPUT_VALUES, kde
from gis_desk.core.crs import crs_id, same_crs
from gis_desk.errors import DataError
from gis_desk.processing.algorithm import Algorithm, OutputDefinition
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.parameters import (
    BoolParameter,
    EnumParameter,
    FieldParameter,
    NumberParameter,
    OutputFileParameter,
    StringParameter,
    VectorLayerParameter,
)


def points_and_weights(frame, weight_field: str | None):
    """(N, 2) coordinates of every point of ``frame`` (multipoints give one row per part; null
    and empty geometries none) and the weight of each (its feature's value, NULL -> NaN;
    1 without a field).  Returns (xy, weights, number of features without a point)."""
    import shapely

    geoms = frame.geometry.values
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = ~shapely.is_empty(parts)
    parts, index = parts[keep], index[keep]
    xy = shapely.get_coordinates(parts)
    if weight_field is None:
        weights = np.ones(len(xy))
    else:
        import pandas as pd

        values = pd.to_numeric(frame[weight_field], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        weights = values[index]
    located = np.zeros(len(frame), dtype=bool)
    located[index] = True
    return xy, weights, int((~located).sum())


def _parse_policy(text: str | None):
    if text is None:
        return None
    from gis_desk.analysis.disclosure import parse_policy
    from gis_desk.errors import ParameterError

    try:
        return parse_policy(text)
    except ParameterError as exc:
        raise ParameterError(f"parameter 'policy': {exc.message}", hint=exc.hint) from exc


class Heatmap(Algorithm):
    id = "builtins.heatmap"
    display_name = "Heat map (kernel density estimation)"
    group = "Interpolation"
    description = """
        Kernel density of a point layer, written as a single-band float32 GeoTIFF with
        nodata -9999 where no point reaches.  Reproduces QGIS's "Heatmap (Kernel Density
        Estimation)" on the same inputs (grid: the layer extent grown by the radius, cells of
        pixel_size_m; kernels quartic, triangular, uniform, triweight, Epanechnikov with QGIS's
        Raw and Scaled values, including its quirks) unless qgis_compatible is false, which
        measures exact distances to cell centres.  The Gaussian kernel (not in QGIS) takes
        radius_m as its bandwidth (standard deviation) and reaches 4 bandwidths.
        Without radius_m the radius comes from the points' spread by Silverman's (or
        Scott's) rule of thumb for two dimensions, h = sigma * n^(-1/6), converted to the
        kernel's radius of equal spread (quartic: sqrt(8) h); the value used is reported.
        Distances are metres: a layer in degrees is projected to British National Grid (or
        its UTM zone outside Great Britain) first.  Points with NULL weight count as 0, as in
        QGIS.  The output holds raw values of the records: share it only through a
        disclosure-controlled export.
    """

    def parameters(self):
        return [
            VectorLayerParameter("input", "Point layer", "The points (records) to map.",
                                 geometry_types=["Point"]),
            FieldParameter("weight_field", "Weight field", "input",
                           "Numeric field weighting each point; every point weighs 1 when not given.",
                           optional=True, numeric_only=True),
            EnumParameter("kernel", "Kernel shape", list(KERNELS), "Kernel function (QGIS's definitions).",
                          default="quartic"),
            NumberParameter("radius_m", "Radius",
                            "Kernel radius in metres (Gaussian: bandwidth). Empty: chosen automatically.",
                            optional=True, minimum=0.0, unit="m"),
            NumberParameter("pixel_size_m", "Pixel size", "Side of an output cell in metres.",
                            default=10.0, minimum=0.0, unit="m"),
            EnumParameter("output_values", "Output values", list(OUTPUT_VALUES),
                          "raw: sum of kernel values (1 at a point of weight 1); scaled: QGIS's "
                          "density per square metre.", default="raw"),
            NumberParameter("decay", "Decay ratio (triangular only)",
                            "QGIS's decay ratio: the triangular kernel's value at the radius.",
                            default=0.0, minimum=-100.0, maximum=100.0),
            BoolParameter("qgis_compatible", "QGIS-compatible",
                          "Reproduce QGIS's arithmetic, quirks included (not for Gaussian).", default=True),
            EnumParameter("bandwidth_method", "Automatic radius rule", list(BANDWIDTH_METHODS),
                          "Rule of thumb used when no radius is given.", default="silverman"),
            StringParameter("policy", "Disclosure control",
                            "'nhs' (cells reached by 1-7 records masked) or 'threshold:K' (cells reached by "
                            "fewer than K records masked).  Given: the output is an export for sharing, a "
                            "Cloud Optimized GeoTIFF with the policy in its metadata and a QGIS style "
                            "sidecar.  Not given: a RAW working raster.", optional=True),
            OutputFileParameter("output", "Output GeoTIFF",
                                "GeoTIFF to write (.tif); a temporary file when not given.",
                                optional=True, extensions=[".tif", ".tiff"], default_extension=".tif"),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "raster", "The GeoTIFF written"),
            OutputDefinition("radius_m", "number", "The kernel radius used (Gaussian: bandwidth), metres"),
            OutputDefinition("radius_auto", "string", "'yes' when the radius was chosen automatically"),
            OutputDefinition("pixel_size_m", "number", "Cell side, metres"),
            OutputDefinition("rows", "integer", "Raster rows"),
            OutputDefinition("cols", "integer", "Raster columns"),
            OutputDefinition("points", "integer", "Points used"),
            OutputDefinition("max_value", "number", "Largest cell value"),
            OutputDefinition("crs", "string", "The raster's CRS"),
        ]

    def run(self, params: dict[str, Any], feedback: Feedback) -> dict[str, Any]:
        from gis_desk.processing.algorithms.vector import metric_crs_for

        frame = self.parameter("input").load(params["input"])
        weight_field = self.parameter("weight_field").check_in(frame, params["weight_field"])
        kernel = params["kernel"]
        qgis = params["qgis_compatible"]
        if kernel == "gaussian" and qgis:
            feedback.info("QGIS has no Gaussian kernel: distances are measured exactly")
            qgis = False
        work_crs, units_per_metre = metric_crs_for(frame)
        if not same_crs(frame.crs, work_crs):
            feedback.info(f"Projecting the points from {crs_id(frame.crs)} to {crs_id(work_crs)} to measure metres")
            frame = frame.to_crs(work_crs)
        feedback.set_progress(5)
        xy, weights, unlocated = points_and_weights(frame, weight_field)
        if unlocated:
            feedback.warning(f"{unlocated} feature(s) have no point and are left out")
        if len(xy) == 0:
            raise DataError("The layer has no points to make a heat map from",
                            hint="check the layer has point features with coordinates")
        nulls = int(np.isnan(weights).sum())
        if nulls:
            feedback.warning(f"{nulls} point(s) have no {weight_field!r} value and weigh 0 (as in QGIS)")
        policy = _parse_policy(params["policy"])
        radius = params["radius_m"]
        result = kde(xy, None if radius is None else radius * units_per_metre,
                     params["pixel_size_m"] * units_per_metre, weights=weights, kernel=kernel,
                     output_values=params["output_values"], qgis_compatible=qgis, decay=params["decay"],
                     crs=work_crs, bandwidth_method=params["bandwidth_method"], feedback=feedback.child(5, 90),
                     return_counts=policy is not None)
        used = result.params
        radius_m = used["radius_m"] / units_per_metre
        if used["radius_auto"]:
            feedback.info(f"Automatic radius: {radius_m:.1f} m ({used['bandwidth_method']} bandwidth "
                          f"{used['bandwidth_m'] / units_per_metre:.1f} m for the {kernel} kernel)")
        feedback.info(f"Heat map of {used['n_used']} point(s): {used['cols']} x {used['rows']} cells of "
                      f"{params['pixel_size_m']:g} m, {kernel} kernel, radius {radius_m:.1f} m, "
                      f"{used['output_values']} values, {'QGIS-compatible' if used['qgis_compatible'] else 'exact'}")
        feedback.check_canceled()
        if policy is None:
            feedback.warning("The heat map holds RAW values of the records: a working layer; share it only "
                             "through an export with disclosure control (or give policy=)")
            written = result.to_geotiff(params["output"])
        else:
            from gis_desk.core.style import RasterStyle
            from gis_desk.io.exports import export_heatmap

            style = RasterStyle(mode="singleband", bands=(1,), ramp="YlOrRd")
            written = str(export_heatmap(result, params["output"], style, policy, k=policy.min_count).path)
            feedback.info(f"Exported under {policy.label}: cells reached by fewer than {policy.min_count} "
                          "records are nodata")
        valid = result.array[result.array != result.nodata]
        return {
            "output": written, "radius_m": radius_m, "radius_auto": "yes" if used["radius_auto"] else "no",
            "pixel_size_m": params["pixel_size_m"], "rows": used["rows"], "cols": used["cols"],
            "points": used["n_used"], "max_value": float(valid.max()) if valid.size else 0.0,
            "crs": crs_id(work_crs),
        }
