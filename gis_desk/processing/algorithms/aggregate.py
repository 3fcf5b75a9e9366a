"""Algorithms for area analysis of records: aggregate to areas, multi-agency overlap, hex grids.

- ``builtins.aggregate``: points + areas (a polygon layer, or 'hex:<size>' for a hexagon grid
  over the points) -> GeoPackage of areas with counts, weighted sums and rates, plus a decile
  summary CSV beside it when the areas carry a deprivation decile.
- ``builtins.overlap``: N record layers keyed by UPRN + k -> a point layer of the properties
  in at least k layers, a CSV table of them, and summary CSVs (pairwise, counts by layers).
- ``builtins.hex_grid``: a hexagon grid over an extent or a layer.

Outputs of aggregate and overlap hold RAW counts and property lists, meant as working layers
in the project: to share them, export through ``gis_desk.io.exports`` (disclosure control).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gis_desk.errors import DataError, ParameterError
from gis_desk.processing.algorithm import (
    VECTOR_OUTPUT_EXTENSIONS,
    Algorithm,
    OutputDefinition,
    write_vector_output,
)
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.parameters import (
    CrsParameter,
    EnumParameter,
    ExtentParameter,
    FieldParameter,
    IntegerParameter,
    NumberParameter,
    OutputFileParameter,
    StringParameter,
    VectorLayerParameter,
    _split_layer_name,
    read_vector_frame,
)

HEX_PREFIX = "hex:"
_DECILE_NAME = re.compile(r"(imd|simd|iod|deprivation).*(decile|decil|dec)$|^decile$", re.IGNORECASE)


def _vector_output(description: str = "") -> OutputFileParameter:
    return OutputFileParameter(
        "output", "Output file",
        description or "File to write: GeoPackage (.gpkg) by default, or .geojson, .shp, .fgb. "
                       "Replaced if it exists; a temporary file when not given.",
        optional=True, extensions=VECTOR_OUTPUT_EXTENSIONS, default_extension=".gpkg")


def _write_csv(frame, path: Path) -> str:
    from gis_desk.io.atomic import atomic_write_text

    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
    return str(path)


def _sibling(path: str, suffix: str) -> Path:
    """'out/agg.gpkg' + '_deciles.csv' -> 'out/agg_deciles.csv'."""
    p = Path(path)
    return p.with_name(p.stem + suffix)


# --- parameters ------------------------------------------------------------------------------


class AreasParameter(VectorLayerParameter):
    """A polygon layer, or the text 'hex:<size>' for a hexagon grid of that size (metres, or
    as set by the algorithm's ``hex_size_is``) built over the points."""

    def _check(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower().startswith(HEX_PREFIX):
            return self.hex_size(value)
        return super()._check(value)

    def hex_size(self, value: Any) -> str:
        """The canonical 'hex:<size>' text; raises ``ParameterError`` for a bad size."""
        text = str(value).strip()[len(HEX_PREFIX):].strip()
        text = re.sub(r"\s*(m|metres|meters|ha|hectares)$", "", text, flags=re.IGNORECASE)
        try:
            size = float(text)
        except ValueError:
            raise self.error(f"{value!r} is not 'hex:<size>'", hint="e.g. hex:500 for 500 m hexagons") from None
        if not size > 0 or size == float("inf"):
            raise self.error(f"the hexagon size must be a positive number, got {value!r}")
        return f"{HEX_PREFIX}{size:g}"

    def load(self, value: Any, crs: Any = None):
        value = self.validate(value)
        if isinstance(value, str) and value.startswith(HEX_PREFIX):
            return value  # built later, once the points are known
        return super().load(value, crs=crs)


class MultipleLayerParameter(VectorLayerParameter):
    """Several record layers: a list of paths / layers / frames, or text with paths separated
    by commas or semicolons.  CSV files without coordinates and Excel workbooks (first sheet)
    are read as plain tables, every column as text, so identifiers keep their exact characters.

    ``load`` returns a list of (name, frame) with names from the file names (made unique).
    """

    kind = "multiple_vector"
    kind_word = "record layers"

    def __init__(self, name: str, label: str, description: str = "", default: Any = None,
                 optional: bool = False, minimum: int = 1) -> None:
        super().__init__(name, label, description, default, optional)
        self.minimum = int(minimum)

    def _extra(self) -> dict[str, Any]:
        return {"minimum": self.minimum}

    def _check(self, value: Any) -> Any:
        text = isinstance(value, (str, Path))
        items = _split_paths(value) if text else list(value) if isinstance(value, (list, tuple)) else [value]
        if len(items) < self.minimum:
            raise self.error(f"give at least {self.minimum} layers, got {len(items)}",
                             hint="separate file paths with commas: a.gpkg,b.gpkg")
        checked = [item if isinstance(item, tuple) else self._check_one(item) for item in items]
        # Text stays text, so run_algorithm reads the files early with the CLI's --crs.
        return ",".join(checked) if text else checked

    def _check_one(self, item: Any) -> Any:
        if isinstance(item, (str, Path)):
            path, _ = _split_layer_name(str(item))
            if Path(path).suffix.lower() in _TABLE_SUFFIXES:
                if not Path(path).expanduser().exists():
                    raise self.error("the file does not exist", path=path,
                                     hint="check the path; it may have been moved or renamed")
                return str(Path(path).expanduser())
        if type(item).__name__ == "DataFrame":
            return item
        return super()._check(item)

    def load(self, value: Any, crs: Any = None) -> list[tuple[str, Any]]:
        """[(layer name, DataFrame or GeoDataFrame)] in the order given."""
        items = self.validate(value)
        if items is None:
            return []
        if isinstance(items, str):
            items = _split_paths(items)
        loaded: list[tuple[str, Any]] = []
        used: set[str] = set()
        for i, item in enumerate(items):
            if isinstance(item, tuple):  # already loaded (run_algorithm reads inputs early)
                name, frame = item
            elif isinstance(item, str):
                name, frame = _layer_name(item), _read_records(item, crs)
            elif type(item).__name__ == "DataFrame":
                name, frame = f"layer_{i + 1}", item
            else:
                name = getattr(getattr(item, "source", None), "name", None) or f"layer_{i + 1}"
                frame = VectorLayerParameter(self.name, self.label).load(item, crs=crs)
            base, n = name, 2
            while name.lower() in used:
                name, n = f"{base}_{n}", n + 1
            used.add(name.lower())
            loaded.append((name, frame))
        return loaded


_TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".xls"}


def _split_paths(value: Any) -> list[str]:
    return [part.strip() for part in re.split(r"[;,]", str(value)) if part.strip()]


def _layer_name(path: str) -> str:
    file, layer = _split_layer_name(path)
    name = layer or Path(file).stem
    name = re.sub(r"\W+", "_", name).strip("_") or "layer"
    return name if not name[0].isdigit() else f"layer_{name}"


def _read_records(path: str, crs: Any):
    """A record file as a frame: a vector layer when it has locations, else a text table."""
    import pandas as pd

    file, layer = _split_layer_name(path)
    suffix = Path(file).suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            return pd.read_excel(file, dtype=str)
        except Exception as exc:  # openpyxl/xlrd raise many kinds for damaged files
            from gis_desk.errors import CorruptFileError

            raise CorruptFileError(f"Could not read the workbook: {exc}", path=file,
                                   hint="save it again from the spreadsheet program, or as CSV") from exc
    if suffix in (".csv", ".txt"):
        from gis_desk.io.csv_points import read_csv_points

        try:
            return read_csv_points(file, crs=crs)[0].frame
        except DataError:  # no coordinate columns: the records are still a table keyed by UPRN
            return pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return read_vector_frame(file, layer=layer, crs=crs)


# --- aggregate -----------------------------------------------------------------------------


def find_decile_field(frame) -> str | None:
    """The deprivation decile column of ``frame`` when exactly one name looks like one
    ('IMD_decile', 'SIMD2020v2_Decile', 'decile'...); else None."""
    geometry = getattr(getattr(frame, "geometry", None), "name", None)
    found = [c for c in frame.columns if c != geometry and _DECILE_NAME.search(str(c))]
    return found[0] if len(found) == 1 else None


class Aggregate(Algorithm):
    id = "builtins.aggregate"
    display_name = "Aggregate points to areas"
    group = "Records and deprivation"
    description = """
        Count point records (and sum a weight field) per area: LSOAs, data zones, wards, or a
        hexagon grid ('hex:<size>', built over the points' extent or hex_extent, in the points'
        CRS when projected, else British National Grid).  Points are reprojected to the areas'
        CRS.  A point on a boundary shared by several areas is counted once, in the area whose
        code (area_id) sorts first, else the first in layer order.  Points outside every area
        and records without a location are counted and reported, never dropped silently.
        With a population field, adds rate_per_<per> = count (or weighted sum) / population *
        per.  When the areas have a deprivation decile field (decile_field, or one named like
        IMD_decile), a summary per decile (1 = most deprived) with shares and cumulative shares
        is written beside the output as <name>_deciles.csv.  Counts are RAW: export them for
        others only through GIS Desk's exports, which apply disclosure control.
    """

    def parameters(self):
        from gis_desk.analysis.hexgrid import ORIENTATIONS, SIZE_MEANINGS

        return [
            VectorLayerParameter("points", "Point records", "The records to count (points).",
                                 geometry_types=["Point"]),
            AreasParameter("areas", "Areas",
                           "Polygon layer of areas, or 'hex:<size>' for a hexagon grid (e.g. hex:500).",
                           geometry_types=["Polygon"]),
            FieldParameter("area_id", "Area code field", "areas",
                           "Unique area code (e.g. LSOA11CD); decides shared-boundary points. "
                           "Default: hex_id for hexagons.", optional=True),
            FieldParameter("weight", "Weight field", "points", "Numeric field summed per area.", optional=True,
                           numeric_only=False),
            FieldParameter("population", "Population field", "areas", "Numeric population per area, for rates.",
                           optional=True),
            NumberParameter("per", "Rate per", "Rate base: per 1,000 population by default.", default=1000.0,
                            minimum=1.0),
            EnumParameter("rate_of", "Rate of", ["count", "weighted_sum"],
                          "What the rate divides by the population.", default="count"),
            FieldParameter("decile_field", "Deprivation decile field", "areas",
                           "Decile 1..10 per area (1 = most deprived); default: a field named like "
                           "IMD_decile when there is exactly one.", optional=True),
            EnumParameter("hex_size_is", "Hexagon size means", list(SIZE_MEANINGS),
                          "side (= centre to vertex), width (across flats = centre spacing), area in "
                          "m², or hectares.", default="side"),
            EnumParameter("hex_orientation", "Hexagon orientation", list(ORIENTATIONS), default="pointy"),
            ExtentParameter("hex_extent", "Hexagon grid extent",
                            "Rectangle to cover with hexagons; default: the points' extent.", optional=True),
            StringParameter("policy", "Disclosure control",
                            "'nhs' (counts 1-7 suppressed, others rounded to 5) or 'threshold:K' (counts "
                            "below K suppressed), ',zero' to suppress zeros too.  Given: both files are "
                            "written as exports for sharing (GeoPackage with the policy in its metadata, "
                            "CSV with [c] for suppressed counts), without the rates, weighted sums and "
                            "shares, which would reveal the raw counts.  Not given: RAW counts, a working "
                            "layer.",
                            optional=True),
            _vector_output(),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "vector", "Areas with count, weighted_sum and rate columns"),
            OutputDefinition("count", "integer", "Number of areas written"),
            OutputDefinition("points", "integer", "Records read"),
            OutputDefinition("assigned", "integer", "Records counted in an area"),
            OutputDefinition("outside", "integer", "Located records outside every area"),
            OutputDefinition("no_geometry", "integer", "Records without a location"),
            OutputDefinition("on_boundary", "integer", "Records on a shared boundary (counted once)"),
            OutputDefinition("decile_summary", "file", "CSV summary per deprivation decile (if any)"),
            OutputDefinition("share_most_deprived_20", "number",
                             "Share (0..1) of the counted records in deciles 1-2 (if any; not under a policy)"),
        ]

    def run(self, params: dict[str, Any], feedback: Feedback) -> dict[str, Any]:
        from gis_desk.analysis.aggregate import aggregate_points, share_in_most_deprived, summarise_by_decile

        points = self.parameter("points").load(params["points"])
        feedback.set_progress(10)
        feedback.check_canceled()
        areas = params["areas"]
        area_id = params["area_id"]
        if isinstance(areas, str) and areas.startswith(HEX_PREFIX):
            areas = self._hexagons(points, float(areas[len(HEX_PREFIX):]), params, feedback)
            area_id = area_id or "hex_id"
        else:
            areas = self.parameter("areas").load(areas)
        feedback.set_progress(30)
        feedback.check_canceled()
        for name, frame in (("area_id", areas), ("population", areas), ("decile_field", areas),
                            ("weight", points)):
            self.parameter(name).check_in(frame, params[name] if name != "area_id" else area_id)
        result, report = aggregate_points(points, areas, area_id=area_id, weight=params["weight"],
                                          population=params["population"], per=params["per"],
                                          rate_of=params["rate_of"])
        for line in report.lines():
            (feedback.warning if ("outside" in line or "no location" in line) else feedback.info)(line)
        decile_field = params["decile_field"] or find_decile_field(result)
        table = share = None
        if decile_field is not None:  # before writing anything: bad deciles fail the whole run
            if params["decile_field"] is None:
                feedback.info(f"Summarising by the deprivation decile field {decile_field!r}")
            table = summarise_by_decile(result, decile_field=decile_field, value="count")
            share = share_in_most_deprived(result, 0.2, decile_field=decile_field, value="count")
        feedback.set_progress(80)
        feedback.check_canceled()
        policy = self._policy(params)
        if policy is None:
            written = write_vector_output(result.reset_index(drop=True), params["output"])
            feedback.warning(f"Wrote {len(result)} area(s) with RAW counts to {written}: a working layer; "
                             "share it only through an export with disclosure control (or give policy=)")
        else:
            written = self._export_areas(result, params["output"], policy, feedback)
        outputs = {"output": written, "count": int(len(result)), "points": report.points,
                   "assigned": report.assigned, "outside": report.outside, "no_geometry": report.no_geometry,
                   "on_boundary": report.on_boundary, "decile_summary": None, "share_most_deprived_20": None}
        if table is not None:
            target = _sibling(written, "_deciles.csv")
            if policy is None:
                outputs["decile_summary"] = _write_csv(table, target)
            else:
                from gis_desk.io.exports import export_csv

                # Shares of raw counts would give back the suppressed and unrounded counts.
                feedback.warning("Left out of the exported decile summary: share and cumulative_share (computed "
                                 "from raw counts, they would reveal suppressed values)")
                outputs["decile_summary"] = str(export_csv(
                    table.drop(columns=["share", "cumulative_share"]), target, policy, count_columns=["count"]).path)
                share = float("nan")
            if share == share:  # not NaN (NaN when nothing was counted)
                outputs["share_most_deprived_20"] = round(share, 6)
                feedback.info(f"{share:.1%} of the counted records are in the most deprived 20% of areas "
                              f"(deciles 1-2 of {decile_field})")
        return outputs

    def _policy(self, params: dict[str, Any]):
        if params["policy"] is None:
            return None
        from gis_desk.analysis.disclosure import parse_policy

        try:
            policy = parse_policy(params["policy"])
        except ParameterError as exc:
            raise ParameterError(f"parameter 'policy': {exc.message}", hint=exc.hint) from exc
        if Path(params["output"]).suffix.lower() != ".gpkg":
            raise ParameterError("parameter 'output': exports with disclosure control are GeoPackages (.gpkg)",
                                 path=params["output"])
        return policy

    @staticmethod
    def _export_areas(result, output: str, policy, feedback: Feedback) -> str:
        from gis_desk.io.exports import export_geopackage

        # Rates and weighted sums are computed from the RAW counts: next to a rounded count they
        # would give the raw value back (rate x population), so they are left out of exports.
        derived = [c for c in result.columns if c == "weighted_sum" or str(c).startswith("rate_per_")]
        if derived:
            feedback.warning(f"Left out of the export: {', '.join(derived)} (computed from raw counts, they would "
                             "reveal the counts that the policy rounds or suppresses)")
        exported = export_geopackage(result.drop(columns=derived).reset_index(drop=True), output,
                                     layer=Path(output).stem, style=None, policy=policy, count_columns=["count"])
        if exported.report is not None:
            feedback.info(exported.report.summary())
        feedback.info(f"Exported {len(result)} area(s) to {exported.path} under {policy.label}")
        return str(exported.path)

    def _hexagons(self, points, size: float, params: dict[str, Any], feedback: Feedback):
        from gis_desk.analysis.hexgrid import hex_grid
        from gis_desk.core.crs import crs_id
        from gis_desk.processing.algorithms.vector import metric_crs_for

        located = points[~(points.geometry.isna() | points.geometry.is_empty)]
        crs, _ = metric_crs_for(located if len(located) else points)
        extent = params["hex_extent"]
        if extent is None:
            if len(located) == 0:
                raise DataError("No record has a location, so there is no extent to cover with hexagons",
                                hint="check the records' coordinates, or give hex_extent")
            extent = tuple(located.to_crs(crs).total_bounds)
        try:
            grid = hex_grid(extent, size, crs, orientation=params["hex_orientation"], size_is=params["hex_size_is"])
        except DataError as exc:
            if "cells" in exc.message:
                raise DataError(exc.message, hint="choose a larger hexagon size, or give hex_extent: one "
                                                  "misplaced record can stretch the points' extent") from exc
            raise
        feedback.info(f"Built {len(grid)} hexagon(s) of size {size:g} ({params['hex_size_is']}) in {crs_id(crs)}")
        return grid


