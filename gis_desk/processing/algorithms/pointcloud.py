"""Processing algorithms for two-epoch point-cloud surveys (issue 4).

``builtins.pc_register`` (RegisterEpochs), ``builtins.pc_m3c2`` (M3C2), ``builtins.pc_dod``
(DemOfDifference), ``builtins.pc_zone_stats`` (ZoneStatistics), ``builtins.pc_compare``
(CompareEpochs: the whole pipeline to an output folder), ``builtins.pc_sections``
(SectionProfiles) and ``builtins.pc_c2c`` (CloudToCloud).  Each is a thin form over ``gis_desk.analysis`` (registration, m3c2, dod,
zones, section, change), so the GUI, ``gis-desk algorithms run`` and ``gis-desk pointcloud``
compute the same figures.  Point clouds are given as files or point-cloud layers: a layer's
``transform`` (e.g. epoch 2 already registered) is applied, the file is never rewritten.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from gis_desk.errors import DataError, ParameterError
from gis_desk.processing.algorithm import Algorithm, OutputDefinition, write_vector_output
from gis_desk.processing.feedback import Feedback
from gis_desk.processing.parameters import (
    BoolParameter,
    EnumParameter,
    IntegerParameter,
    NumberParameter,
    OutputFileParameter,
    RasterLayerParameter,
    StringParameter,
    VectorLayerParameter,
    _LayerParameter,
)

GROUP = "Point cloud change"


class PointCloudParameter(_LayerParameter):
    """A point cloud: a file (.las/.laz/.ply/.e57/.xyz/.pts), a point-cloud layer (its
    ``transform`` applied), a PointCloudDataset or a PointCloud.  ``load`` gives a PointCloud."""

    kind = "pointcloud"
    kind_word = "point cloud"

    def _check(self, value: Any) -> Any:
        from gis_desk.core.pointcloud import PointCloud, PointCloudLayer

        if isinstance(value, PointCloudLayer):
            cloud = value.transformed_cloud()
            if cloud is None:
                raise self.error(f"layer '{value.name}' has no data (its file is missing)",
                                 hint="re-point the layer to its file first")
            return cloud
        if isinstance(value, PointCloud):
            return value
        return super()._check(value)

    def _accepts(self, value: Any) -> bool:
        from gis_desk.core.pointcloud import PointCloudDataset

        return isinstance(value, PointCloudDataset)

    def load(self, value: Any):
        from gis_desk.analysis.change import load_epoch
        from gis_desk.core.pointcloud import PointCloud

        if isinstance(value, PointCloud):
            return value
        if isinstance(value, (str, Path)):
            return load_epoch(value)
        return value.cloud


# --- shared helpers ---------------------------------------------------------------------------------


def parse_matrix(text: str | None) -> np.ndarray | None:
    """A 4x4 rigid matrix from 12/16 numbers or from a CloudCompare-style matrix file."""
    from gis_desk.analysis.registration import parse_transform, read_transform

    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    if len(text) < 500 and Path(text).expanduser().is_file():
        return read_transform(Path(text).expanduser())
    return parse_transform(text)


def parse_orientation(text: str | None):
    """'up' | 'towards:x,y,z' | 'away:x,y,z' | 'x,y,z' (a direction) | 'towards_barycentre' |
    'away_from_barycentre' -> M3C2Params.normal_orientation."""
    if text is None or not str(text).strip():
        return None
    t = str(text).strip().lower()
    if t in ("up", "towards_barycentre", "away_from_barycentre"):
        return t
    head, _, rest = t.partition(":")

    def numbers(s: str) -> tuple[float, float, float]:
        try:
            v = tuple(float(x) for x in s.replace(";", ",").split(","))
        except ValueError:
            v = ()
        if len(v) != 3 or not all(math.isfinite(x) for x in v):
            raise ParameterError(f"Normal orientation {text!r}: expected three numbers",
                                 hint="e.g. up, towards:378902.6,392606.3,130, or 0,1,0")
        return v  # type: ignore[return-value]

    if head in ("towards", "away") and rest:
        return (head, numbers(rest))
    return numbers(t)


def m3c2_params_from(params: dict[str, Any], feedback: Feedback | None = None):
    """M3C2Params from an optional parameter file plus any values given explicitly (which win).
    Returns (params, CloudCompare core-subsampling radius or None)."""
    from dataclasses import replace

    from gis_desk.analysis.change import load_m3c2_params
    from gis_desk.analysis.m3c2 import M3C2Params

    spacing = None
    if params.get("params_file"):
        base, notes, spacing = load_m3c2_params(params["params_file"])
        for note in notes:
            if feedback is not None:
                feedback.warning(f"M3C2 parameter file: {note}")
    else:
        base = M3C2Params()
    changes = {k: params[k] for k in ("normal_radius", "cylinder_radius", "max_depth", "registration_error",
                                      "min_points") if params.get(k) is not None}
    if params.get("use_median"):
        changes["use_median"] = True
    orientation = parse_orientation(params.get("orientation"))
    if orientation is not None:
        changes["normal_orientation"] = orientation
    if "min_points" in changes:
        changes["min_points"] = int(changes["min_points"])
    out = replace(base, **changes)
    try:
        out.validate()
    except ParameterError as exc:
        raise ParameterError(exc.message, hint=exc.hint) from None
    return out, spacing


def _m3c2_parameters(*, with_registration_error: bool = True) -> list:
    out = [
        StringParameter("params_file", "M3C2 parameter file",
                        "CloudCompare M3C2 parameter file (INI, diameters) or JSON (radii); values given "
                        "below override it.", optional=True),
        NumberParameter("normal_radius", "Normal radius", "Radius of the normal fit (m; CloudCompare: half "
                        "its 'normal scale' diameter). Default 0.5.", optional=True, minimum=0.0, unit="m"),
        NumberParameter("cylinder_radius", "Cylinder radius", "Radius of the projection cylinder (m; half "
                        "CloudCompare's 'projection scale'). Default 0.5.", optional=True, minimum=0.0, unit="m"),
        NumberParameter("max_depth", "Cylinder half-length", "Search depth along the normal, each way (m). "
                        "Default 3.", optional=True, minimum=0.0, unit="m"),
        StringParameter("orientation", "Normal orientation",
                        "up | towards:x,y,z | away:x,y,z | vx,vy,vz | towards_barycentre | away_from_barycentre. "
                        "Change reads positive along the oriented normal.", optional=True),
        IntegerParameter("min_points", "Minimum points", "Fewest points per epoch in a cylinder for a "
                         "distance. Default 5.", optional=True, minimum=1),
        BoolParameter("use_median", "Median and IQR", "Use the median position and the interquartile range "
                      "instead of mean and standard deviation.", default=False),
    ]
    if with_registration_error:
        out.append(NumberParameter("registration_error", "Registration error",
                                   "Added to the LoD: LoD95 = 1.96 (sqrt(s1^2/n1 + s2^2/n2) + reg) (m).",
                                   optional=True, minimum=0.0, unit="m"))
    return out


def _core_parameters() -> list:
    return [
        EnumParameter("core_mode", "Core points", ["every_nth", "grid", "all"],
                      "every_nth: every n-th point of epoch 1; grid: one per cell of core_spacing; all: every "
                      "point.", default="every_nth"),
        IntegerParameter("core_n", "Every n-th point", "n for core_mode=every_nth.", default=10, minimum=1),
        NumberParameter("core_spacing", "Core spacing", "Cell size for core_mode=grid (m).", default=0.25,
                        minimum=0.0, unit="m"),
    ]


def _classes(text: str | None) -> tuple[int, ...] | None:
    if text is None or not str(text).strip() or str(text).strip().lower() in ("all", "none"):
        return None
    try:
        return tuple(int(c) for c in str(text).replace(";", ",").split(",") if c.strip())
    except ValueError:
        raise ParameterError(f"Classes {text!r}: give ASPRS class numbers separated by commas, e.g. 2 or 2,9") \
            from None


def _polygons(param, value, crs) -> list | None:
    if value is None:
        return None
    frame = param.load(value, crs=crs)
    if crs is not None and frame.crs is not None:
        frame = frame.to_crs(crs)
    polys = list(frame.explode(index_parts=False).geometry)
    bad = {g.geom_type for g in polys if g is None or g.geom_type not in ("Polygon", "MultiPolygon")}
    if bad:
        raise ParameterError(f"parameter '{param.name}': polygons are needed, not {', '.join(sorted(map(str, bad)))}")
    return polys


def _crs_text(cloud) -> str:
    from gis_desk.core.crs import crs_id

    return "" if cloud.crs is None else (crs_id(cloud.crs) or cloud.crs.to_string())


def _temp_folder(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


# --- algorithms ---------------------------------------------------------------------------------------


class RegisterEpochs(Algorithm):
    id = "builtins.pc_register"
    display_name = "Register epochs (coarse + ICP on stable areas)"
    group = GROUP
    description = """
        Finds the rigid transform that places epoch 2 onto epoch 1.  Start from a coarse matrix
        (12 or 16 numbers, or a CloudCompare matrix .txt) or from point pairs (a text file of
        six numbers per line: x y z in epoch 2 then the same point's x y z in epoch 1, at least
        three pairs); then, unless icp is false, point-to-plane ICP refines it using only points
        inside the stable-area polygons (what did not move: abutments, banks, buildings).
        Reports RMS, overlap, correspondences and the residual spread; writes the matrix as a
        CloudCompare-style text file.  The clouds themselves are not rewritten: apply the matrix
        to the epoch 2 layer (its transform).
    """

    def parameters(self):
        return [
            PointCloudParameter("epoch1", "Epoch 1 (reference)", "The cloud that stays put."),
            PointCloudParameter("epoch2", "Epoch 2 (to move)", "The cloud to place onto epoch 1."),
            VectorLayerParameter("stable_areas", "Stable areas", "Polygons of what did not change (ICP uses "
                                 "only points inside).", optional=True, geometry_types=["Polygon"]),
            StringParameter("coarse_matrix", "Coarse matrix", "12/16 numbers or a matrix .txt file (epoch 2 -> "
                            "epoch 1).", optional=True),
            StringParameter("point_pairs", "Point pairs file", "Text/CSV: x2 y2 z2 x1 y1 z1 per line.",
                            optional=True),
            BoolParameter("icp", "Refine with ICP", "Point-to-plane ICP after the coarse step.", default=True),
            NumberParameter("max_distance", "ICP max distance", "Correspondences further apart are ignored (m).",
                            default=0.3, minimum=0.0, unit="m"),
            NumberParameter("voxel_size", "ICP thinning", "Voxel size that thins both clouds for ICP (m; 0 = "
                            "none).", default=0.05, minimum=0.0, unit="m"),
            IntegerParameter("max_iterations", "ICP iterations", "Most ICP iterations.", default=50, minimum=1),
            OutputFileParameter("output", "Matrix file", "Where to write the 4x4 matrix (.txt).", optional=True,
                                extensions=[".txt"]),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "file", "The matrix file"),
            OutputDefinition("matrix", "string", "The 4x4 matrix, 16 numbers row by row"),
            OutputDefinition("rms", "number", "RMS of the final residuals (m)"),
            OutputDefinition("overlap", "number", "Share of epoch 2 stable points with a correspondence"),
            OutputDefinition("n_correspondences", "integer", "Correspondences used"),
            OutputDefinition("registration_error", "number", "Residual spread (m)"),
            OutputDefinition("method", "string", "How the matrix was found"),
            OutputDefinition("translation_m", "string", "Translation at the clouds' centre, dE dN dz (m)"),
            OutputDefinition("rotation_mrad", "number", "Rotation angle (mrad)"),
        ]

    def run(self, params, feedback):
        from gis_desk.analysis import registration as reg
        from gis_desk.analysis.change import check_epochs, load_point_pairs

        e1 = self.parameter("epoch1").load(params["epoch1"])
        e2 = self.parameter("epoch2").load(params["epoch2"])
        init = parse_matrix(params["coarse_matrix"])
        check_epochs(e1, e2, matrix=init)
        stable = _polygons(self.parameter("stable_areas"), params["stable_areas"], e1.crs)
        feedback.set_progress(5)
        result = None
        if params["point_pairs"]:
            src, dst = load_point_pairs(params["point_pairs"])
            result = reg.pairs_result(src, dst)
            init = result.matrix
            feedback.info(f"Point pairs: {len(src)} pairs, RMS {result.rms * 1000:.1f} mm")
        if params["icp"]:
            if not stable:
                feedback.warning("ICP on every point: give stable areas so that what moved does not pull "
                                 "the registration")
            result = reg.icp(e2.xyz, e1.xyz, init=init, stable_areas=stable, max_distance=params["max_distance"],
                             voxel_size=params["voxel_size"] or None, max_iterations=params["max_iterations"],
                             feedback=feedback.child(5, 95))
        elif result is None:
            if init is None:
                raise ParameterError("Nothing to register with: give a coarse matrix or point pairs, or turn ICP on")
            result = reg.RegistrationResult(matrix=init, rms=math.nan, overlap=math.nan, n_correspondences=0,
                                            registration_error=0.0, method="coarse matrix", iterations=0,
                                            notes=["matrix given by the user"])
        for note in result.notes:
            feedback.info(note)
        path = params["output"] or str(_temp_folder("pc_register_") / "registration_matrix.txt")
        Path(path).write_text(reg.format_transform(result.matrix), encoding="utf-8")
        centre = e2.xyz.mean(axis=0)
        moved = centre @ result.matrix[:3, :3].T + result.matrix[:3, 3]
        return {
            "output": path, "matrix": " ".join(f"{v:.12g}" for v in np.asarray(result.matrix).ravel()),
            "rms": float(result.rms), "overlap": float(result.overlap),
            "n_correspondences": int(result.n_correspondences), "registration_error": float(result.registration_error),
            "method": result.method, "translation_m": " ".join(f"{v:.4f}" for v in moved - centre),
            "rotation_mrad": float(reg.rotation_angle(result.matrix) * 1000),
        }


class M3C2(Algorithm):
    id = "builtins.pc_m3c2"
    display_name = "M3C2 distances"
    group = GROUP
    description = """
        Multiscale Model to Model Cloud Comparison (Lague et al. 2013), compatible with
        CloudCompare and py4dgeo: at core points of epoch 1, normals from a local plane fit,
        then the distance between the mean (or median) positions of both epochs inside a
        cylinder along the normal, with the level of detection LoD95 = 1.96 (sqrt(s1^2/n1 +
        s2^2/n2) + registration error) and a significance flag.  Radii are metres (a
        CloudCompare parameter file holds diameters and is converted).  Epoch 2 must already be
        registered (use a registered layer, or Register epochs first).  Writes the core points
        with m3c2_distance, lod95, significant, n1, n2, spread1, spread2 and normals as a LAZ.
    """

    def parameters(self):
        return [
            PointCloudParameter("epoch1", "Epoch 1 (reference)", "Core points and normals come from it."),
            PointCloudParameter("epoch2", "Epoch 2 (compared)", "Registered onto epoch 1."),
            *_m3c2_parameters(), *_core_parameters(),
            OutputFileParameter("output", "Change cloud", "LAS/LAZ of the core points with the M3C2 fields.",
                                optional=True, extensions=[".laz", ".las"]),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "file", "The change cloud (LAZ)"),
            OutputDefinition("core_points", "integer", "Core points"),
            OutputDefinition("defined", "integer", "Core points with a distance"),
            OutputDefinition("significant", "integer", "Core points whose |distance| > LoD95"),
            OutputDefinition("median_distance_m", "number", "Median distance (m)"),
            OutputDefinition("median_lod95_m", "number", "Median LoD95 (m)"),
        ]

    def run(self, params, feedback):
        from gis_desk.analysis.change import check_epochs
        from gis_desk.analysis.m3c2 import core_points, m3c2
        from gis_desk.io.pointcloud import write_pointcloud

        e1 = self.parameter("epoch1").load(params["epoch1"])
        e2 = self.parameter("epoch2").load(params["epoch2"])
        check_epochs(e1, e2)
        m3c2_params, _ = m3c2_params_from(params, feedback)
        core = core_points(e1.xyz, params["core_mode"], params["core_n"], params["core_spacing"])
        feedback.info(f"M3C2 at {len(core):,} core points: normal radius {m3c2_params.normal_radius:g} m, "
                      f"cylinder radius {m3c2_params.cylinder_radius:g} m, depth {m3c2_params.max_depth:g} m")
        result = m3c2(e1.xyz, e2.xyz, core, m3c2_params, feedback=feedback.child(0, 95))
        cloud = result.as_pointcloud(e1.crs)
        path = params["output"] or str(_temp_folder("pc_m3c2_") / "m3c2_change.laz")
        write_pointcloud(path, cloud)
        ok = np.isfinite(result.distance)
        return {
            "output": path, "core_points": int(len(core)), "defined": int(ok.sum()),
            "significant": int(result.significant.sum()),
            "median_distance_m": float(np.median(result.distance[ok])) if ok.any() else math.nan,
            "median_lod95_m": float(np.median(result.lod95[ok])) if ok.any() else math.nan,
        }


class CloudToCloud(Algorithm):
    id = "builtins.pc_c2c"
    display_name = "Cloud-to-cloud distances (C2C)"
    group = GROUP
    description = """
        For every point of the compared cloud, the distance to the nearest point of the
        reference, or to a least-squares plane through its k nearest reference points (less
        sensitive to point spacing), split into a horizontal part and a signed vertical part
        (compared above reference is positive).  A quick look before M3C2: no level of
        detection.  Writes the compared cloud with c2c_distance, c2c_horizontal and c2c_vertical.
    """

    def parameters(self):
        return [
            PointCloudParameter("reference", "Reference cloud", "Usually epoch 1."),
            PointCloudParameter("compared", "Compared cloud", "Usually epoch 2, registered."),
            EnumParameter("model", "Local model", ["nearest", "plane"], "Nearest point, or a local plane.",
                          default="plane"),
            IntegerParameter("k", "Neighbours for the plane", "Reference points the plane is fitted to.",
                             default=6, minimum=3, maximum=100),
            NumberParameter("max_distance", "Maximum distance (m)", "Farther points get no distance (0: no limit).",
                            default=0.0, minimum=0.0),
            OutputFileParameter("output", "Distance cloud", "LAS/LAZ of the compared points with the C2C fields.",
                                optional=True, extensions=[".laz", ".las"]),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "file", "The compared cloud with C2C fields (LAZ)"),
            OutputDefinition("matched", "integer", "Points with a distance"),
            OutputDefinition("median_distance_m", "number", "Median distance (m)"),
            OutputDefinition("p95_distance_m", "number", "95th percentile distance (m)"),
        ]

    def run(self, params, feedback):
        from gis_desk.analysis.c2c import c2c
        from gis_desk.analysis.change import check_epochs
        from gis_desk.core.pointcloud import PointCloud
        from gis_desk.io.pointcloud import write_pointcloud

        ref = self.parameter("reference").load(params["reference"])
        cmp_ = self.parameter("compared").load(params["compared"])
        check_epochs(ref, cmp_)
        result = c2c(ref.xyz, cmp_.xyz, local_model=None if params["model"] == "nearest" else "plane",
                     k=int(params["k"]), max_distance=float(params["max_distance"]) or None,
                     feedback=feedback.child(0, 90))
        attributes = dict(cmp_.attributes)
        attributes.update(c2c_distance=result.distance, c2c_horizontal=result.horizontal,
                          c2c_vertical=result.vertical)
        path = params["output"] or str(_temp_folder("pc_c2c_") / "c2c_distance.laz")
        write_pointcloud(path, PointCloud(cmp_.xyz, attributes, cmp_.crs))
        summary = result.summary()
        return {"output": path, "matched": summary["matched"], "median_distance_m": summary["median"],
                "p95_distance_m": summary["p95"]}


class DemOfDifference(Algorithm):
    id = "builtins.pc_dod"
    display_name = "DEM of difference (volumes)"
    group = GROUP
    description = """
        Grids both epochs (default: ground points, ASPRS class 2) on a common snapped grid of
        cell_size, subtracts them (epoch 2 - epoch 1) and sums the loss and gain volumes of the
        cells whose change passes their level of detection.  With cell_lod (default) each
        cell's LoD95 is 1.96 sqrt(s1^2/n1 + s2^2/n2) from the height spread and count of its
        points, never below lod: on steep ground (embankments, the toe of a wall) a fixed LoD
        would sum sampling noise into false volumes.  Writes a 2-band GeoTIFF (difference,
        significant difference).
    """

    def parameters(self):
        return [
            PointCloudParameter("epoch1", "Epoch 1", "Reference surface."),
            PointCloudParameter("epoch2", "Epoch 2", "Registered onto epoch 1."),
            NumberParameter("cell_size", "Cell size", "Grid cell side (m).", default=0.5, minimum=0.0, unit="m"),
            NumberParameter("lod", "Level of detection", "Smallest change counted (m).", default=0.03, minimum=0.0,
                            unit="m"),
            BoolParameter("cell_lod", "Per-cell LoD", "Judge each cell on its own LoD95 too.", default=True),
            EnumParameter("statistic", "Cell height", ["mean", "median", "min", "max"], "Height of a cell.",
                          default="mean"),
            IntegerParameter("min_points", "Minimum points", "Fewest points per cell and epoch.", default=3,
                             minimum=1),
            StringParameter("classes", "Classes", "ASPRS classes gridded, e.g. 2 or 2,9; 'all' for every point.",
                            default="2"),
            OutputFileParameter("output", "DoD GeoTIFF", "Where to write the DoD.", optional=True,
                                extensions=[".tif", ".tiff"]),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "raster", "The DoD GeoTIFF"),
            OutputDefinition("loss_m3", "number", "Volume lost (m3)"),
            OutputDefinition("gain_m3", "number", "Volume gained (m3)"),
            OutputDefinition("net_m3", "number", "Gain - loss (m3)"),
            OutputDefinition("cells_compared", "integer", "Cells with both epochs"),
            OutputDefinition("cells_significant", "integer", "Cells beyond their LoD"),
        ]

    def run(self, params, feedback):
        from gis_desk.analysis.change import check_epochs, with_cell_lod
        from gis_desk.analysis.dod import dem_of_difference, write_dod_geotiff

        e1 = self.parameter("epoch1").load(params["epoch1"])
        e2 = self.parameter("epoch2").load(params["epoch2"])
        check_epochs(e1, e2)
        a, b = e1.xyz, e2.xyz
        classes = _classes(params["classes"])
        if classes:
            c1, c2 = e1.attributes.get("classification"), e2.attributes.get("classification")
            if c1 is None or c2 is None:
                feedback.warning("An epoch has no classification: every point is gridded")
            else:
                a, b = a[np.isin(c1, classes)], b[np.isin(c2, classes)]
                if len(a) == 0 or len(b) == 0:
                    raise DataError(f"No points of classes {list(classes)} in "
                                    f"{'epoch 1' if len(a) == 0 else 'epoch 2'}",
                                    hint="choose other classes, or 'all'")
        dod = dem_of_difference(a, b, cell_size=params["cell_size"], lod=params["lod"],
                                statistic=params["statistic"], min_points=params["min_points"],
                                feedback=feedback.child(0, 80))
        if params["cell_lod"]:
            dod = with_cell_lod(dod, a, b)
        path = params["output"] or str(_temp_folder("pc_dod_") / "dod.tif")
        write_dod_geotiff(path, dod, e1.crs)
        s = dod.summary()
        return {"output": str(path), "loss_m3": dod.loss_m3, "gain_m3": dod.gain_m3, "net_m3": dod.net_m3,
                "cells_compared": s["cells_compared"], "cells_significant": s["cells_significant"]}


def dod_from_geotiff(path) -> Any:
    """A DodResult read back from ``write_dod_geotiff``'s 2-band file (for zone volumes)."""
    import rasterio

    from gis_desk.analysis.dod import DodResult
    from gis_desk.errors import CorruptFileError

    try:
        with rasterio.open(path) as src:
            if src.count < 2:
                raise CorruptFileError("Not a GIS Desk DoD: it needs the difference and significant-difference "
                                       "bands", path=path)
            diff = src.read(1).astype(np.float32)
            sig_band = src.read(2)
            tags = src.tags()
            t = src.transform
            bounds = tuple(src.bounds)
    except rasterio.errors.RasterioError as exc:
        raise CorruptFileError(f"The DoD GeoTIFF could not be read: {exc}", path=path) from None
    if abs(abs(t.a) - abs(t.e)) > 1e-9:
        raise CorruptFileError("The DoD cells are not square", path=path)
    significant = np.isfinite(diff) & np.isfinite(sig_band) & (sig_band != 0)
    out = DodResult(difference=diff, significant=significant, transform=t, cell_size=float(t.a),
                    lod=float(tags.get("LOD_M", "nan")), loss_m3=0.0, gain_m3=0.0, net_m3=0.0,
                    bounds=bounds, statistic=tags.get("STATISTIC", "mean"))
    out.loss_m3, out.gain_m3, out.net_m3 = out.volumes()
    return out


