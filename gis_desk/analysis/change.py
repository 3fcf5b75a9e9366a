"""The end-to-end comparison of two survey epochs that the GUI, the CLI and the report share.

``compare_epochs(epoch1, epoch2, settings)`` runs, in order:

1. checks: both epochs have points, the same CRS, and overlap in plan (``check_epochs``);
2. registration of epoch 2 onto epoch 1: a coarse matrix or point pairs, then point-to-plane
   ICP on the stable areas (``gis_desk.analysis.registration``);
3. M3C2 at core points of epoch 1 against the registered epoch 2 (``gis_desk.analysis.m3c2``);
4. a DEM of difference with volumes, from ground points by default (``gis_desk.analysis.dod``),
   each cell also judged against its own LoD95 from the spread of its heights (``with_cell_lod``);
5. per-element statistics in zone polygons (``gis_desk.analysis.zones``), with optional height
   limits per zone (``zmin``/``zmax`` fields) for stacked elements such as a pier under a deck,
   plus the lean of each element's faces fitted from M3C2 (``face_lean``): a wall rotating by
   2 mrad moves each point less than its LoD, but a fit over the whole face measures it;
6. a histogram of the M3C2 distances and section profiles of both epochs.

Registration error: ICP's own figure (``RegistrationResult.registration_error``) is the spread of
single point-to-plane residuals, i.e. mostly scanner noise, and would swamp the LoD with it.  By
default (``registration_error="auto"``) the error fed to M3C2 is measured where nothing moved: the
M3C2 distances at core points inside the stable areas, ``sqrt(median^2 + (1.4826 MAD)^2)``, which
holds the residual misalignment (and a little averaged noise) at M3C2's own scale.  LoD95 is
additive in it, so M3C2 runs once without it and the LoD is completed afterwards.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from gis_desk.analysis.m3c2 import M3C2Params, M3C2Result
from gis_desk.errors import CrsError, DataError, MissingCrsError, ParameterError

NOISE_CLASSES = (7, 18)  # ASPRS low and high noise


@dataclass
class ComparisonSettings:
    """Everything a comparison needs besides the two clouds (lengths in metres)."""

    coarse_matrix: np.ndarray | None = None  # 4x4 mapping epoch 2 onto epoch 1, before ICP
    point_pairs: tuple[np.ndarray, np.ndarray] | None = None  # (epoch 2 points, epoch 1 points), (k, 3) each
    stable_areas: list | None = None  # shapely polygons in the epochs' CRS
    icp: bool = True
    icp_max_distance: float = 0.3
    icp_voxel: float | None = 0.05
    icp_refine: bool = True  # a second, tighter ICP run from the first one's result
    m3c2: M3C2Params = field(default_factory=M3C2Params)
    registration_error: float | str = "auto"  # 'auto' (stable-area M3C2) | 'icp' | metres
    core_mode: str = "every_nth"  # 'every_nth' | 'grid'
    core_n: int = 10
    core_spacing: float = 0.25
    dod_cell: float = 0.5
    dod_lod: float = 0.03  # floor of the DoD level of detection; each cell's own LoD95 can be larger
    dod_statistic: str = "mean"
    dod_min_points: int = 3  # per cell and epoch: a cell's LoD needs its height spread
    dod_classes: tuple[int, ...] | None = (2,)  # ground; None = every point
    zones: Any = None  # GeoDataFrame of polygons, optional zmin/zmax columns
    zone_name_field: str = "name"
    threshold: float = 0.01  # |change| that matters to the engineer
    min_share: float = 0.05  # share of a zone's core points beyond threshold (and LoD) that flags it
    volume_threshold: float | None = 0.1  # m3 of significant DoD loss or gain that flags a zone
    lean_threshold_mrad: float | None = 1.5  # rotation of a zone's faces about a horizontal axis that flags it
    section_lines: list = field(default_factory=list)  # shapely LineStrings
    section_labels: list[str] = field(default_factory=list)
    section_width: float = 0.5
    ignore_classes: tuple[int, ...] = NOISE_CLASSES
    histogram_bins: int = 60
    epoch_labels: tuple[str, str] = ("Epoch 1", "Epoch 2")
    site: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record of the settings (geometries as WKT)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key in ("m3c2", "zones", "stable_areas", "section_lines", "coarse_matrix", "point_pairs"):
                continue
            out[key] = list(value) if isinstance(value, tuple) else value
        out["m3c2"] = self.m3c2.to_dict()
        out["coarse_matrix"] = None if self.coarse_matrix is None else np.asarray(self.coarse_matrix).tolist()
        out["point_pairs"] = None if self.point_pairs is None else [np.asarray(p).tolist() for p in self.point_pairs]
        out["stable_areas"] = [g.wkt for g in self.stable_areas] if self.stable_areas else None
        out["section_lines"] = [g.wkt for g in self.section_lines]
        out["zones"] = None if self.zones is None else len(self.zones)
        return out


@dataclass
class ComparisonResult:
    registration: Any  # RegistrationResult | None
    m3c2: M3C2Result
    dod: Any  # DodResult | None (None when the epochs share no ground cell)
    zones: Any  # GeoDataFrame | None
    histogram: tuple[np.ndarray, np.ndarray]  # (counts, edges) of finite M3C2 distances
    sections: list  # list[Profile], epoch 1 and epoch 2 per line
    settings: ComparisonSettings
    software_version: str
    timings: dict[str, float]
    registration_error: float = 0.0  # metres, the value used in the LoD
    registration_error_source: str = ""
    crs: Any = None
    n_points: tuple[int, int] = (0, 0)
    epoch1_preview: np.ndarray | None = None  # (k, 3) thinned epoch 1 for maps and snapshots
    epoch1_preview_rgb: np.ndarray | None = None  # (k, 3) uint8 or None
    created: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        d = self.m3c2.distance
        ok = np.isfinite(d)
        flagged = [] if self.zones is None else \
            [str(n) for n in self.zones.loc[self.zones["exceeds"], self.settings.zone_name_field]]
        return {
            "core_points": int(len(d)), "defined": int(ok.sum()), "significant": int(self.m3c2.significant.sum()),
            "share_significant": float(self.m3c2.significant[ok].mean()) if ok.any() else math.nan,
            "median_lod95_m": float(np.nanmedian(self.m3c2.lod95)) if ok.any() else math.nan,
            "flagged_zones": flagged,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record of the comparison (comparison.json, ``--json``)."""
        zones = None
        if self.zones is not None:
            zones = json.loads(self.zones.drop(columns=self.zones.geometry.name).to_json(orient="records"))
        counts, edges = self.histogram
        return {
            "site": self.settings.site, "epochs": list(self.settings.epoch_labels), "n_points": list(self.n_points),
            "created": self.created, "software_version": self.software_version,
            "crs": None if self.crs is None else _crs_text(self.crs),
            "registration": None if self.registration is None else self.registration.to_dict(),
            "registration_error_m": self.registration_error,
            "registration_error_source": self.registration_error_source,
            "m3c2": {**self.m3c2.summary(), "params": self.m3c2.params.to_dict()},
            "dod": None if self.dod is None else {
                **self.dod.summary(), "min_points_per_cell": self.settings.dod_min_points,
                "classes": None if self.settings.dod_classes is None else list(self.settings.dod_classes),
                "cell_lod": "each cell also beyond its own LoD95 = 1.96 sqrt(s1^2/n1 + s2^2/n2)"
                if getattr(self.dod, "cell_lod", None) is not None else None},
            "zones": zones, "summary": self.summary(),
            "histogram": {"counts": [int(c) for c in counts], "edges": [float(e) for e in edges]},
            "sections": [{"label": p.label, "points": int(len(p.distance))} for p in self.sections],
            "settings": self.settings.to_dict(), "timings_s": self.timings, "notes": self.notes,
        }


