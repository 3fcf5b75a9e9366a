"""``gis-desk pointcloud``: point-cloud surveys from the command line (issue 4).

    gis-desk pointcloud info FILE [--crs EPSG:n] [--json]
    gis-desk pointcloud compare EPOCH1 EPOCH2 --out DIR [--stable-areas F] [--zones F] [--sections F]
                                [--params F] [--matrix M | --pairs F] [--no-icp] [--report R.pdf] [--json] ...
    gis-desk pointcloud register EPOCH1 EPOCH2 --out MATRIX.txt [--stable-areas F] [--matrix M | --pairs F]
    gis-desk pointcloud section EPOCH1 [EPOCH2] --lines F --out PLOT.png [--csv F] [--width W]

``compare``, ``register`` and ``section`` run the processing algorithms ``builtins.pc_compare``,
``builtins.pc_register`` and ``builtins.pc_sections`` (gis_desk.processing.algorithms.pointcloud)
through ``run_algorithm``: nothing is computed here.  ``--json`` prints the outputs as JSON on
stdout (``compare``: the whole comparison.json record plus the file paths); progress and messages
go to stderr.  Exit codes as the rest of the CLI: 0 done, 1 error, 2 bad parameters.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from gis_desk.errors import ParameterError


def add_parser(commands) -> None:
    pc = commands.add_parser("pointcloud", help="point-cloud surveys: info, compare epochs, register, sections",
                             description=__doc__.split("\n\n")[0])
    sub = pc.add_subparsers(dest="pointcloud_command", metavar="ACTION")
    sub.required = True

    info = sub.add_parser("info", help="what a point cloud file holds")
    info.add_argument("file", help="LAS/LAZ/COPC/PLY/E57/XYZ/PTS file")
    info.add_argument("--crs", help="CRS of a file that states none (e.g. EPSG:27700)")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(handler=run_info)

    cmp_ = sub.add_parser("compare", help="register epoch 2 onto epoch 1 and measure change (M3C2, DoD, zones)")
    cmp_.add_argument("epoch1", help="epoch 1 (reference) point cloud")
    cmp_.add_argument("epoch2", help="epoch 2 point cloud")
    cmp_.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder (created)")
    _registration_options(cmp_)
    cmp_.add_argument("--zones", metavar="FILE", help="zone polygons (structural elements)")
    cmp_.add_argument("--name-field", default="name", help="field naming the zones (default: name)")
    cmp_.add_argument("--sections", metavar="FILE", help="section lines")
    cmp_.add_argument("--params", metavar="FILE",
                      help="M3C2 parameters: CloudCompare parameter file (diameters) or JSON (radii)")
    cmp_.add_argument("--normal-radius", type=float, metavar="M", help="M3C2 normal radius (m)")
    cmp_.add_argument("--cylinder-radius", type=float, metavar="M", help="M3C2 cylinder radius (m)")
    cmp_.add_argument("--max-depth", type=float, metavar="M", help="M3C2 cylinder half-length (m)")
    cmp_.add_argument("--orientation", help="normals: up | towards:x,y,z | away:x,y,z | vx,vy,vz")
    cmp_.add_argument("--registration-error", type=float, metavar="M",
                      help="registration error added to the LoD (m; default: measured on the stable areas)")
    cmp_.add_argument("--core-n", type=int, default=10, metavar="N", help="core points: every N-th (default 10)")
    cmp_.add_argument("--core-spacing", type=float, metavar="M", help="core points: one per M-metre cell instead")
    cmp_.add_argument("--threshold", type=float, default=0.01, metavar="M",
                      help="change that matters in a zone (m, default 0.01)")
    cmp_.add_argument("--dod-cell", type=float, default=0.5, metavar="M", help="DoD cell size (m, default 0.5)")
    cmp_.add_argument("--dod-classes", default="2", help="ASPRS classes of the DoD (default 2, or 'all')")
    cmp_.add_argument("--labels", default="Epoch 1|Epoch 2", help="epoch labels separated by '|'")
    cmp_.add_argument("--site", help="site name for the record and report")
    cmp_.add_argument("--report", metavar="PDF", help="also write the PDF report")
    cmp_.add_argument("--json", action="store_true", help="print the comparison record as JSON")
    cmp_.set_defaults(handler=run_compare)

    reg = sub.add_parser("register", help="find the matrix placing epoch 2 onto epoch 1")
    reg.add_argument("epoch1", help="epoch 1 (reference)")
    reg.add_argument("epoch2", help="epoch 2 (to move)")
    reg.add_argument("--out", "-o", required=True, metavar="MATRIX.txt", help="matrix file to write")
    _registration_options(reg)
    reg.add_argument("--json", action="store_true", help="print the outputs as JSON")
    reg.set_defaults(handler=run_register)

    sec = sub.add_parser("section", help="section profiles of one or two epochs along lines")
    sec.add_argument("epoch1", help="first point cloud")
    sec.add_argument("epoch2", nargs="?", help="second point cloud (registered)")
    sec.add_argument("--lines", required=True, metavar="FILE", help="section lines (vector file)")
    sec.add_argument("--out", "-o", required=True, metavar="PLOT", help="PNG, SVG or PDF to write")
    sec.add_argument("--csv", metavar="FILE", help="also write the profile points as CSV (default: beside the plot)")
    sec.add_argument("--width", type=float, default=0.5, metavar="M", help="strip width (m, default 0.5)")
    sec.add_argument("--label-field", default="name", help="field naming the lines")
    sec.add_argument("--labels", default="Epoch 1|Epoch 2", help="epoch labels separated by '|'")
    sec.add_argument("--json", action="store_true", help="print the outputs as JSON")
    sec.set_defaults(handler=run_section)


def _registration_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stable-areas", metavar="FILE", help="polygons of what did not move (ICP uses only these)")
    p.add_argument("--matrix", metavar="M", help="coarse matrix: a matrix .txt file or 12/16 numbers")
    p.add_argument("--pairs", metavar="FILE", help="point pairs: x2 y2 z2 x1 y1 z1 per line")
    p.add_argument("--no-icp", action="store_true", help="no ICP refinement (matrix or pairs only)")
    p.add_argument("--icp-max-distance", type=float, default=0.3, metavar="M",
                   help="ICP correspondence distance (m, default 0.3)")


# --- handlers ----------------------------------------------------------------------------------------


def run_info(args: argparse.Namespace) -> int:
    from gis_desk.cli.main import print_json, to_jsonable
    from gis_desk.io.pointcloud import read_pointcloud

    datasets = read_pointcloud(args.file, crs=args.crs)
    infos = [to_jsonable(ds.info()) for ds in datasets]
    if args.json:
        print_json(infos[0] if len(infos) == 1 else infos)
        return 0
    for info in infos:
        for key, value in info.items():
            if isinstance(value, float):
                value = f"{value:,.3f}"
            elif isinstance(value, int) and not isinstance(value, bool):
                value = f"{value:,}"
            elif isinstance(value, (list, tuple)):
                value = ", ".join(f"{v:,.3f}" if isinstance(v, float) else str(v) for v in value) or "none"
            elif isinstance(value, dict):
                value = ", ".join(f"{k} ({v})" for k, v in value.items()) or "none"
            print(f"{key}: {value}")
        if len(infos) > 1:
            print()
    return 0


def _run(algorithm, params: dict[str, Any]) -> dict[str, Any]:
    from gis_desk.cli.algorithms import _StderrProgress
    from gis_desk.processing.feedback import Feedback
    from gis_desk.processing.run import run_algorithm

    printer = _StderrProgress()
    feedback = Feedback(on_progress=printer.progress, on_message=printer.message)
    try:
        return run_algorithm(algorithm, {k: v for k, v in params.items() if v is not None}, feedback)
    finally:
        printer.done()


def _registration_params(args: argparse.Namespace) -> dict[str, Any]:
    return {"stable_areas": args.stable_areas, "coarse_matrix": args.matrix, "point_pairs": args.pairs,
            "icp": not args.no_icp}


def run_compare(args: argparse.Namespace) -> int:
    from gis_desk.cli.main import print_json
    from gis_desk.processing.algorithms.pointcloud import CompareEpochs

    params = {
        "epoch1": args.epoch1, "epoch2": args.epoch2, **_registration_params(args),
        "icp_max_distance": args.icp_max_distance, "zones": args.zones, "name_field": args.name_field,
        "sections": args.sections, "params_file": args.params, "normal_radius": args.normal_radius,
        "cylinder_radius": args.cylinder_radius, "max_depth": args.max_depth, "orientation": args.orientation,
        "registration_error": args.registration_error, "core_n": args.core_n,
        "core_mode": "grid" if args.core_spacing else "every_nth", "core_spacing": args.core_spacing,
        "threshold": args.threshold, "dod_cell": args.dod_cell, "dod_classes": args.dod_classes,
        "epoch_labels": args.labels, "site": args.site, "output_folder": args.out, "report": args.report,
    }
    if args.report and Path(args.report).suffix.lower() != ".pdf":
        raise ParameterError(f"--report must be a .pdf file, not {args.report!r}")
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise ParameterError("--out must be a folder; this is a file", path=out)
    out.mkdir(parents=True, exist_ok=True)  # before validation: --report may go inside it
    algorithm = CompareEpochs()
    outputs = _run(algorithm, params)
    result = algorithm.last_result
    if args.json:
        record = json.loads(Path(outputs["comparison_json"]).read_text(encoding="utf-8"))
        record["outputs"] = {k: v for k, v in outputs.items() if isinstance(v, str) and v}
        print_json(record)
        return 0
    _print_comparison(result, outputs)
    return 0


def _mm(value: float) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value * 1000:+.1f}"


def _print_comparison(result, outputs: dict[str, Any]) -> None:
    from gis_desk.cli.main import print_table

    reg = result.registration
    if reg is not None:
        rms = "" if not math.isfinite(reg.rms) else f", RMS {reg.rms * 1000:.1f} mm"
        overlap = "" if not math.isfinite(reg.overlap) else f", overlap {reg.overlap:.0%}"
        print(f"registration: {reg.method}{rms}{overlap}, {reg.n_correspondences:,} correspondences")
    print(f"registration error in the LoD: {result.registration_error * 1000:.1f} mm "
          f"({result.registration_error_source})")
    s = result.summary()
    print(f"M3C2: {s['core_points']:,} core points, {s['defined']:,} with a distance, {s['significant']:,} "
          f"significant ({s['share_significant']:.1%}), median LoD95 {s['median_lod95_m'] * 1000:.1f} mm")
    if result.dod is not None:
        d = result.dod
        print(f"DoD ({d.cell_size:g} m cells): loss {d.loss_m3:.3f} m3, gain {d.gain_m3:.3f} m3, "
              f"net {d.net_m3:+.3f} m3")
    if result.zones is not None:
        z = result.zones
        name = result.settings.zone_name_field
        rows = [[str(r[name]), f"{int(r['n_points']):,}", _mm(r["median_change_m"]), _mm(r["p95_abs_change_m"]).lstrip("+"),
                 f"{r['share_significant']:.1%}" if math.isfinite(r["share_significant"]) else "-",
                 "-" if not math.isfinite(r["lean_mrad"]) else f"{r['lean_mrad']:.2f}",
                 "-" if not math.isfinite(r["volume_change_m3"]) else f"{r['volume_change_m3']:+.3f}",
                 r["exceeds_reason"] if r["exceeds"] else ""]
                for _, r in z.iterrows()]
        print()
        print_table(rows, ["zone", "points", "median mm", "p95 |mm|", "significant", "lean mrad", "volume m3",
                           "exceeds"])
        print()
    print(f"outputs: {outputs['output_folder']}")
    if outputs.get("report"):
        print(f"report: {outputs['report']}")


def run_register(args: argparse.Namespace) -> int:
    from gis_desk.cli.main import print_json, to_jsonable
    from gis_desk.processing.algorithms.pointcloud import RegisterEpochs

    outputs = _run(RegisterEpochs(), {"epoch1": args.epoch1, "epoch2": args.epoch2, **_registration_params(args),
                                      "max_distance": args.icp_max_distance, "output": args.out})
    if args.json:
        print_json(outputs)
    else:
        for name, value in outputs.items():
            print(f"{name}: {to_jsonable(value)}")
    return 0


def run_section(args: argparse.Namespace) -> int:
    from gis_desk.cli.main import print_json, to_jsonable
    from gis_desk.processing.algorithms.pointcloud import SectionProfiles

    csv = args.csv or str(Path(args.out).with_suffix(".csv"))
    outputs = _run(SectionProfiles(), {"epoch1": args.epoch1, "epoch2": args.epoch2, "lines": args.lines,
                                       "label_field": args.label_field, "width": args.width,
                                       "epoch_labels": args.labels, "output": args.out, "output_csv": csv})
    if args.json:
        print_json(outputs)
    else:
        for name, value in outputs.items():
            print(f"{name}: {to_jsonable(value)}")
    return 0