class ZoneStatistics(Algorithm):
    id = "builtins.pc_zone_stats"
    display_name = "Change statistics per zone"
    group = GROUP
    description = """
        Per structural element (zone polygon; optional zmin/zmax fields bound it in height):
        M3C2 change figures of the core points inside (n, mean/median/p95/max |change|, share
        significant, share beyond the threshold), the lean of its faces (mrad, from M3C2 along
        the normals), and, with a DoD GeoTIFF, loss/gain volumes of its significant cells.  A
        zone exceeds when at least min_share of its points change significantly by more than
        threshold, its DoD loss or gain passes volume_threshold, or its faces lean more than
        lean_threshold_mrad (significantly); exceeds_reason says which.
    """

    def parameters(self):
        return [
            PointCloudParameter("change", "M3C2 change cloud", "Core points with m3c2_distance, significant and "
                                "normal_x/y/z (the M3C2 output)."),
            VectorLayerParameter("zones", "Zones", "Polygons of the structural elements.",
                                 geometry_types=["Polygon"]),
            StringParameter("name_field", "Name field", "Field naming each zone.", default="name"),
            RasterLayerParameter("dod", "DoD GeoTIFF", "DEM of difference for zone volumes.", optional=True),
            NumberParameter("threshold", "Change threshold", "|change| that matters (m).", default=0.01,
                            minimum=0.0, unit="m"),
            NumberParameter("min_share", "Share that flags", "Share of a zone's points beyond the threshold "
                            "that flags it.", default=0.05, minimum=0.0, maximum=1.0),
            NumberParameter("volume_threshold", "Volume that flags", "DoD loss or gain that flags a zone (m3); "
                            "empty: volumes never flag.", default=0.1, minimum=0.0, optional=True),
            NumberParameter("lean_threshold_mrad", "Lean that flags", "Lean of a zone's faces that flags it "
                            "(mrad); empty: never.", default=1.5, minimum=0.0, optional=True),
            OutputFileParameter("output", "Zone table", "GeoPackage (or other vector file) of the statistics.",
                                optional=True, extensions=[".gpkg", ".geojson", ".shp", ".fgb"]),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "vector", "Zones with their statistics"),
            OutputDefinition("flagged", "string", "Names of the zones that exceed, comma separated"),
            OutputDefinition("zones", "integer", "Zones"),
        ]

    def run(self, params, feedback):
        from gis_desk.analysis.change import ComparisonSettings, zone_table
        from gis_desk.analysis.m3c2 import M3C2Params, M3C2Result

        cloud = self.parameter("change").load(params["change"])
        need = ["m3c2_distance", "significant"]
        missing = [n for n in need if n not in cloud.attributes]
        if missing:
            raise DataError(f"The change cloud has no {', '.join(missing)} field: it is not an M3C2 output",
                            hint="run M3C2 first and give its output")
        zones = self.parameter("zones").load(params["zones"], crs=cloud.crs)
        if cloud.crs is not None and zones.crs is not None:
            zones = zones.to_crs(cloud.crs)
        a = cloud.attributes
        normals = np.column_stack([np.asarray(a[k], float) if k in a else np.full(len(cloud), np.nan)
                                   for k in ("normal_x", "normal_y", "normal_z")])
        nan = np.full(len(cloud), np.nan)
        result = M3C2Result(core=cloud.xyz, normals=normals, distance=np.asarray(a["m3c2_distance"], float),
                            lod95=np.asarray(a.get("lod95", nan), float), significant=np.asarray(a["significant"]) != 0,
                            spread1=nan, spread2=nan, n1=np.zeros(len(cloud), int), n2=np.zeros(len(cloud), int),
                            params=M3C2Params())
        dod = None if params["dod"] is None else dod_from_geotiff(self.parameter("dod").path(params["dod"]))
        settings = ComparisonSettings(zones=zones, zone_name_field=params["name_field"],
                                      threshold=params["threshold"], min_share=params["min_share"],
                                      volume_threshold=params["volume_threshold"],
                                      lean_threshold_mrad=params["lean_threshold_mrad"])
        if not 0 < settings.min_share <= 1:
            raise ParameterError("parameter 'min_share': a fraction in (0, 1] is needed")
        feedback.set_progress(20)
        table = zone_table(settings, result, dod)
        path = params["output"] or str(_temp_folder("pc_zones_") / "zones_change.gpkg")
        write_vector_output(table, path)
        flagged = [str(n) for n in table.loc[table["exceeds"], params["name_field"]]]
        if flagged:
            feedback.info(f"Zones beyond the thresholds: {', '.join(flagged)}")
        return {"output": path, "flagged": ", ".join(flagged), "zones": int(len(table))}


