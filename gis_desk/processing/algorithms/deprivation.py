"""Deprivation join as a processing algorithm: boundaries + index table -> styled-ready layer.

``builtins.deprivation_join`` reads a boundary layer (LSOAs or data zones) and a SIMD 2020, IMD
2019 or IoD2025 table, joins them by area code (``gis_desk.io.deprivation.join_deprivation``)
and writes the boundaries with the index fields (``IMD_rank``, ``IMD_decile``,
``IMD_quintile``, domain fields) plus a JSON report of what matched and what did not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gis_desk.io.deprivation import INDEXES, join_deprivation, load_deprivation_table
from gis_desk.processing.algorithm import VECTOR_OUTPUT_EXTENSIONS, Algorithm, OutputDefinition, write_vector_output
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.parameters import (
    EnumParameter,
    OutputFileParameter,
    Parameter,
    StringParameter,
    VectorLayerParameter,
)

AUTO = "auto"


class InputFileParameter(Parameter):
    """An existing file to read (not a map layer), with one of ``extensions``.  Value: a path."""

    kind = "input_file"

    def __init__(self, name: str, label: str, description: str = "", default: Any = None,
                 optional: bool = False, extensions: tuple[str, ...] = ()) -> None:
        super().__init__(name, label, description, default, optional)
        self.extensions = [e.lower() for e in extensions]

    def _extra(self) -> dict[str, Any]:
        return {"extensions": self.extensions}

    def _check(self, value: Any) -> Any:
        path = Path(os.path.expanduser(str(value).strip()))
        if not path.is_file():
            raise self.error("the file does not exist", path=path,
                             hint="check the path; it may have been moved or renamed")
        if self.extensions and path.suffix.lower() not in self.extensions:
            raise self.error(f"cannot read {path.suffix or 'extension-less'!r} files", path=path,
                             hint=f"use one of: {', '.join(self.extensions)}")
        return str(path)


class SidecarOutputParameter(OutputFileParameter):
    """An optional output file that, when not given, goes beside the main output (the
    algorithm decides where) instead of into a temporary folder.  Value: a path or None."""

    def validate(self, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return super().validate(value)


def default_report_path(output: str | Path) -> str:
    """The report written beside ``output``: 'lsoa_imd.gpkg' -> 'lsoa_imd.report.json'."""
    output = Path(output)
    return str(output.with_name(output.stem + ".report.json"))


class DeprivationJoin(Algorithm):
    id = "builtins.deprivation_join"
    display_name = "Join deprivation index"
    group = "Deprivation"
    description = """
        Join a deprivation index table to a boundary layer by area code and write the boundaries
        with the index fields: IMD_rank (1 = most deprived), IMD_decile (1 = most deprived 10%),
        IMD_quintile (deciles 1-2 -> 1 ... 9-10 -> 5) and the domain fields of the table.
        Tables: SIMD 2020 (2011 data zones), IMD 2019 (2011 LSOAs) and IoD2025 (2021 LSOAs), as
        CSV or Excel in the published layouts; the index is detected unless chosen.  The area
        code column of the boundaries (LSOA11CD, LSOA21CD, DataZone, area_code...) is detected
        unless named.  Every boundary feature is kept (empty fields where its code has no row).
        The report (JSON) lists boundary codes missing from the table and table codes without a
        boundary, and warns when the boundaries are another vintage than the index (2021 LSOAs
        with IMD 2019...).  Fails when no feature matches.  The CRS of the boundaries is kept.
    """

    def parameters(self):
        return [
            VectorLayerParameter("boundaries", "Boundary layer", "LSOAs or data zones with an area code field.",
                                 geometry_types=["Polygon"]),
            InputFileParameter("table", "Deprivation table",
                               "The index as published: CSV (.csv) or Excel (.xlsx, .xls, .ods).",
                               extensions=(".csv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods")),
            EnumParameter("index", "Index", [AUTO, *INDEXES],
                          "Which index the table is; 'auto' detects it from its area codes and columns.",
                          default=AUTO),
            StringParameter("area_code_column", "Area code field",
                            "The boundary field holding LSOA or data zone codes; detected when empty.",
                            optional=True),
            OutputFileParameter("output", "Output file",
                                "Boundaries with the index fields: GeoPackage (.gpkg) by default.",
                                optional=True, extensions=VECTOR_OUTPUT_EXTENSIONS, default_extension=".gpkg"),
            SidecarOutputParameter("report", "Report file",
                                   "JSON report of the join; default: beside the output as <name>.report.json.",
                                   optional=True, extensions=(".json",)),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "vector", "The boundaries with the index fields"),
            OutputDefinition("report", "file", "The JSON report of the join"),
            OutputDefinition("index", "string", "The index joined: SIMD2020, IMD2019 or IoD2025"),
            OutputDefinition("count", "integer", "Number of features written"),
            OutputDefinition("matched", "integer", "Features whose code has a row in the table"),
            OutputDefinition("unmatched", "integer", "Features whose code has no row (or no code)"),
        ]

    def run(self, params: dict[str, Any], feedback: Feedback) -> dict[str, Any]:
        boundaries = self.parameter("boundaries").load(params["boundaries"])
        feedback.set_progress(10)
        feedback.check_canceled()
        index = None if params["index"] == AUTO else params["index"]
        table = load_deprivation_table(params["table"], index=index)
        feedback.info(f"Read {table.label}: {len(table):,} areas from {params['table']}")
        for note in table.notes:
            feedback.info(note)
        feedback.set_progress(40)
        feedback.check_canceled()
        joined, report = join_deprivation(boundaries, table, area_code_column=params["area_code_column"] or None)
        for line in report.summary().splitlines():
            if not line.startswith("warning: "):
                feedback.info(line)
        for warning in report.warnings:
            feedback.warning(warning)
        feedback.set_progress(70)
        feedback.check_canceled()
        written = write_vector_output(joined, params["output"])
        report_path = params["report"] or default_report_path(written)
        payload = {"algorithm": self.id, "boundaries": _describe(params["boundaries"]),
                   "table": table.source, "output": written, **report.to_dict()}
        from gis_desk.io.atomic import atomic_write_text

        atomic_write_text(report_path, json.dumps(payload, indent=2))
        feedback.info(f"Wrote {len(joined)} feature(s) to {written} and the report to {report_path}")
        return {"output": written, "report": str(report_path), "index": table.index, "count": len(joined),
                "matched": report.matched_features, "unmatched": report.unmatched_features}


def _describe(value: Any) -> str | None:
    """A file path for the report (layers and datasets name their source)."""
    if isinstance(value, str):
        return value
    source = getattr(value, "source", None) or getattr(getattr(value, "dataset", None), "source", None)
    return getattr(source, "path", None)
