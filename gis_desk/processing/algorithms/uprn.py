"""UPRN algorithms: import a gazetteer, and join council records to it as a point layer.

``builtins.uprn_import_gazetteer`` (CLI ``gis-desk uprn import-gazetteer``) turns an OS Open
UPRN / AddressBase-style CSV into a gazetteer store folder; ``builtins.uprn_join`` (``uprn
join``) places the rows of a CSV, XLSX or GeoPackage table at their UPRNs, writes the point
layer (GeoPackage by default) and the match report (JSON, plus the unmatched rows as CSV).
Both report progress and honour cancellation; neither writes a raw CHI/NHS number (records
are pseudonymised with the user's key unless explicitly told not to).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gis_desk.core.crs import crs_id
from gis_desk.errors import ParameterError
from gis_desk.io.atomic import atomic_write_text
from gis_desk.processing.algorithm import (
    VECTOR_OUTPUT_EXTENSIONS,
    Algorithm,
    OutputDefinition,
    write_vector_output,
)
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.parameters import (
    BoolParameter,
    CrsParameter,
    OutputFileParameter,
    Parameter,
    StringParameter,
)


class InputFileParameter(Parameter):
    """An existing file (or, with ``folder=True``, a folder) given by path.  Value: str."""

    kind = "file"

    def __init__(self, name: str, label: str, description: str = "", default: Any = None,
                 optional: bool = False, extensions: tuple[str, ...] = (), folder: bool = False) -> None:
        super().__init__(name, label, description, default, optional)
        self.extensions = [e.lower() for e in extensions]
        self.folder = folder

    def _extra(self) -> dict[str, Any]:
        return {"extensions": self.extensions, "folder": self.folder}

    def _check(self, value: Any) -> Any:
        path = Path(os.path.expanduser(str(value).strip()))
        if not path.exists():
            raise self.error("the file does not exist", path=path, hint="check the path")
        if self.folder and not path.is_dir():
            raise self.error("expected a folder (a gazetteer store)", path=path,
                             hint="give the folder an import-gazetteer run made")
        if not self.folder and path.is_dir():
            raise self.error("this is a folder, not a file", path=path)
        if self.extensions and not self.folder and path.suffix.lower() not in self.extensions:
            raise self.error(f"cannot read {path.suffix or 'files without an extension'!r} here", path=path,
                             hint=f"use one of: {', '.join(self.extensions)}")
        return str(path)


class StoreFolderParameter(Parameter):
    """A folder to create (a gazetteer store); its parent folder must exist.  Value: str."""

    kind = "output_folder"

    def _check(self, value: Any) -> Any:
        path = Path(os.path.expanduser(str(value).strip()))
        if not path.parent.is_dir():
            raise self.error("the folder to put it in does not exist", path=path.parent,
                             hint="create it first or choose another place")
        if path.exists() and not path.is_dir():
            raise self.error("a file with this name is in the way", path=path)
        return str(path)


class CompanionFileParameter(OutputFileParameter):
    """An output file that, when not given, goes beside the main output (value None: the
    algorithm names it) rather than into the temporary folder."""

    def validate(self, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return super().validate(value)


def _column(name: str, label: str, description: str) -> StringParameter:
    return StringParameter(name, label, description, optional=True)


class ImportGazetteer(Algorithm):
    id = "builtins.uprn_import_gazetteer"
    display_name = "Import UPRN gazetteer"
    group = "UPRN"
    description = """
        Import a CSV of UPRNs with coordinates (OS Open UPRN, AddressBase-style or any table
        with a UPRN column and X/Y or latitude/longitude) into a gazetteer store folder for
        fast lookups.  Columns are found by name unless given.  X_COORDINATE/Y_COORDINATE are
        British National Grid (EPSG:27700); latitude/longitude are WGS84; other X/Y columns
        need crs.  Rows with a blank or invalid UPRN or unusable coordinates are counted and
        left out; a repeated UPRN keeps its first row.  The store is written whole or not at
        all (a cancelled import leaves nothing).
    """

    def parameters(self):
        return [
            InputFileParameter("input", "Gazetteer CSV", "The CSV to import (.csv, .txt).",
                               extensions=(".csv", ".txt", ".tsv")),
            StoreFolderParameter("store", "Gazetteer store", "Folder to create, e.g. gb.uprn; "
                                 "replaced once the new store is complete."),
            _column("uprn_column", "UPRN column", "Default: the column named UPRN."),
            _column("x_column", "X column", "Default: X_COORDINATE, easting, x... (or longitude)."),
            _column("y_column", "Y column", "Default: Y_COORDINATE, northing, y... (or latitude)."),
            CrsParameter("crs", "Coordinate CRS", "CRS of the X/Y columns when their names do not say it.",
                         optional=True),
        ]

    def outputs(self):
        return [OutputDefinition("store", "file", "The gazetteer store folder"),
                OutputDefinition("stored", "integer", "Distinct UPRNs stored"),
                OutputDefinition("rows", "integer", "Data rows read"),
                OutputDefinition("invalid_uprn", "integer", "Rows without a valid UPRN"),
                OutputDefinition("bad_coordinates", "integer", "Rows with unusable coordinates"),
                OutputDefinition("duplicates", "integer", "Rows repeating a UPRN (first kept)"),
                OutputDefinition("crs", "string", "CRS of the stored coordinates"),
                OutputDefinition("rows_per_second", "number", "Import speed")]

    def run(self, params: dict[str, Any], feedback: Feedback) -> dict[str, Any]:
        from gis_desk.io.gazetteer import import_gazetteer

        if (params["x_column"] is None) != (params["y_column"] is None):
            raise ParameterError("Give both x_column and y_column, or neither")
        stats = import_gazetteer(params["input"], params["store"], feedback, uprn=params["uprn_column"],
                                 x=params["x_column"], y=params["y_column"], crs=params["crs"])
        d = stats.to_dict()
        return {"store": stats.store, "stored": stats.stored, "rows": stats.rows,
                "invalid_uprn": stats.invalid_uprn, "invalid_by_status": d["invalid_by_status"],
                "bad_coordinates": stats.bad_coordinates, "duplicates": stats.duplicates, "crs": stats.crs,
                "rows_per_second": round(stats.rows_per_second)}


class JoinRecords(Algorithm):
    id = "builtins.uprn_join"
    display_name = "Join records to UPRN gazetteer"
    group = "UPRN"
    description = """
        Place the rows of a CSV, XLSX or GeoPackage table at their UPRNs (looked up in a
        gazetteer store) and write them as a point layer in the gazetteer's CRS.  Every row is
        written: rows whose UPRN is invalid or not in the gazetteer have an empty geometry and
        matched = false.  Spreadsheet damage to UPRNs (100012345678.0) is undone only where
        lossless; 1.00012E+11 is reported as lossy, never guessed.  CHI and NHS number columns
        are replaced by keyed pseudonyms (the key stays in your user configuration) unless
        pseudonymise is false; drop_columns removes columns such as names or dates of birth.
        Writes the match report as JSON beside the layer (or to report) and the unmatched and
        invalid rows as CSV (unmatched).
    """

    def parameters(self):
        return [
            InputFileParameter("input", "Records", "CSV, XLSX or GeoPackage table with a UPRN column.",
                               extensions=(".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".gpkg")),
            InputFileParameter("gazetteer", "Gazetteer store", "Folder made by Import UPRN gazetteer.",
                               folder=True),
            _column("uprn_column", "UPRN column", "Default: found by name (UPRN...) or by content."),
            StringParameter("drop_columns", "Columns to drop",
                            "Comma-separated column names to leave out (names, dates of birth...).",
                            optional=True),
            BoolParameter("pseudonymise", "Pseudonymise identifiers",
                          "Replace CHI/NHS numbers by keyed pseudonyms (strongly recommended).", default=True),
            StringParameter("sheet", "Sheet", "XLSX: the sheet name (default the first).", optional=True),
            StringParameter("layer", "Table", "GeoPackage: the table (default the one with a UPRN column).",
                            optional=True),
            OutputFileParameter("output", "Output layer", "Point layer to write (.gpkg by default).",
                                optional=True, extensions=VECTOR_OUTPUT_EXTENSIONS, default_extension=".gpkg"),
            CompanionFileParameter("report", "Match report (JSON)", "Default: beside the output, <name>_match.json.",
                                optional=True, extensions=(".json",)),
            CompanionFileParameter("unmatched", "Unmatched rows (CSV)",
                                "Default: beside the output, <name>_unmatched.csv.", optional=True,
                                extensions=(".csv",)),
        ]

    def outputs(self):
        return [OutputDefinition("output", "vector", "The point layer written"),
                OutputDefinition("report", "file", "The match report (JSON)"),
                OutputDefinition("unmatched", "file", "Unmatched and invalid rows (CSV)"),
                OutputDefinition("count", "integer", "Features written (every input row)"),
                OutputDefinition("matched", "integer", "Rows placed at their UPRN"),
                OutputDefinition("unmatched_count", "integer", "Valid UPRNs not in the gazetteer"),
                OutputDefinition("invalid", "integer", "Rows without a usable UPRN"),
                OutputDefinition("match", "string", "The match report (counts)")]

    def run(self, params: dict[str, Any], feedback: Feedback) -> dict[str, Any]:
        from gis_desk.io.records import import_records

        drop = [c.strip() for c in (params["drop_columns"] or "").split(",") if c.strip()]
        sheet = params["sheet"]
        if sheet is not None and sheet.strip().isdigit():
            sheet = int(sheet)
        dataset, report = import_records(params["input"], params["gazetteer"], uprn_column=params["uprn_column"],
                                         pseudonymise=params["pseudonymise"], drop_columns=drop,
                                         feedback=feedback.child(0, 80), sheet=sheet, layer=params["layer"])
        if report.identifier_columns and not params["pseudonymise"]:
            feedback.warning("The output holds raw CHI/NHS numbers (pseudonymise=false)")
        feedback.check_canceled()
        output = write_vector_output(dataset.frame, params["output"])
        base = Path(output).with_suffix("")
        report_path = params["report"] or str(base) + "_match.json"
        unmatched_path = params["unmatched"] or str(base) + "_unmatched.csv"
        details = report.to_dict()
        details["output"] = output
        details["crs"] = crs_id(dataset.crs)
        atomic_write_text(report_path, json.dumps(details, indent=2, default=str))
        report.write_unmatched(unmatched_path)
        feedback.info(report.summary_text())
        return {"output": output, "report": str(report_path), "unmatched": str(unmatched_path),
                "count": report.total_rows, "matched": report.matched, "unmatched_count": report.unmatched,
                "invalid": report.invalid, "match": details}