def _crs_text(crs) -> str:
    from gis_desk.core.crs import crs_id

    return crs_id(crs) or str(crs)


# --- checks ------------------------------------------------------------------------------------


def check_epochs(epoch1, epoch2, *, names: tuple[str, str] | None = None, matrix: np.ndarray | None = None,
                 margin: float = 1.0) -> None:
    """Refuse epochs that cannot be compared, with a message naming the problem.

    DataError for an empty epoch or epochs whose plan extents (epoch 2 after ``matrix``, grown by
    ``margin`` metres) do not overlap; CrsError when their CRSs differ (MissingCrsError when only
    one has a CRS).  ``names`` (e.g. file paths) name the epochs in messages.
    """
    from gis_desk.analysis.registration import check_same_crs

    names = names or ("epoch 1", "epoch 2")
    for cloud, name in ((epoch1, names[0]), (epoch2, names[1])):
        if len(cloud) == 0:
            raise DataError(f"{name} has no points", hint="check the file and any class filter")
        if not np.all(np.isfinite(cloud.xyz)):
            raise DataError(f"{name} has points with NaN or infinite coordinates",
                            hint="remove invalid points before comparing")
    try:
        check_same_crs(epoch1.crs, epoch2.crs, names[0], names[1])
    except MissingCrsError:
        raise
    except CrsError as exc:
        raise CrsError(exc.message, hint=exc.hint) from None
    xyz2 = epoch2.xyz if matrix is None else _apply(epoch2.xyz, matrix)
    lo1, hi1 = epoch1.xyz[:, :2].min(0), epoch1.xyz[:, :2].max(0)
    lo2, hi2 = xyz2[:, :2].min(0), xyz2[:, :2].max(0)
    if np.any(lo1 - margin > hi2) or np.any(lo2 - margin > hi1):
        raise DataError(
            f"The epochs do not overlap: {names[0]} covers E {lo1[0]:.1f}-{hi1[0]:.1f}, N {lo1[1]:.1f}-{hi1[1]:.1f}; "
            f"{names[1]} covers E {lo2[0]:.1f}-{hi2[0]:.1f}, N {lo2[1]:.1f}-{hi2[1]:.1f}",
            hint="check both surveys are of the same site and in the same CRS, or give a coarse alignment")