class CompareEpochs(Algorithm):
    id = "builtins.pc_compare"
    display_name = "Compare survey epochs (register, M3C2, DoD, zones)"
    group = GROUP
    description = """
        The whole comparison of two epochs (gis_desk.analysis.change.compare_epochs): checks
        (same CRS, overlap), registration of epoch 2 (coarse matrix or point pairs, then ICP on
        the stable areas), M3C2 at core points with the registration error measured on the
        stable areas, DEM of difference with per-cell LoD, per-zone statistics, section
        profiles and a histogram.  Writes into output_folder: m3c2_change.laz (extra-bytes
        fields), dod.tif, zones_change.gpkg, histogram.png, sections.png/.csv,
        registration_matrix.txt and comparison.json (every figure and setting).  With report, a
        PDF report too.
    """

    def parameters(self):
        return [
            PointCloudParameter("epoch1", "Epoch 1 (reference)", "The earlier survey."),
            PointCloudParameter("epoch2", "Epoch 2", "The later survey (registered onto epoch 1 here)."),
            VectorLayerParameter("stable_areas", "Stable areas", "Polygons for ICP.", optional=True,
                                 geometry_types=["Polygon"]),
            VectorLayerParameter("zones", "Zones", "Structural elements (optional zmin/zmax fields).",
                                 optional=True, geometry_types=["Polygon"]),
            StringParameter("name_field", "Zone name field", "Field naming each zone.", default="name"),
            VectorLayerParameter("sections", "Section lines", "Lines across the structure.", optional=True,
                                 geometry_types=["LineString"]),
            StringParameter("coarse_matrix", "Coarse matrix", "12/16 numbers or a matrix .txt file.", optional=True),
            StringParameter("point_pairs", "Point pairs file", "x2 y2 z2 x1 y1 z1 per line.", optional=True),
            BoolParameter("icp", "ICP", "Refine the registration with ICP on the stable areas.", default=True),
            NumberParameter("icp_max_distance", "ICP max distance", "m", default=0.3, minimum=0.0, unit="m"),
            *_m3c2_parameters(with_registration_error=False),
            NumberParameter("registration_error", "Registration error", "m added to the LoD; empty: measured "
                            "on the stable areas.", optional=True, minimum=0.0, unit="m"),
            *_core_parameters(),
            NumberParameter("dod_cell", "DoD cell size", "m", default=0.5, minimum=0.0, unit="m"),
            NumberParameter("dod_lod", "DoD LoD floor", "m", default=0.03, minimum=0.0, unit="m"),
            StringParameter("dod_classes", "DoD classes", "ASPRS classes gridded; 'all' for every point.",
                            default="2"),
            NumberParameter("threshold", "Change threshold", "|change| that matters (m).", default=0.01,
                            minimum=0.0, unit="m"),
            NumberParameter("section_width", "Section width", "Total width of the strip kept about each "
                            "section line (m).", default=0.5, minimum=0.0, unit="m"),
            StringParameter("epoch_labels", "Epoch labels", "Two labels separated by '|'.",
                            default="Epoch 1|Epoch 2"),
            StringParameter("site", "Site", "Name of the site for the record and report.", optional=True),
            StringParameter("output_folder", "Output folder", "Created if needed; a temporary folder when "
                            "not given.", optional=True),
            OutputFileParameter("report", "PDF report", "Also write the PDF report here.", optional=True,
                                extensions=[".pdf"]),
        ]

    def outputs(self):
        return [
            OutputDefinition("output_folder", "file", "Folder with every output"),
            OutputDefinition("comparison_json", "file", "comparison.json"),
            OutputDefinition("change_cloud", "file", "m3c2_change.laz"),
            OutputDefinition("dod", "raster", "dod.tif (absent when no ground cells were shared)"),
            OutputDefinition("zones", "vector", "zones_change.gpkg (with zones)"),
            OutputDefinition("report", "file", "The PDF report (when asked)"),
            OutputDefinition("flagged_zones", "string", "Zones that exceed, comma separated"),
            OutputDefinition("registration_rms_m", "number", "ICP RMS (m)"),
            OutputDefinition("registration_error_m", "number", "Registration error in the LoD (m)"),
            OutputDefinition("significant_share", "number", "Share of defined core points that changed significantly"),
            OutputDefinition("median_lod95_m", "number", "Median LoD95 (m)"),
        ]

    def settings(self, params, e1, feedback):
        """ComparisonSettings from validated parameter values (also used by the CLI)."""
        from gis_desk.analysis.change import ComparisonSettings, load_point_pairs

        crs = e1.crs
        m3c2_params, cc_spacing = m3c2_params_from(params, feedback)
        core_mode, spacing = params["core_mode"], params["core_spacing"]
        if cc_spacing:
            feedback.info(f"The parameter file subsamples core points at {cc_spacing:g} m (CloudCompare); here "
                          f"core points are {core_mode} (core_mode=grid core_spacing={cc_spacing:g} to match)")
        zones = None
        if params["zones"] is not None:
            zones = self.parameter("zones").load(params["zones"], crs=crs)
            if crs is not None and zones.crs is not None:
                zones = zones.to_crs(crs)
            if params["name_field"] not in zones.columns:
                raise ParameterError(f"parameter 'name_field': the zones have no field {params['name_field']!r}",
                                     hint="fields: " + ", ".join(c for c in zones.columns if c != "geometry"))
            zones = zones.reset_index(drop=True)
        lines, labels = [], []
        if params["sections"] is not None:
            frame = self.parameter("sections").load(params["sections"], crs=crs)
            if crs is not None and frame.crs is not None:
                frame = frame.to_crs(crs)
            frame = frame.explode(index_parts=False).reset_index(drop=True)
            lines = list(frame.geometry)
            labels = [str(v) for v in frame["name"]] if "name" in frame.columns else \
                [f"Section {i + 1}" for i in range(len(frame))]
        epoch_labels = tuple(s.strip() for s in str(params["epoch_labels"]).split("|"))
        if len(epoch_labels) != 2:
            raise ParameterError("parameter 'epoch_labels': two labels separated by '|', e.g. 'March 2024|March 2025'")
        return ComparisonSettings(
            coarse_matrix=parse_matrix(params["coarse_matrix"]),
            point_pairs=load_point_pairs(params["point_pairs"]) if params["point_pairs"] else None,
            stable_areas=_polygons(self.parameter("stable_areas"), params["stable_areas"], crs),
            icp=params["icp"], icp_max_distance=params["icp_max_distance"], m3c2=m3c2_params,
            registration_error="auto" if params["registration_error"] is None else params["registration_error"],
            core_mode=core_mode, core_n=params["core_n"], core_spacing=spacing, dod_cell=params["dod_cell"],
            dod_lod=params["dod_lod"], dod_classes=_classes(params["dod_classes"]), zones=zones,
            zone_name_field=params["name_field"], threshold=params["threshold"], section_lines=lines,
            section_labels=labels, section_width=params["section_width"], epoch_labels=epoch_labels,
            site=params["site"] or "",
        )

    def run(self, params, feedback):
        from gis_desk.analysis.change import compare_epochs, write_comparison_outputs

        e1 = self.parameter("epoch1").load(params["epoch1"])
        e2 = self.parameter("epoch2").load(params["epoch2"])
        settings = self.settings(params, e1, feedback)
        result = compare_epochs(e1, e2, settings, feedback=feedback.child(0, 90))
        for note in result.notes:
            feedback.info(note)
        folder = Path(params["output_folder"]).expanduser() if params["output_folder"] else _temp_folder("pc_compare_")
        paths = write_comparison_outputs(result, folder)
        feedback.set_progress(95)
        report = ""
        if params["report"]:
            report = str(write_report(result, params["report"], paths))
        self.last_result = result  # for callers that want the objects (CLI, GUI), not just files
        summary = result.summary()
        return {
            "output_folder": str(folder), "comparison_json": str(paths["json"]),
            "change_cloud": str(paths["change_laz"]), "dod": str(paths.get("dod", "")),
            "zones": str(paths.get("zones", "")), "report": report,
            "flagged_zones": ", ".join(summary["flagged_zones"]),
            "registration_rms_m": float(result.registration.rms) if result.registration is not None else math.nan,
            "registration_error_m": float(result.registration_error),
            "significant_share": float(summary["share_significant"]),
            "median_lod95_m": float(summary["median_lod95_m"]),
        }


