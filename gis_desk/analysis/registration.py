"""Rigid registration of one survey epoch onto another: typed matrices, point pairs, and ICP.

Engineers align epoch 2 to epoch 1 before measuring change, in three ways that this module
offers as plain functions on numpy arrays (no layers, no Qt):

* ``parse_transform``: a 4x4 (or 3x4) matrix typed or pasted from CloudCompare's ``.txt``;
* ``transform_from_pairs``: a least-squares rigid fit (Kabsch/SVD) to picked point pairs;
* ``icp``: open3d point-to-plane ICP restricted to *stable areas* (abutments, wing walls), so
  the structure's real movement does not pull the registration.

Large projected coordinates (British National Grid eastings ~ 400 000 m) are shifted to a
local origin before open3d sees them and the matrix is composed back afterwards: the
point-to-plane normal equations couple rotation with ``p x n`` and lose millimetres when
``p`` is hundreds of kilometres from the origin.

``registration_error`` (feeds ``M3C2Params.registration_error``) is defined here as the robust
standard deviation ``1.4826 * MAD`` of the signed point-to-plane distances between the aligned
epoch 2 stable points and epoch 1's tangent planes.  It includes the roughness and noise of
both epochs on the stable area, so it is an upper bound on the pure alignment error: the
LoD built from it errs on the safe side (fewer false "significant" changes).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from gis_desk.errors import CrsError, DataError, MissingCrsError, ParameterError

# Fewer correspondences than this cannot constrain 6 degrees of freedom robustly.
MIN_CORRESPONDENCES = 30
# MAD -> standard deviation for normally distributed residuals.
MAD_TO_SIGMA = 1.4826


@dataclass
class RegistrationResult:
    """What a registration found; ``matrix`` maps epoch 2 (source) onto epoch 1 (target)."""

    matrix: np.ndarray
    rms: float  # metres: RMS of point-to-plane residuals of the correspondences (pairs: of pair residuals)
    overlap: float  # 0..1: share of source stable points with a target point within max_distance
    n_correspondences: int
    registration_error: float  # metres: 1.4826 * MAD of signed point-to-plane residuals
    method: str
    iterations: int
    notes: list[str] = field(default_factory=list)
    median_residual: float = 0.0  # metres: remaining systematic offset along the normals
    max_distance: float | None = None
    n_source_stable: int = 0
    n_target_stable: int = 0

    @property
    def translation(self) -> np.ndarray:
        return self.matrix[:3, 3].copy()

    @property
    def rotation_angle(self) -> float:
        """Rotation angle of the matrix, radians."""
        return rotation_angle(self.matrix)

    def to_dict(self) -> dict[str, Any]:
        return {
            "matrix": [[float(v) for v in row] for row in np.asarray(self.matrix)],
            "rms": float(self.rms),
            "overlap": float(self.overlap),
            "n_correspondences": int(self.n_correspondences),
            "registration_error": float(self.registration_error),
            "method": self.method,
            "iterations": int(self.iterations),
            "notes": list(self.notes),
            "median_residual": float(self.median_residual),
            "max_distance": None if self.max_distance is None else float(self.max_distance),
            "n_source_stable": int(self.n_source_stable),
            "n_target_stable": int(self.n_target_stable),
            "translation_m": [float(v) for v in self.translation],
            "rotation_mrad": 1000.0 * float(self.rotation_angle),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RegistrationResult":
        return cls(
            matrix=np.asarray(data["matrix"], dtype=float).reshape(4, 4),
            rms=float(data.get("rms", math.nan)),
            overlap=float(data.get("overlap", math.nan)),
            n_correspondences=int(data.get("n_correspondences", 0)),
            registration_error=float(data.get("registration_error", 0.0)),
            method=str(data.get("method", "")),
            iterations=int(data.get("iterations", 0)),
            notes=list(data.get("notes", [])),
            median_residual=float(data.get("median_residual", 0.0)),
            max_distance=data.get("max_distance"),
            n_source_stable=int(data.get("n_source_stable", 0)),
            n_target_stable=int(data.get("n_target_stable", 0)),
        )


# --- small matrix helpers -----------------------------------------------------------------


def apply_transform(xyz: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``xyz`` (n, 3) transformed by a 4x4 matrix (float64)."""
    xyz = np.asarray(xyz, dtype=np.float64)
    m = np.asarray(matrix, dtype=np.float64)
    return xyz @ m[:3, :3].T + m[:3, 3]


def translation_matrix(offset: Sequence[float]) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = np.asarray(offset, dtype=float)
    return m