def _apply(xyz: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    return xyz @ m[:3, :3].T + m[:3, 3]


_KEPT_ATTRIBUTES = ("classification", "red", "green", "blue")  # what the comparison reads


def _without_classes(cloud, classes) -> Any:
    """The cloud without points of ``classes``, carrying only the attributes the comparison
    uses (copying gps_time, intensity... of 2 x 5M points would cost ~0.5 GB for nothing)."""
    from gis_desk.core.pointcloud import PointCloud

    cls = cloud.attributes.get("classification")
    keep = None if cls is None or not classes else ~np.isin(cls, np.asarray(classes))
    attrs = {k: cloud.attributes[k] for k in _KEPT_ATTRIBUTES if k in cloud.attributes}
    if keep is None or keep.all():
        return PointCloud(cloud.xyz, attrs, cloud.crs)
    return PointCloud(cloud.xyz[keep], {k: v[keep] for k, v in attrs.items()}, cloud.crs)


# --- the comparison ---------------------------------------------------------------------------


class _Stages:
    """Progress split across named stages (weights in percent) and per-stage wall times."""

    def __init__(self, feedback, weights: dict[str, float]) -> None:
        self.feedback, self.weights, self.timings = feedback, weights, {}
        self._start, self._name, self._t0 = 0.0, None, 0.0

    def begin(self, name: str):
        self.end()
        if self.feedback is not None:
            self.feedback.check_canceled()
            self.feedback.info(f"Comparison: {name}")
        self._name, self._t0 = name, time.perf_counter()
        end = self._start + self.weights[name]
        return None if self.feedback is None else self.feedback.child(self._start, end)

    def end(self) -> None:
        if self._name is not None:
            self.timings[self._name] = round(time.perf_counter() - self._t0, 3)
            self._start += self.weights[self._name]
            if self.feedback is not None:
                self.feedback.set_progress(self._start)
            self._name = None


def compare_epochs(epoch1, epoch2, settings: ComparisonSettings | None = None, feedback=None) -> ComparisonResult:
    """Register epoch 2 onto epoch 1 and measure change (see the module docstring).

    ``epoch1``/``epoch2`` are ``PointCloud``s in one CRS.  Raises DataError/CrsError for
    unusable epochs, ParameterError for bad settings, CanceledError when cancelled.
    """
    import gis_desk
    from gis_desk.analysis import registration as reg
    from gis_desk.analysis.m3c2 import core_points, m3c2

    settings = settings or ComparisonSettings()
    _validate(settings)
    t_all = time.perf_counter()
    stages = _Stages(feedback, {"checks": 2, "registration": 23, "m3c2": 55, "dod": 10, "zones": 5, "sections": 5})
    notes: list[str] = []

    stages.begin("checks")
    check_epochs(epoch1, epoch2, matrix=settings.coarse_matrix)
    e1 = _without_classes(epoch1, settings.ignore_classes)
    e2 = _without_classes(epoch2, settings.ignore_classes)
    dropped = (len(epoch1) - len(e1), len(epoch2) - len(e2))
    if any(dropped):
        notes.append(f"noise classes {list(settings.ignore_classes)} left out: {dropped[0]:,} + {dropped[1]:,} points")
    for cloud, name in ((e1, "epoch 1"), (e2, "epoch 2")):
        if len(cloud) == 0:
            raise DataError(f"{name} has only noise points (classes {list(settings.ignore_classes)})",
                            hint="check the classification, or compare with ignore_classes=()")

    sub = stages.begin("registration")
    registration = None
    init = None if settings.coarse_matrix is None else np.asarray(settings.coarse_matrix, dtype=np.float64)
    if settings.point_pairs is not None:
        src, dst = (np.asarray(p, dtype=np.float64) for p in settings.point_pairs)
        if init is not None:
            notes.append("point pairs given with a coarse matrix: the pairs' transform is used")
        registration = reg.pairs_result(src, dst)
        init = registration.matrix
    elif init is not None:
        registration = reg.RegistrationResult(matrix=init, rms=math.nan, overlap=math.nan, n_correspondences=0,
                                              registration_error=0.0, method="coarse matrix", iterations=0,
                                              notes=["matrix given by the user"])
    if settings.icp:
        src, dst = _near_stable_areas(e2.xyz, init, settings), _near_stable_areas(e1.xyz, None, settings)
        first = None if sub is None else sub.child(0, 60)
        registration = reg.icp(src, dst, init=init, stable_areas=settings.stable_areas,
                               max_distance=settings.icp_max_distance, voxel_size=settings.icp_voxel, feedback=first)
        if settings.icp_refine and np.isfinite(registration.rms):
            # ICP's relative-change stopping rule ends early on dense scans (a 5M-point bridge
            # was left 7 mm out at its far end); a second run from there, with correspondences
            # limited to 3 RMS, converges (4 mm, at the noise-limited optimum).
            tight = float(min(settings.icp_max_distance, max(3 * registration.rms, 2 * (settings.icp_voxel or 0))))
            again = reg.icp(src, dst, init=registration.matrix, stable_areas=settings.stable_areas,
                            max_distance=tight, voxel_size=settings.icp_voxel,
                            feedback=None if sub is None else sub.child(60, 100))
            again.notes = [*registration.notes, f"refined from the first ICP with correspondences within "
                                                 f"{tight * 1000:.0f} mm", *again.notes]
            again.iterations += registration.iterations
            registration = again
    matrix = np.eye(4) if registration is None else np.asarray(registration.matrix)
    xyz2 = _apply(e2.xyz, matrix) if registration is not None else e2.xyz

    sub = stages.begin("m3c2")
    core = core_points(e1.xyz, settings.core_mode, settings.core_n, settings.core_spacing)
    if len(core) == 0:
        raise DataError("No core points: epoch 1 is empty after filtering")
    params0 = replace(settings.m3c2, registration_error=0.0)
    raw = m3c2(e1.xyz, xyz2, core, params0, feedback=sub)
    reg_error, source = _registration_error(settings, registration, raw)
    result_m3c2 = _with_registration_error(raw, settings.m3c2, reg_error)

    sub = stages.begin("dod")
    dod = _dod(e1, e2, xyz2, settings, notes, sub)

    stages.begin("zones")
    zones = None
    if settings.zones is not None:
        zones = zone_table(settings, result_m3c2, dod)

    stages.begin("sections")
    sections = _sections(settings, e1.xyz, xyz2)
    stages.end()

    d = result_m3c2.distance[np.isfinite(result_m3c2.distance)]
    histogram = _histogram(d, result_m3c2.lod95, settings.histogram_bins)
    stages.timings["total"] = round(time.perf_counter() - t_all, 3)
    preview_idx = _preview_index(len(e1), 150_000)
    rgb = None
    if all(c in e1.attributes for c in ("red", "green", "blue")):
        cols = np.column_stack([e1.attributes[c][preview_idx] for c in ("red", "green", "blue")]).astype(np.uint32)
        rgb = (cols >> 8 if cols.max(initial=0) > 255 else cols).astype(np.uint8)
    if feedback is not None:
        feedback.set_progress(100.0)
    return ComparisonResult(
        registration=registration, m3c2=result_m3c2, dod=dod, zones=zones, histogram=histogram,
        sections=sections, settings=settings, software_version=gis_desk.__version__, timings=stages.timings,
        registration_error=reg_error, registration_error_source=source, crs=epoch1.crs,
        n_points=(len(epoch1), len(epoch2)), epoch1_preview=e1.xyz[preview_idx], epoch1_preview_rgb=rgb,
        created=_dt.datetime.now().replace(microsecond=0).isoformat(sep=" "), notes=notes,
    )


def _near_stable_areas(xyz: np.ndarray, init: np.ndarray | None, settings: ComparisonSettings) -> np.ndarray:
    """The points within 1 m (plus the ICP distance) of a stable area's bounding box, in epoch 1
    coordinates (for epoch 2 each box is mapped back through ``init``).  ICP keeps only points
    inside the polygons anyway; cropping first spares transforming and testing millions of
    points that cannot be in them."""
    if not settings.stable_areas or len(xyz) == 0:
        return xyz
    inv = None if init is None else np.linalg.inv(np.asarray(init, dtype=np.float64))
    zs = (float(xyz[:, 2].min()), float(xyz[:, 2].max()))
    margin = 1.0 + settings.icp_max_distance
    x, y = xyz[:, 0], xyz[:, 1]
    keep = np.zeros(len(xyz), bool)
    for geom in settings.stable_areas:
        xmin, ymin, xmax, ymax = geom.bounds
        if inv is not None:
            corners = np.array([[cx, cy, z] for cx in (xmin, xmax) for cy in (ymin, ymax) for z in zs])
            back = corners @ inv[:3, :3].T + inv[:3, 3]
            (xmin, ymin), (xmax, ymax) = back[:, :2].min(axis=0), back[:, :2].max(axis=0)
        keep |= (x >= xmin - margin) & (x <= xmax + margin) & (y >= ymin - margin) & (y <= ymax + margin)
    return xyz if keep.all() else xyz[keep]


def _validate(s: ComparisonSettings) -> None:
    for name in ("icp_max_distance", "dod_cell", "section_width"):
        value = getattr(s, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ParameterError(f"{name} must be a positive number of metres, not {value!r}")
    for name in ("dod_lod", "threshold"):
        value = getattr(s, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ParameterError(f"{name} must be zero or a positive number of metres, not {value!r}")
    if not (isinstance(s.registration_error, (int, float)) or s.registration_error in ("auto", "icp")):
        raise ParameterError(f"registration_error must be 'auto', 'icp' or metres, not {s.registration_error!r}")
    if isinstance(s.registration_error, (int, float)) and not s.registration_error >= 0:
        raise ParameterError(f"registration_error must be >= 0 metres, not {s.registration_error!r}")
    if s.coarse_matrix is not None and np.asarray(s.coarse_matrix).shape != (4, 4):
        raise ParameterError(f"The coarse matrix must be 4x4, not {np.asarray(s.coarse_matrix).shape}")
    if s.section_labels and len(s.section_labels) != len(s.section_lines):
        raise ParameterError("Give one label per section line (or none)")
    s.m3c2.validate()


def _registration_error(settings: ComparisonSettings, registration, raw: M3C2Result) -> tuple[float, str]:
    """The registration error (m) for the LoD and a sentence saying where it came from."""
    value = settings.registration_error
    if isinstance(value, (int, float)):
        return float(value), "given"
    if registration is None:
        return 0.0, "no registration: 0"
    if value == "icp" or not settings.stable_areas:
        return float(registration.registration_error), f"{registration.method}: residual spread"
    from gis_desk.analysis.registration import stable_mask

    inside = stable_mask(raw.core, settings.stable_areas) & np.isfinite(raw.distance)
    d = raw.distance[inside]
    if len(d) < 30:
        return float(registration.registration_error), \
            f"{registration.method}: residual spread (only {len(d)} M3C2 values on the stable areas)"
    med = float(np.median(d))
    mad = float(np.median(np.abs(d - med))) * 1.4826
    err = math.hypot(med, mad)
    return err, (f"M3C2 on the stable areas after registration: median {med * 1000:+.1f} mm, "
                 f"robust spread {mad * 1000:.1f} mm ({len(d):,} core points)")


def _with_registration_error(raw: M3C2Result, params: M3C2Params, reg_error: float) -> M3C2Result:
    lod = raw.lod95 + 1.96 * reg_error  # LoD95 = 1.96 (sqrt(s1^2/n1 + s2^2/n2) + reg)
    with np.errstate(invalid="ignore"):
        significant = np.isfinite(raw.distance) & np.isfinite(lod) & (np.abs(raw.distance) > lod)
    return replace(raw, lod95=lod, significant=significant, params=replace(params, registration_error=reg_error))


def _dod(e1, e2, xyz2, settings: ComparisonSettings, notes: list[str], feedback):
    from gis_desk.analysis.dod import dem_of_difference

    a, b = e1.xyz, xyz2
    classes = settings.dod_classes
    if classes:
        c1, c2 = e1.attributes.get("classification"), e2.attributes.get("classification")
        if c1 is not None and c2 is not None:
            m1, m2 = np.isin(c1, classes), np.isin(c2, classes)
            if m1.sum() >= 10 and m2.sum() >= 10:
                a, b = a[m1], b[m2]
                notes.append(f"DoD from classes {list(classes)}: {len(a):,} + {len(b):,} points")
            else:
                notes.append(f"DoD from every point: too few points of classes {list(classes)}")
    try:
        dod = dem_of_difference(a, b, cell_size=settings.dod_cell, lod=settings.dod_lod,
                                statistic=settings.dod_statistic, min_points=settings.dod_min_points,
                                feedback=feedback)
    except DataError as exc:
        notes.append(f"no DoD: {exc.message}")
        return None
    return with_cell_lod(dod, a, b)


def with_cell_lod(dod, epoch1: np.ndarray, epoch2: np.ndarray):
    """The DoD with each cell judged against its own LoD95 = 1.96 sqrt(s1^2/n1 + s2^2/n2)
    (s = spread of heights in the cell, n = points), never below ``dod.lod``; volumes recomputed.

    A fixed LoD passes cells on steep ground (embankments, the toe of a wall), where a cell's mean
    height depends on where the points happen to fall in it, and sums them into false volumes; the
    within-cell spread grows with the slope and catches exactly that (the DoD analogue of M3C2's LoD).
    """
    _, sd1, n1 = _cell_moments(epoch1, dod)
    _, sd2, n2 = _cell_moments(epoch2, dod)
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_lod = 1.96 * np.sqrt(sd1 ** 2 / n1 + sd2 ** 2 / n2)
    cell_lod = np.fmax(cell_lod, dod.lod)
    diff = np.asarray(dod.difference, dtype=np.float64)
    finite = np.isfinite(diff) & np.isfinite(cell_lod)
    significant = finite & (np.abs(np.where(finite, diff, 0.0)) > np.where(finite, cell_lod, np.inf))
    out = replace(dod, significant=significant)
    out.loss_m3, out.gain_m3, out.net_m3 = out.volumes()
    out.cell_lod = cell_lod.astype(np.float32)  # (rows, cols), for the GeoTIFF reader and the report
    return out


def _cell_moments(xyz: np.ndarray, dod) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sample standard deviation and count of heights per DoD cell, each (rows, cols)."""
    rows, cols = dod.shape
    xmin, ymax, size = dod.bounds[0], dod.bounds[3], dod.cell_size
    col = np.floor((xyz[:, 0] - xmin) / size).astype(np.int64)
    row = np.floor((ymax - xyz[:, 1]) / size).astype(np.int64)
    ok = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    cell = row[ok] * cols + col[ok]
    z = xyz[ok, 2]
    n = np.bincount(cell, minlength=rows * cols).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(cell, weights=z, minlength=rows * cols) / n
        dev = z - mean[cell]  # two-pass variance: heights are ~10-100 m, spreads mm
        var = np.bincount(cell, weights=dev * dev, minlength=rows * cols) / (n - 1)
    var[n < 2] = np.nan
    shape = (rows, cols)
    return mean.reshape(shape), np.sqrt(var).reshape(shape), n.reshape(shape)


def zone_table(settings: ComparisonSettings, result: M3C2Result, dod):
    """Per-zone statistics (``gis_desk.analysis.zones.zone_statistics``) plus the lean of each
    zone's faces.  Zones with ``zmin``/``zmax`` only count core points in that height band.  A zone
    also exceeds when its significant DoD loss or gain passes ``volume_threshold`` or its faces
    lean by more than ``lean_threshold_mrad`` (significantly); ``exceeds_reason`` says which."""
    import geopandas as gpd
    import pandas as pd

    from gis_desk.analysis.zones import zone_statistics

    zones = settings.zones
    core, dist, sig = result.core, result.distance, result.significant
    z = core[:, 2]
    parts, leans = [], []
    for i in range(len(zones)):
        row = zones.iloc[[i]]
        band = np.ones(len(core), bool)
        for col, op in (("zmin", np.greater_equal), ("zmax", np.less_equal)):
            if col in zones.columns:
                lim = row[col].iloc[0]
                if lim is not None and not pd.isna(lim):
                    band &= op(z, float(lim))
        stats = zone_statistics(row, settings.zone_name_field, core[band], dist[band], sig[band], dod=dod,
                                threshold=settings.threshold, min_share=settings.min_share)
        parts.append(stats)
        inside = np.flatnonzero(band)
        if len(inside):
            import shapely

            geom = row.geometry.iloc[0]
            inside = inside[shapely.contains_xy(geom, core[inside, 0], core[inside, 1])]
        leans.append(face_lean(core[inside], result.normals[inside], dist[inside],
                               radius=result.params.cylinder_radius))
    out = gpd.GeoDataFrame(pd.concat(parts) if parts else zones.iloc[:0].copy(), geometry=zones.geometry.name,
                           crs=zones.crs).reset_index(drop=True)
    for key in ("lean_mrad", "lean_se_mrad", "lean_bearing_deg", "lean_points"):
        out[key] = [lean[key] for lean in leans]
    m3c2_flag = out["exceeds"].to_numpy(bool)
    vol = np.zeros(len(out), bool)
    if settings.volume_threshold is not None and "volume_loss_m3" in out.columns:
        vol = (np.fmax(out["volume_loss_m3"].fillna(0.0), out["volume_gain_m3"].fillna(0.0))
               > settings.volume_threshold).to_numpy()
    lean = np.zeros(len(out), bool)
    if settings.lean_threshold_mrad is not None:
        mr, se = out["lean_mrad"].to_numpy(float), out["lean_se_mrad"].to_numpy(float)
        with np.errstate(invalid="ignore"):
            lean = np.nan_to_num(np.abs(mr) >= settings.lean_threshold_mrad) & \
                np.nan_to_num(np.abs(mr) > 1.96 * se)
    reasons = []
    for flags in zip(m3c2_flag, vol, lean):
        names = [n for f, n in zip(flags, ("M3C2 share beyond threshold", "DoD volume beyond threshold",
                                             "faces lean")) if f]
        reasons.append("; ".join(names))
    out["exceeds"] = m3c2_flag | vol | lean
    out.loc[out["exceeds"], "status"] = "exceeds"
    out["exceeds_reason"] = reasons
    return out


def face_lean(core: np.ndarray, normals: np.ndarray, distance: np.ndarray, *, radius: float | None = None,
              min_points: int = 30, min_height: float = 1.0) -> dict[str, float]:
    """Rotation (mrad) of a zone's near-vertical faces about a horizontal axis, from M3C2.

    An element leaning by the small horizontal vector ``lam`` (rad) about some height moves each
    face point horizontally by ``t + (z - zc) lam``; M3C2 sees that projected on the point's
    horizontal normal ``n_h``: ``d = n_h . t + (z - zc) n_h . lam``.  That is linear in (t, lam):
    a least-squares fit (with one pass of outlier rejection: edges, vegetation) over hundreds of
    core points measures a lean whose movement is far below each point's LoD.  Faces of all
    sides agree, so a wall's two faces or a pier's four all count.  When the faces look mostly
    one way (a long wall) only the lean across them is measurable, and that is what is fitted.

    ``radius`` (the M3C2 cylinder radius) corrects the standard error for neighbouring core
    points sharing epoch points: it grows by sqrt(mean number of core points within ``radius``).

    Returns ``lean_mrad`` (magnitude), ``lean_se_mrad`` (its standard error),
    ``lean_bearing_deg`` (grid bearing the top moves towards) and ``lean_points``; NaN (and 0
    points) when the zone has too few face points or too little height.
    """
    nan = {"lean_mrad": math.nan, "lean_se_mrad": math.nan, "lean_bearing_deg": math.nan, "lean_points": 0}
    ok = np.isfinite(distance) & np.all(np.isfinite(normals), axis=1)
    ok &= np.abs(normals[:, 2]) < 0.5  # faces within 30 degrees of vertical
    if ok.sum() < min_points or np.ptp(core[ok, 2]) < min_height:
        return nan
    nh, d, z = normals[ok, :2], distance[ok], core[ok, 2]
    nh = nh / np.linalg.norm(nh, axis=1, keepdims=True)
    dz = z - z.mean()
    vals, vecs = np.linalg.eigh(nh.T @ nh / len(nh))
    if vals[0] < 0.1:  # one main face direction: fit the lean across it only
        h = vecs[:, -1]
        p = nh @ h
        design = np.column_stack([p, dz * p])
        basis = h[:, None]
    else:
        design = np.column_stack([nh, dz[:, None] * nh])
        basis = np.eye(2)
    keep = np.ones(len(d), bool)
    for _ in range(2):  # fit, drop residuals beyond 3 robust sigmas, refit
        coef, *_ = np.linalg.lstsq(design[keep], d[keep], rcond=None)
        resid = d - design @ coef
        mad = 1.4826 * float(np.median(np.abs(resid[keep] - np.median(resid[keep]))))
        keep = np.abs(resid) <= 3 * max(mad, 1e-6)
        if keep.sum() < min_points:
            return nan
    coef, *_ = np.linalg.lstsq(design[keep], d[keep], rcond=None)
    resid = d[keep] - design[keep] @ coef
    dof = max(1, int(keep.sum()) - design.shape[1])
    try:
        cov = np.linalg.inv(design[keep].T @ design[keep]) * float(resid @ resid) / dof
    except np.linalg.LinAlgError:
        return nan
    k = basis.shape[1]
    lam = basis @ coef[-k:]  # horizontal lean vector (rad) in grid axes
    cov_lam = basis @ cov[-k:, -k:] @ basis.T
    size = float(np.hypot(*lam))
    if size == 0:
        return nan
    u = lam / size
    se = math.sqrt(max(float(u @ cov_lam @ u), 0.0))
    if radius:
        from scipy.spatial import cKDTree

        pts = core[ok][keep]
        shared = float(np.mean(cKDTree(pts).query_ball_point(pts, radius, return_length=True)))
        se *= math.sqrt(max(1.0, shared))
    return {"lean_mrad": size * 1000, "lean_se_mrad": se * 1000,
            "lean_bearing_deg": math.degrees(math.atan2(lam[0], lam[1])) % 360.0, "lean_points": int(keep.sum())}


def _sections(settings: ComparisonSettings, xyz1: np.ndarray, xyz2: np.ndarray) -> list:
    if not settings.section_lines:
        return []
    from gis_desk.analysis.section import section_profile

    labels = settings.section_labels or [f"Section {i + 1}" for i in range(len(settings.section_lines))]
    e1, e2 = settings.epoch_labels
    out = []
    for line, label in zip(settings.section_lines, labels):
        out.append(section_profile(xyz1, line, settings.section_width, label=f"{label}: {e1}"))
        out.append(section_profile(xyz2, line, settings.section_width, label=f"{label}: {e2}"))
    return out


def _histogram(d: np.ndarray, lod: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    if len(d) == 0:
        return np.zeros(bins, np.int64), np.linspace(-0.1, 0.1, bins + 1)
    span = float(np.percentile(np.abs(d), 99.5))
    span = max(span, 3 * float(np.nanmedian(lod)) if np.isfinite(lod).any() else 0.0, 1e-3)
    counts, edges = np.histogram(np.clip(d, -span, span), bins=bins, range=(-span, span))
    return counts, edges


def _preview_index(n: int, budget: int) -> np.ndarray:
    if n <= budget:
        return np.arange(n)
    return np.random.default_rng(0).choice(n, budget, replace=False)


# --- inputs from files (CLI, processing algorithms) ----------------------------------------------


def load_epoch(path, *, crs=None):
    """The full-resolution PointCloud of a point-cloud file (first scan of an E57)."""
    from gis_desk.io.pointcloud import read_pointcloud

    return read_pointcloud(path, crs=crs)[0].cloud


def load_m3c2_params(path) -> tuple[M3C2Params, list[str], float | None]:
    """M3C2 parameters from a file: JSON (``M3C2Params.to_dict()``, radii) or a CloudCompare
    M3C2 parameter file (INI, diameters).  Returns (params, notes, CloudCompare's core-point
    subsampling radius or None): the caller decides whether to use that spacing."""
    from gis_desk.errors import CorruptFileError, MissingFileError

    path = Path(path)
    if not path.is_file():
        raise MissingFileError("The M3C2 parameter file does not exist", path=path)
    if path.suffix.lower() == ".json":
        try:
            params = M3C2Params.from_dict(json.loads(path.read_text(encoding="utf-8")))
            params.validate()
        except (ValueError, TypeError, AttributeError) as exc:
            raise CorruptFileError(f"Not a usable M3C2 parameter JSON file: {exc}", path=path,
                                   hint='e.g. {"normal_radius": 0.5, "cylinder_radius": 0.25, "max_depth": 0.3}') \
                from None
        return params, [], None
    from gis_desk.io.m3c2_params import read_cloudcompare_file

    cc = read_cloudcompare_file(path)
    notes = list(cc.notes)
    if cc.vertical_normals:
        notes.append("NormalMode=3 (vertical normals): normals oriented up; they are still fitted, not forced vertical")
    return cc.params, notes, cc.core_subsample_radius


def load_point_pairs(path) -> tuple[np.ndarray, np.ndarray]:
    """(epoch 2 points, epoch 1 points), each (k, 3), from a text/CSV file of six numbers per line
    (x y z in epoch 2, then the same point in epoch 1); a header line and ``#`` comments are skipped."""
    import re

    from gis_desk.errors import CorruptFileError, MissingFileError

    path = Path(path)
    if not path.is_file():
        raise MissingFileError("The point pairs file does not exist", path=path)
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[\s,;]+", line) if p]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            if not rows:  # a header
                continue
            raise CorruptFileError(f"Line {number} of the point pairs is not numbers: {line!r}", path=path) from None
        if len(values) != 6:
            raise CorruptFileError(f"Line {number} has {len(values)} numbers; a pair needs 6 "
                                   "(x y z in epoch 2, then x y z in epoch 1)", path=path)
        rows.append(values)
    if len(rows) < 3:
        raise DataError(f"{len(rows)} point pair(s): at least 3 are needed", path=path)
    a = np.asarray(rows, dtype=np.float64)
    return a[:, :3], a[:, 3:]


def load_polygons(path, crs=None, *, what: str = "areas") -> list:
    """Polygons of a vector file (MultiPolygons split), in ``crs`` when given."""
    return list(_vector_frame(path, crs, ("Polygon", "MultiPolygon"), what).explode(index_parts=False).geometry)


def load_zones(path, crs=None, name_field: str = "name"):
    """A GeoDataFrame of zone polygons in ``crs``; DataError if ``name_field`` is missing."""
    frame = _vector_frame(path, crs, ("Polygon", "MultiPolygon"), "zones")
    if name_field not in frame.columns:
        fields = ", ".join(c for c in frame.columns if c != frame.geometry.name)
        raise DataError(f"The zones have no field {name_field!r}", path=path, hint=f"choose one of: {fields}")
    return frame.reset_index(drop=True)


def load_lines(path, crs=None, label_field: str | None = "name") -> tuple[list, list[str]]:
    """Section lines (LineStrings) of a vector file in ``crs`` and their labels."""
    frame = _vector_frame(path, crs, ("LineString", "MultiLineString"), "section lines")
    frame = frame.explode(index_parts=False).reset_index(drop=True)
    if label_field and label_field in frame.columns:
        labels = [str(v) for v in frame[label_field]]
    else:
        labels = [f"Section {i + 1}" for i in range(len(frame))]
    return list(frame.geometry), labels


def _vector_frame(path, crs, kinds: tuple[str, ...], what: str):
    from gis_desk.io.vector import read_vector

    datasets = [d for d in read_vector(path, crs=crs) if hasattr(d, "frame")]
    if not datasets:
        raise DataError(f"No vector layer with {what}", path=path)
    frame = datasets[0].frame
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    bad = sorted(set(frame.geom_type) - set(kinds))
    if bad or len(frame) == 0:
        raise DataError(f"The {what} file must hold {' or '.join(kinds)} features"
                        + (f", not {', '.join(bad)}" if bad else ": it has none"), path=path)
    if crs is not None and frame.crs is not None:
        frame = frame.to_crs(crs)
    return frame


# --- outputs ------------------------------------------------------------------------------------


def write_comparison_outputs(result: ComparisonResult, out_dir, crs=None) -> dict[str, Path]:
    """Write the comparison's files into ``out_dir`` (created): ``m3c2_change.laz`` (core points
    with M3C2 fields as extra bytes), ``dod.tif``, ``zones_change.gpkg``, ``histogram.png``,
    ``sections.png`` + ``sections.csv``, ``registration_matrix.txt`` and ``comparison.json``."""
    from gis_desk.errors import WriterError
    from gis_desk.io.pointcloud import write_pointcloud

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriterError(f"Cannot create the output folder: {exc.strerror or exc}", path=out) from exc
    crs = crs if crs is not None else result.crs
    paths: dict[str, Path] = {}
    cloud = result.m3c2.as_pointcloud(crs)
    finite = np.all(np.isfinite(cloud.xyz), axis=1)
    paths["change_laz"] = write_pointcloud(out / "m3c2_change.laz", cloud.subset(finite))
    if result.dod is not None:
        from gis_desk.analysis.dod import write_dod_geotiff

        paths["dod"] = Path(write_dod_geotiff(out / "dod.tif", result.dod, crs))
    if result.zones is not None:
        from gis_desk.processing.algorithm import write_vector_output

        paths["zones"] = Path(write_vector_output(result.zones, out / "zones_change.gpkg"))
    paths["histogram"] = plot_histogram(result, out / "histogram.png")
    if result.sections:
        from gis_desk.analysis.section import export_sections_csv, plot_sections

        plot_sections(result.sections, out / "sections.png", title="Sections")
        export_sections_csv(result.sections, out / "sections.csv")
        paths["sections_png"], paths["sections_csv"] = out / "sections.png", out / "sections.csv"
    if result.registration is not None:
        from gis_desk.analysis.registration import format_transform

        (out / "registration_matrix.txt").write_text(format_transform(result.registration.matrix), encoding="utf-8")
        paths["registration_matrix"] = out / "registration_matrix.txt"
    record = result.to_dict()
    record["files"] = {k: p.name for k, p in paths.items()}
    (out / "comparison.json").write_text(json.dumps(json_safe(record), indent=2) + "\n", encoding="utf-8")
    paths["json"] = out / "comparison.json"
    return paths


def json_safe(value):
    """NaN/inf become null (comparison.json must be strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value


def plot_histogram(result: ComparisonResult, path_or_axes, *, dpi: int = 120):
    """Histogram of M3C2 distances (mm) with the median LoD95 marked; a PNG path or axes."""
    counts, edges = result.histogram
    own = not hasattr(path_or_axes, "bar")
    if own:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.0, 3.2), dpi=dpi)
        ax = fig.add_subplot(111)
    else:
        ax = path_or_axes
    mm = np.asarray(edges) * 1000
    centres = (mm[:-1] + mm[1:]) / 2
    ax.bar(centres, counts, width=np.diff(mm), color=np.where(centres < 0, "#c0504d", "#4f81bd"),
           edgecolor="none")
    lod = float(np.nanmedian(result.m3c2.lod95)) * 1000 if np.isfinite(result.m3c2.lod95).any() else None
    if lod:
        for x in (-lod, lod):
            ax.axvline(x, color="#333333", lw=0.8, ls="--")
        ax.text(lod, ax.get_ylim()[1] * 0.92, f" median LoD95 {lod:.1f} mm", fontsize=7)
    ax.set_yscale("log" if counts.max(initial=0) > 50 * max(1, np.median(counts[counts > 0]) if counts.any() else 1)
                  else "linear")
    ax.set_xlabel("M3C2 distance (mm), epoch 2 - epoch 1 along the normal; the end bins hold everything beyond",
                  fontsize=8)
    ax.set_ylabel("core points")
    if own:
        fig.tight_layout()
        fig.savefig(str(path_or_axes))
        return Path(path_or_axes)
    return ax