def write_report(result, pdf_path, paths: dict[str, Path] | None = None) -> Path:
    """The PDF report through ``gis_desk.report.change_report`` (with its 3D snapshot when the
    snapshot renderer is there); AlgorithmError when the report package is missing."""
    from gis_desk.errors import AlgorithmError

    try:
        from gis_desk.report.change_report import build_change_report
    except ImportError as exc:
        raise AlgorithmError(f"PDF reports are not available in this build: {exc}",
                             hint="the outputs folder holds every figure without the report") from None
    return Path(build_change_report(result, pdf_path))


class SectionProfiles(Algorithm):
    id = "builtins.pc_sections"
    display_name = "Section profiles"
    group = GROUP
    description = """
        Profiles of one or two epochs along plan-view lines: the points within width/2 of each
        line, by distance along it and height, plotted together (PNG, SVG or PDF) and written to
        CSV (label, distance, z, offset from the line).  Lines are labelled by label_field.
    """

    def parameters(self):
        return [
            PointCloudParameter("epoch1", "Epoch 1", "First cloud."),
            PointCloudParameter("epoch2", "Epoch 2", "Second cloud (registered).", optional=True),
            VectorLayerParameter("lines", "Section lines", "Plan-view lines.", geometry_types=["LineString"]),
            StringParameter("label_field", "Label field", "Field naming each line.", default="name"),
            NumberParameter("width", "Strip width", "Total width of the strip kept about each line (m).",
                            default=0.5, minimum=0.0, unit="m"),
            StringParameter("epoch_labels", "Epoch labels", "Labels separated by '|'.", default="Epoch 1|Epoch 2"),
            OutputFileParameter("output", "Plot", "PNG, SVG or PDF.", optional=True,
                                extensions=[".png", ".svg", ".pdf"]),
            OutputFileParameter("output_csv", "CSV", "The profile points.", optional=True, extensions=[".csv"]),
        ]

    def outputs(self):
        return [
            OutputDefinition("output", "file", "The plot"),
            OutputDefinition("output_csv", "file", "The CSV"),
            OutputDefinition("profiles", "integer", "Profiles drawn (lines x epochs)"),
            OutputDefinition("points", "integer", "Points in all profiles"),
        ]

    def run(self, params, feedback):
        from gis_desk.analysis.section import export_sections_csv, plot_sections, section_profile

        e1 = self.parameter("epoch1").load(params["epoch1"])
        clouds = [e1]
        if params["epoch2"] is not None:
            from gis_desk.analysis.change import check_epochs

            e2 = self.parameter("epoch2").load(params["epoch2"])
            check_epochs(e1, e2)
            clouds.append(e2)
        frame = self.parameter("lines").load(params["lines"], crs=e1.crs)
        if e1.crs is not None and frame.crs is not None:
            frame = frame.to_crs(e1.crs)
        frame = frame.explode(index_parts=False).reset_index(drop=True)
        field = params["label_field"]
        labels = [str(v) for v in frame[field]] if field in frame.columns else \
            [f"Section {i + 1}" for i in range(len(frame))]
        epoch_labels = [s.strip() for s in str(params["epoch_labels"]).split("|")]
        profiles = []
        for i, (line, label) in enumerate(zip(frame.geometry, labels)):
            feedback.check_canceled()
            for j, cloud in enumerate(clouds):
                name = epoch_labels[j] if j < len(epoch_labels) else f"Epoch {j + 1}"
                profiles.append(section_profile(cloud.xyz, line, params["width"], label=f"{label}: {name}"))
            feedback.set_progress(90 * (i + 1) / len(frame))
        empty = [p.label for p in profiles if len(p.distance) == 0]
        if empty and len(empty) == len(profiles):
            raise DataError("No points within the strip of any section line",
                            hint="check the lines cross the cloud, or widen the strip")
        for label in empty:
            feedback.warning(f"{label}: no points within the strip")
        folder = None
        png = params["output"] or str((folder := _temp_folder("pc_sections_")) / "sections.png")
        csv = params["output_csv"] or str((folder or _temp_folder("pc_sections_")) / "sections.csv")
        plot_sections(profiles, png, title="Sections")
        export_sections_csv(profiles, csv)
        return {"output": png, "output_csv": csv, "profiles": len(profiles),
                "points": int(sum(len(p.distance) for p in profiles))}


ALGORITHMS = (RegisterEpochs, M3C2, DemOfDifference, ZoneStatistics, CompareEpochs, SectionProfiles)