# --- overlap -------------------------------------------------------------------------------


class Overlap(Algorithm):
    id = "builtins.overlap"
    display_name = "Multi-agency overlap (by UPRN)"
    group = "Records and deprivation"
    description = """
        Find the properties (UPRNs) present in at least k of several record layers, e.g. the
        homes known to social care, housing and police.  UPRNs are validated and spreadsheet
        damage is undone where that is exact ('100012345678.0', '1.00012345678E+11', floats);
        blank, text, out-of-range and lossy values ('1.00012E+11') are counted per layer and
        never matched.  Writes a point layer (location from the first layer, in the order
        given, that has one for the UPRN; skipped when no input has locations), a CSV table of
        the properties with a true/false column per layer and n_layers, and two summary CSVs
        beside the table: <table>_by_n_layers.csv and <table>_pairwise.csv.  Inputs may be
        vector files, CSV (with or without coordinates) or Excel workbooks.
    """

    def parameters(self):
        return [
            MultipleLayerParameter("layers", "Record layers",
                                   "Two or more record files, separated by commas.", minimum=2),
            StringParameter("names", "Layer names",
                            "Names for the layers' columns, separated by commas; default: the file names.",
                            optional=True),
            StringParameter("uprn_column", "UPRN column",
                            "The UPRN column, one name for all layers or one per layer separated by commas.",
                            default="UPRN"),
            IntegerParameter("k", "At least k layers", "Minimum number of layers a property must be in.",
                             default=2, minimum=1),
            CrsParameter("crs", "CRS of files without one",
                         "Assumed for input files whose coordinates have no stated CRS.", optional=True),
            _vector_output("Point layer of the properties found: GeoPackage (.gpkg) by default."),
            OutputFileParameter("table", "Table file", "CSV table of the properties found.", optional=True,
                                extensions=[".csv"]),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "vector", "Point layer of the properties (None without locations)"),
            OutputDefinition("table", "file", "CSV of the properties with a column per layer"),
            OutputDefinition("by_n_layers", "file", "CSV: properties in exactly / at least n layers"),
            OutputDefinition("pairwise", "file", "CSV: properties shared by each pair of layers"),
            OutputDefinition("count", "integer", "Properties in at least k layers"),
            OutputDefinition("located", "integer", "Of which with a location"),
        ]

    def run(self, params: dict[str, Any], feedback: Feedback) -> dict[str, Any]:
        from gis_desk.analysis.overlap import multi_agency_overlap

        loaded = self.parameter("layers").load(params["layers"], crs=params["crs"])
        layers = dict(self._named(loaded, params["names"]))
        names = list(layers)
        feedback.set_progress(40)
        feedback.check_canceled()
        if params["k"] > len(names):
            raise ParameterError(f"parameter 'k': {params['k']} is more than the {len(names)} layers given",
                                 hint=f"choose k from 1 to {len(names)}")
        columns = _split_paths(params["uprn_column"])
        if len(columns) not in (1, len(names)):
            raise ParameterError(f"parameter 'uprn_column': give one column name or {len(names)} "
                                 f"(one per layer), got {len(columns)}")
        uprn_column = columns[0] if len(columns) == 1 else dict(zip(names, columns))
        result, summary = multi_agency_overlap(layers, uprn_column=uprn_column, k=params["k"])
        for line in summary.lines():
            feedback.info(line)
        feedback.set_progress(70)
        feedback.check_canceled()
        written = None
        if hasattr(result, "geometry"):
            written = write_vector_output(result, params["output"])
            if summary.located < summary.selected:
                feedback.warning(f"{summary.selected - summary.located} of the {summary.selected} properties "
                                 "have no location in any layer: they are in the table, without geometry")
        else:
            feedback.warning("No input layer has locations: only the table is written")
        table = Path(params["table"])
        plain = result.drop(columns=[result.geometry.name]) if hasattr(result, "geometry") else result
        _write_csv(plain, table)
        by_n = _write_csv(summary.by_n_layers, _sibling(str(table), "_by_n_layers.csv"))
        pairwise = _write_csv(summary.pairwise.reset_index(), _sibling(str(table), "_pairwise.csv"))
        return {"output": written, "table": str(table), "by_n_layers": by_n, "pairwise": pairwise,
                "count": summary.selected, "located": summary.located}

    @staticmethod
    def _named(loaded: list[tuple[str, Any]], names_text: str | None):
        if not names_text:
            return loaded
        names = _split_paths(names_text)
        if len(names) != len(loaded):
            raise ParameterError(f"parameter 'names': {len(names)} name(s) for {len(loaded)} layers",
                                 hint="give one name per layer, separated by commas")
        return [(name, frame) for name, (_, frame) in zip(names, loaded)]


