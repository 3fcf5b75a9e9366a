"""Processing algorithm: export a table or layer of counts with disclosure control.

``builtins.export_controlled`` applies a policy ('nhs', 'threshold:K') to the named count
fields of a layer and writes a GeoPackage (styled for QGIS, policy in its metadata) or a CSV
(suppressed cells as [c], README beside it), through ``gis_desk.io.exports``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gis_desk.errors import ParameterError
from gis_desk.processing.algorithm import Algorithm, OutputDefinition
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.parameters import (
    EnumParameter,
    OutputFileParameter,
    StringParameter,
    VectorLayerParameter,
)


def _names(text: str | None) -> list[str]:
    return [part.strip() for part in str(text or "").split(",") if part.strip()]


class ExportControlled(Algorithm):
    id = "builtins.export_controlled"
    display_name = "Export counts with disclosure control"
    group = "Records and deprivation"
    description = """
        Apply a disclosure-control policy to the count fields of a layer and export it for
        sharing.  Policies: 'nhs' (NHS Digital: counts 1-7 suppressed, others rounded to the
        nearest 5) or 'threshold:K' (counts below K suppressed; 'threshold' is K = 10); add
        ',zero' to suppress zeros too.  Further cells are suppressed so that no suppressed
        count can be worked out from the published totals (totals: 'column' = each field's
        total, 'row' = each row's total over the fields, 'both' = row, column and grand
        totals, 'none').  Fields derived from the counts (rates, shares) are emptied where a
        count is suppressed.  Output: GeoPackage (.gpkg, styled by the first count field, the
        policy in its metadata) or CSV (.csv, suppressed cells as [c], a README beside it).
        Each export is recorded in the project's export log when run from a project.
    """

    def parameters(self):
        return [
            VectorLayerParameter("input", "Layer of counts", "Areas (or any features) with count fields."),
            StringParameter("count_fields", "Count fields", "Comma-separated names of the count fields."),
            StringParameter("policy", "Disclosure control", "'nhs', 'threshold' or 'threshold:K' (',zero' to "
                                                            "suppress zeros too)."),
            EnumParameter("totals", "Published totals", ["column", "row", "both", "none"],
                          "Which totals the reader can see; suppression protects against them.", default="column"),
            StringParameter("derived_fields", "Derived fields",
                            "Comma-separated fields computed from the counts, emptied where a count is hidden.",
                            optional=True),
            StringParameter("layer_name", "Layer name", "GeoPackage layer name (default: the file name).",
                            optional=True),
            OutputFileParameter("output", "Output file", "GeoPackage (.gpkg) or CSV (.csv) to write.",
                                extensions=[".gpkg", ".csv"], default_extension=".gpkg"),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "file", "The file written"),
            OutputDefinition("count", "integer", "Rows written"),
            OutputDefinition("primary", "integer", "Cells suppressed as small"),
            OutputDefinition("secondary", "integer", "Cells suppressed to protect them"),
            OutputDefinition("policy", "string", "The policy applied"),
        ]

    def run(self, params: dict[str, Any], feedback: Feedback) -> dict[str, Any]:
        from gis_desk.analysis.disclosure import parse_policy
        from gis_desk.core.classify import graduated_style
        from gis_desk.io.exports import export_csv, export_geopackage

        try:
            policy = parse_policy(params["policy"])
        except ParameterError as exc:
            raise ParameterError(f"parameter 'policy': {exc.message}", hint=exc.hint) from exc
        counts = _names(params["count_fields"])
        if not counts:
            raise ParameterError("parameter 'count_fields': name at least one count field")
        derived = _names(params["derived_fields"])
        frame = self.parameter("input").load(params["input"])
        missing = [name for name in counts + derived if name not in frame.columns]
        if missing:
            fields = [c for c in frame.columns if c != frame.geometry.name]
            raise ParameterError(f"the layer has no field {', '.join(map(repr, missing))}",
                                 hint=f"fields: {', '.join(fields) or '(none)'}")
        feedback.set_progress(30)
        feedback.check_canceled()
        output = Path(params["output"])
        if output.suffix.lower() == ".csv":
            result = export_csv(frame, output, policy, counts, totals=params["totals"], derived_columns=derived)
        else:
            def style(controlled):  # classes from the published counts: raw ones would leak min and max
                shown = controlled[counts[0]]
                return graduated_style(controlled, counts[0]) if shown.notna().any() else None

            result = export_geopackage(frame, output, params["layer_name"] or output.stem, style, policy,
                                       count_columns=counts, totals=params["totals"], derived_columns=derived)
        feedback.set_progress(100)
        report = result.report
        feedback.info(report.summary())
        feedback.info(f"Exported {len(frame)} row(s) to {result.path} under {policy.label}")
        return {"output": str(result.path), "count": int(len(frame)), "primary": report.n_primary,
                "secondary": report.n_secondary, "policy": policy.label}