def rotation_angle(matrix: np.ndarray) -> float:
    """Angle (radians) of the rotation part of a rigid 4x4 matrix."""
    r = np.asarray(matrix, dtype=float)[:3, :3]
    c = (np.trace(r) - 1.0) / 2.0
    # For tiny angles arccos loses precision; use the skew part instead.
    s = 0.5 * np.linalg.norm([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return float(math.atan2(s, min(1.0, max(-1.0, c))))


def format_transform(matrix: np.ndarray) -> str:
    """The matrix as CloudCompare writes it: four lines of four numbers."""
    m = np.asarray(matrix, dtype=float).reshape(4, 4)
    return "\n".join(" ".join(f"{v:.12g}" for v in row) for row in m) + "\n"


# --- typed matrices ---------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,;]+")


def parse_transform(text: str, *, tolerance: float = 1e-3) -> np.ndarray:
    """A rigid 4x4 matrix from 16 numbers (4x4) or 12 (3x4, bottom row implied).

    Numbers may be separated by spaces, tabs, newlines, commas or semicolons (CloudCompare's
    matrix ``.txt`` is four lines of four numbers); ``#`` or ``//`` start a comment and square
    brackets are ignored, so numpy's printout pastes too.  The rotation part must be
    orthonormal with determinant +1 within ``tolerance`` (printed matrices are rounded); the
    returned matrix is projected onto the nearest exact rotation, so no scale ever creeps in.
    Raises ``ParameterError`` saying why a matrix is refused.
    """
    lines = []
    for line in str(text).splitlines():
        line = line.split("#", 1)[0].split("//", 1)[0]
        lines.append(line.replace("[", " ").replace("]", " "))
    tokens = [t for t in _SEPARATORS.split(" ".join(lines)) if t]
    values = []
    for tok in tokens:
        try:
            values.append(float(tok))
        except ValueError:
            raise ParameterError(f"The transformation matrix contains {tok!r}, which is not a number",
                                 hint="give 16 numbers (4 rows of 4) or 12 (3 rows of 4)") from None
    if len(values) not in (12, 16):
        raise ParameterError(f"A transformation matrix needs 16 numbers (4x4) or 12 (3x4); found {len(values)}",
                             hint="paste CloudCompare's matrix: four lines of four numbers")
    if not np.all(np.isfinite(values)):
        raise ParameterError("The transformation matrix contains NaN or infinite values")
    m = np.eye(4)
    m[: len(values) // 4, :] = np.asarray(values).reshape(-1, 4)
    return validate_rigid(m, tolerance=tolerance)


def validate_rigid(matrix: np.ndarray, *, tolerance: float = 1e-3) -> np.ndarray:
    """Check a 4x4 matrix is a rigid motion (within ``tolerance``) and return it exactly rigid."""
    m = np.asarray(matrix, dtype=float)
    if m.shape != (4, 4):
        raise ParameterError(f"A transformation matrix must be 4x4, not {m.shape}")
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=tolerance):
        raise ParameterError(f"The bottom row of the matrix is {m[3].tolist()}, not 0 0 0 1: "
                             "that is a projective transform, not a rigid one")
    r = m[:3, :3]
    sv = np.linalg.svd(r, compute_uv=False)
    if sv[-1] < 1e-9:
        raise ParameterError("The rotation part of the matrix is singular (it flattens the cloud)",
                             hint="check the matrix was pasted completely and in row order")
    det = float(np.linalg.det(r))
    if det < 0:
        raise ParameterError("The matrix mirrors the cloud (determinant of the rotation is negative); "
                             "a survey registration must be a rotation plus translation")
    if np.max(np.abs(sv - 1.0)) > tolerance:
        raise ParameterError(
            f"The matrix is not rigid: it scales by {sv.min():.6g} to {sv.max():.6g} "
            f"(allowed 1 +/- {tolerance:g})",
            hint="registration between survey epochs must not change scale; "
                 "export the matrix without scaling")
    out = np.eye(4)
    out[:3, :3] = _nearest_rotation(r)
    out[:3, 3] = m[:3, 3]
    return out


def _nearest_rotation(r: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(r)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def read_transform(path: str | Path, *, tolerance: float = 1e-3) -> np.ndarray:
    """``parse_transform`` on a file; errors name the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        from gis_desk.errors import MissingFileError

        raise MissingFileError("The transformation matrix file does not exist", path=p) from None
    try:
        return parse_transform(text, tolerance=tolerance)
    except ParameterError as exc:
        raise ParameterError(exc.message, path=p, hint=exc.hint) from None


# --- point pairs ----------------------------------------------------------------------------


def transform_from_pairs(source_pts: np.ndarray, target_pts: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares rigid transform mapping ``source_pts`` onto ``target_pts`` (Kabsch/SVD).

    Returns ``(matrix, rms)`` where ``rms`` is the root-mean-square 3D residual of the pairs
    after the fit.  Needs at least three pairs that are not (nearly) collinear.
    """
    src = np.asarray(source_pts, dtype=np.float64)
    dst = np.asarray(target_pts, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] != 3 or src.shape != dst.shape:
        raise ParameterError(f"Point pairs must be two (k, 3) arrays of equal size; got {src.shape} and {dst.shape}")
    if not (np.all(np.isfinite(src)) and np.all(np.isfinite(dst))):
        raise ParameterError("Point pairs contain NaN or infinite coordinates")
    k = len(src)
    if k < 3:
        raise ParameterError(f"A rigid transform needs at least 3 point pairs; {k} given",
                             hint="pick 3 or more well-spread points visible in both epochs")
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - cs, dst - cd  # centring also removes the large BNG offsets before the SVD
    for pts, which in ((a, "epoch 2"), (b, "epoch 1")):
        sv = np.linalg.svd(pts, compute_uv=False)
        if sv[0] == 0 or sv[1] < 1e-6 * max(sv[0], 1.0):
            raise ParameterError(f"The {which} points of the pairs are (nearly) on one straight line, "
                                 "so the rotation about that line is undetermined",
                                 hint="add a pair away from the line through the others")
    h = a.T @ b
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = cd - r @ cs
    resid = apply_transform(src, m) - dst
    rms = float(np.sqrt(np.mean(np.sum(resid**2, axis=1))))
    return m, rms


def pairs_result(source_pts: np.ndarray, target_pts: np.ndarray) -> RegistrationResult:
    """``transform_from_pairs`` wrapped in a ``RegistrationResult`` (for the project/report)."""
    m, rms = transform_from_pairs(source_pts, target_pts)
    k = len(np.asarray(source_pts))
    notes = [f"{k} point pairs; RMS of pair residuals {rms * 1000:.1f} mm"]
    if k == 3:
        notes.append("exactly 3 pairs: the residuals cannot reveal a mis-picked point; pick 4 or more")
    return RegistrationResult(matrix=m, rms=rms, overlap=math.nan, n_correspondences=k,
                              registration_error=rms, method="point pairs", iterations=0, notes=notes)


# --- CRS --------------------------------------------------------------------------------


def check_same_crs(crs1: Any, crs2: Any, path1: str | Path | None = None, path2: str | Path | None = None) -> None:
    """Raise ``CrsError`` when the two epochs are not in the same coordinate reference system.

    Both without a CRS is accepted (local site grids are common); one without is refused,
    because the comparison cannot be checked.  Compound CRSs compare their horizontal part,
    and their vertical part when both declare one.
    """
    from gis_desk.core.crs import crs_name, to_crs

    names = [str(p) if p is not None else f"epoch {i}" for i, p in ((1, path1), (2, path2))]
    if crs1 is None and crs2 is None:
        return
    if crs1 is None or crs2 is None:
        missing = names[0] if crs1 is None else names[1]
        raise MissingCrsError(f"{missing} has no coordinate reference system, so it cannot be checked "
                              "against the other epoch", path=path1 if crs1 is None else path2,
                              hint="assign the CRS both surveys were delivered in (e.g. EPSG:27700)")
    a, b = to_crs(crs1), to_crs(crs2)
    ha, va = _split_crs(a)
    hb, vb = _split_crs(b)
    same_h = ha.equals(hb, ignore_axis_order=True) if ha is not None and hb is not None else ha is hb
    same_v = True if va is None or vb is None else va.equals(vb, ignore_axis_order=True)
    if not (same_h and same_v):
        raise CrsError(f"The epochs are in different coordinate reference systems: {names[0]} is "
                       f"{crs_name(a)}, {names[1]} is {crs_name(b)}",
                       hint="reproject one epoch first; registration cannot absorb a change of CRS")


def _split_crs(crs):
    if crs.is_compound:
        subs = crs.sub_crs_list
        horiz = next((s for s in subs if not s.is_vertical), None)
        vert = next((s for s in subs if s.is_vertical), None)
        return horiz, vert
    if crs.is_vertical:
        return None, crs
    return crs, None


# --- ICP ----------------------------------------------------------------------------------


def stable_mask(xyz: np.ndarray, stable_areas: Sequence[Any] | None) -> np.ndarray:
    """Bool mask of points whose plan position (x, y) lies inside any stable-area polygon."""
    xyz = np.asarray(xyz)
    if stable_areas is None:
        return np.ones(len(xyz), dtype=bool)
    import shapely

    polys = [g for g in stable_areas if g is not None and not g.is_empty]
    if not polys:
        raise ParameterError("The stable areas are empty", hint="draw at least one polygon on ground that did not move")
    union = shapely.union_all(polys)
    shapely.prepare(union)
    return shapely.contains_xy(union, xyz[:, 0], xyz[:, 1])


def icp(
    source: np.ndarray,
    target: np.ndarray,
    *,
    init: np.ndarray | None = None,
    stable_areas: Sequence[Any] | None = None,
    max_distance: float = 0.5,
    voxel_size: float | None = None,
    max_iterations: int = 50,
    normal_radius: float | None = None,
    feedback=None,
) -> RegistrationResult:
    """Point-to-plane ICP of ``source`` (epoch 2) onto ``target`` (epoch 1), on stable areas only.

    ``init`` is the coarse matrix (typed or from point pairs); the stable polygons are in
    epoch 1's coordinates, so source points are selected after applying ``init``.  Only points
    whose (x, y) lie inside the polygons are used from *both* clouds.  ``voxel_size`` thins
    both clouds first (much faster on dense scans).  Normals are estimated on the target from
    its 30 nearest neighbours (or within ``normal_radius``).  Returns the full matrix
    (``init`` included) in the original coordinates.
    """
    import open3d as o3d

    reg = o3d.pipelines.registration
    src = _as_xyz(source, "epoch 2")
    tgt = _as_xyz(target, "epoch 1")
    if not max_distance > 0:
        raise ParameterError(f"The ICP search distance must be positive, not {max_distance}")
    if voxel_size is not None and not voxel_size > 0:
        raise ParameterError(f"The voxel size must be positive, not {voxel_size}")
    if max_iterations < 1:
        raise ParameterError("ICP needs at least one iteration")
    init_m = np.eye(4) if init is None else validate_rigid(np.asarray(init, dtype=float))
    notes: list[str] = []

    src_init = apply_transform(src, init_m)
    s_mask, t_mask = stable_mask(src_init, stable_areas), stable_mask(tgt, stable_areas)
    where = "inside the stable areas" if stable_areas is not None else "in the cloud"
    if t_mask.sum() < MIN_CORRESPONDENCES:
        raise DataError(f"Only {int(t_mask.sum())} points of epoch 1 lie {where}",
                        hint="draw the stable areas over ground both surveys covered")
    if s_mask.sum() < MIN_CORRESPONDENCES:
        raise DataError(f"Only {int(s_mask.sum())} points of epoch 2 lie {where} after the coarse alignment",
                        hint="check the coarse matrix and that both epochs are in the same CRS")
    origin = tgt[t_mask].mean(axis=0)  # local origin: keeps open3d's sums small and exact
    s_loc = src_init[s_mask] - origin
    t_loc = tgt[t_mask] - origin
    n_src_stable, n_tgt_stable = len(s_loc), len(t_loc)

    s_pcd, t_pcd = o3d.geometry.PointCloud(), o3d.geometry.PointCloud()
    s_pcd.points = o3d.utility.Vector3dVector(s_loc)
    t_pcd.points = o3d.utility.Vector3dVector(t_loc)
    if voxel_size:
        s_pcd = s_pcd.voxel_down_sample(voxel_size)
        t_pcd = t_pcd.voxel_down_sample(voxel_size)
        notes.append(f"voxel thinning {voxel_size:g} m: {len(s_pcd.points):,} / {len(t_pcd.points):,} points used")
    search = (o3d.geometry.KDTreeSearchParamHybrid(radius=normal_radius, max_nn=30) if normal_radius
              else o3d.geometry.KDTreeSearchParamKNN(knn=30))
    t_pcd.estimate_normals(search)
    t_normals = np.asarray(t_pcd.normals)
    notes.extend(_conditioning_notes(t_normals))

    from scipy.spatial import cKDTree

    t_pts = np.asarray(t_pcd.points)
    tree = cKDTree(t_pts)
    s_pts = np.asarray(s_pcd.points)
    before = _residuals(s_pts, t_pts, t_normals, tree, max_distance)
    if before.n < MIN_CORRESPONDENCES:
        raise DataError(
            f"Only {before.n} stable points of epoch 2 are within {max_distance:g} m of epoch 1 "
            f"({before.overlap:.0%} overlap): the epochs do not overlap there",
            hint="improve the coarse alignment (point pairs or a matrix), raise the search distance, "
                 "or check both epochs are in the same CRS")
    notes.append(f"before ICP: overlap {before.overlap:.0%}, point-to-plane RMS {before.rms * 1000:.1f} mm")

    estimation = reg.TransformationEstimationPointToPlane()
    criteria = reg.ICPConvergenceCriteria(relative_fitness=1e-9, relative_rmse=1e-9, max_iteration=1)
    local = np.eye(4)
    iterations = 0
    converged = False
    prev = None
    for it in range(max_iterations):
        if feedback is not None:
            feedback.check_canceled()
            feedback.set_progress(100.0 * it / max_iterations)
        step = reg.registration_icp(s_pcd, t_pcd, max_distance, local, estimation, criteria)
        update = step.transformation @ np.linalg.inv(local)
        local = np.asarray(step.transformation)
        iterations = it + 1
        small = np.linalg.norm(update[:3, 3]) < 1e-6 and rotation_angle(update) < 1e-8
        same = prev is not None and abs(step.fitness - prev[0]) < 1e-7 and abs(step.inlier_rmse - prev[1]) < 1e-8
        prev = (step.fitness, step.inlier_rmse)
        if small or same:
            converged = True
            break
    if not converged:
        notes.append(f"ICP stopped after {max_iterations} iterations without converging; "
                     "check the result or raise the iteration limit")

    after = _residuals(apply_transform(s_pts, local), t_pts, t_normals, tree, max_distance)
    if after.n < MIN_CORRESPONDENCES:
        raise DataError(f"ICP lost the overlap: only {after.n} correspondences remain within {max_distance:g} m",
                        hint="the stable areas may be too small or featureless; enlarge them or give a coarse matrix")
    if after.overlap < 0.5:
        notes.append(f"only {after.overlap:.0%} of epoch 2's stable points found epoch 1 within "
                     f"{max_distance:g} m: the stable areas may not have been covered by both surveys")
    matrix = translation_matrix(origin) @ local @ translation_matrix(-origin) @ init_m
    if feedback is not None:
        feedback.set_progress(100.0)
    return RegistrationResult(
        matrix=matrix, rms=after.rms, overlap=after.overlap, n_correspondences=after.n,
        registration_error=after.sigma, method="ICP point-to-plane (open3d) on stable areas"
        if stable_areas is not None else "ICP point-to-plane (open3d)",
        iterations=iterations, notes=notes, median_residual=after.median, max_distance=float(max_distance),
        n_source_stable=n_src_stable, n_target_stable=n_tgt_stable,
    )


@dataclass
class _Residuals:
    n: int
    overlap: float
    rms: float
    sigma: float
    median: float


def _residuals(s_pts, t_pts, t_normals, tree, max_distance) -> _Residuals:
    """Signed point-to-plane residuals of source points whose nearest target is within reach."""
    dist, idx = tree.query(s_pts, k=1, distance_upper_bound=max_distance, workers=-1)
    ok = np.isfinite(dist)
    n = int(ok.sum())
    overlap = n / len(s_pts) if len(s_pts) else 0.0
    if n == 0:
        return _Residuals(0, overlap, math.nan, math.nan, math.nan)
    d = np.einsum("ij,ij->i", s_pts[ok] - t_pts[idx[ok]], t_normals[idx[ok]])
    med = float(np.median(d))
    return _Residuals(n, overlap, float(np.sqrt(np.mean(d**2))),
                      float(MAD_TO_SIGMA * np.median(np.abs(d - med))), med)


def _conditioning_notes(normals: np.ndarray) -> list[str]:
    """Warn when the stable surfaces leave a translation unconstrained (e.g. only flat ground)."""
    if len(normals) == 0:
        return []
    sample = normals[:: max(1, len(normals) // 50_000)]
    ev = np.linalg.eigvalsh(sample.T @ sample / len(sample))
    if ev[0] < 0.01:
        return ["the stable surfaces face too few directions (e.g. only flat ground, or ground plus one wall): "
                "ICP cannot fix the shift along them; add stable areas with walls facing other ways"]
    return []


def _as_xyz(a: np.ndarray, which: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise DataError(f"The {which} points must be an (n, 3) array, not {arr.shape}")
    arr = arr[:, :3]
    finite = np.all(np.isfinite(arr), axis=1)
    if not finite.all():
        arr = arr[finite]
    if len(arr) == 0:
        raise DataError(f"The {which} cloud has no points")
    return arr