# --- hexagon grid ----------------------------------------------------------------------------


class HexGrid(Algorithm):
    id = "builtins.hex_grid"
    display_name = "Hexagon grid"
    group = "Vector creation"
    description = """
        Create regular hexagons covering an extent or a layer (cells meeting the layer's
        polygons, lines or points).  The lattice is anchored at the CRS origin, so a cell keeps
        its hex_id ('<col>_<row>') in every grid of the same size and orientation.  Size: the
        side (= centre-to-vertex distance), the width across flats (= spacing of centres), the
        area in m², or hectares.  The CRS must be projected (metres).
    """

    def parameters(self):
        from gis_desk.analysis.hexgrid import ORIENTATIONS, SIZE_MEANINGS

        return [
            ExtentParameter("extent", "Extent", "Rectangle 'xmin,ymin,xmax,ymax[,EPSG:n]' to cover.", optional=True),
            VectorLayerParameter("layer", "Layer to cover", "Cells meeting its features are kept.", optional=True),
            NumberParameter("size", "Size", "Hexagon size; see size_is.", default=500.0, minimum=0.0),
            EnumParameter("size_is", "Size means", list(SIZE_MEANINGS), default="side"),
            EnumParameter("orientation", "Orientation", list(ORIENTATIONS), default="pointy"),
            CrsParameter("crs", "CRS", "Projected CRS of the grid; default: the layer's, the extent's, "
                                       "else British National Grid.", optional=True),
            _vector_output(),
        ]

    def outputs(self):
        return [OutputDefinition("output", "vector", "The hexagons"),
                OutputDefinition("count", "integer", "Number of hexagons")]

    def run(self, params: dict[str, Any], feedback: Feedback) -> dict[str, Any]:
        from gis_desk.analysis.hexgrid import hex_grid
        from gis_desk.core.crs import BNG

        if (params["extent"] is None) == (params["layer"] is None):
            raise ParameterError("Give either an extent or a layer to cover (not both)",
                                 hint="extent=xmin,ymin,xmax,ymax or layer=FILE")
        if params["size"] <= 0:
            raise ParameterError("parameter 'size': the hexagon size must be above 0")
        if params["layer"] is not None:
            target = self.parameter("layer").load(params["layer"])
            crs = params["crs"] or target.crs
        else:
            target = params["extent"]
            crs = params["crs"] or target.crs or BNG
        grid = hex_grid(target, params["size"], crs, orientation=params["orientation"], size_is=params["size_is"])
        feedback.set_progress(80)
        written = write_vector_output(grid, params["output"])
        feedback.info(f"Wrote {len(grid)} hexagon(s) to {written}")
        return {"output": written, "count": int(len(grid))}
