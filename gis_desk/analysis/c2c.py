"""Cloud-to-cloud (C2C) distances: a quick, unsigned change measure, as CloudCompare's C2C tool.

For each point of ``compared`` the distance to the ``reference`` cloud: to its nearest reference
point, or (``local_model="plane"``) to the least-squares plane through its ``k`` nearest reference
points, which removes most of the sampling-spacing bias of the nearest-point distance on smooth
surfaces (as CloudCompare's "local model" option; like CloudCompare we keep the smaller of the
two, so a model never makes a distance worse).  The displacement vector (compared point minus
its closest reference location) is split into a horizontal length and a signed vertical part
(positive: the compared point lies above the reference), which is what engineers ask of
settlement (vertical) and wall movement (horizontal).

C2C is unsigned and biased on rough or sparse surfaces (see field facts): M3C2 is the engineering
measure; C2C is for a quick look and for clouds without a sensible normal.

Search: ``scipy.spatial.cKDTree`` on coordinates relative to the reference's minimum corner (so
national-grid eastings do not cost precision), all cores, in chunks for progress and cancel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from gis_desk.errors import DataError, ParameterError

_CHUNK = 200_000  # compared points per query: bounded memory, progress granularity


@dataclass
class C2CResult:
    distance: np.ndarray  # (n,) unsigned, metres; nan beyond max_distance
    horizontal: np.ndarray  # (n,) length of the displacement's XY part (>= 0)
    vertical: np.ndarray  # (n,) signed Z part: compared above reference is positive
    model: str  # 'nearest' | 'plane'
    nearest: np.ndarray | None = None  # (n,) index of the nearest reference point (-1 if none)

    def __len__(self) -> int:
        return len(self.distance)

    def summary(self) -> dict:
        ok = np.isfinite(self.distance)
        d = self.distance[ok]
        return {
            "points": int(len(self.distance)), "matched": int(ok.sum()), "model": self.model,
            "mean": float(d.mean()) if len(d) else float("nan"),
            "median": float(np.median(d)) if len(d) else float("nan"),
            "p95": float(np.percentile(d, 95)) if len(d) else float("nan"),
            "max": float(d.max()) if len(d) else float("nan"),
        }


def _as_xyz(a, what: str) -> np.ndarray:
    arr = np.asarray(getattr(a, "xyz", a), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise DataError(f"The {what} must be an (n, 3) array of x, y, z; got shape {arr.shape}")
    if len(arr) and not np.all(np.isfinite(arr)):
        raise DataError(f"The {what} contains NaN or infinite coordinates",
                        hint="remove invalid points before comparing")
    return arr


def c2c(
    reference,
    compared,
    *,
    local_model: str | None = None,
    k: int = 6,
    max_distance: float | None = None,
    feedback=None,
) -> C2CResult:
    """Distances from each ``compared`` point to the ``reference`` cloud ((n, 3) arrays or PointClouds).

    ``local_model``: None (nearest point) or "plane" (least-squares plane of the ``k`` nearest
    reference points).  ``max_distance``: points with no reference point within it get nan.
    Raises ParameterError for bad settings, DataError for bad arrays, CanceledError if cancelled.
    """
    model = "nearest" if local_model in (None, "", "none", "nearest") else str(local_model).lower()
    if model not in ("nearest", "plane"):
        raise ParameterError(f"Unknown C2C local model {local_model!r}: use None or 'plane'")
    if model == "plane" and int(k) < 3:
        raise ParameterError(f"A local plane needs k >= 3 neighbours, got k={k!r}")
    if max_distance is not None and not (np.isfinite(max_distance) and max_distance > 0):
        raise ParameterError(f"C2C max_distance must be a positive number of metres, got {max_distance!r}")
    ref = _as_xyz(reference, "reference cloud")
    cmp_ = _as_xyz(compared, "compared cloud")
    if len(ref) == 0:
        raise DataError("C2C needs a reference cloud with points; it is empty")
    n = len(cmp_)
    if feedback is not None:
        feedback.info(f"C2C ({model}): {n:,} points against {len(ref):,} reference points")

    origin = ref.min(axis=0)
    ref_rel = ref - origin
    tree = cKDTree(ref_rel)
    kk = min(int(k), len(ref)) if model == "plane" else 1
    bound = float(max_distance) if max_distance is not None else np.inf

    distance = np.full(n, np.nan)
    horizontal = np.full(n, np.nan)
    vertical = np.full(n, np.nan)
    nearest = np.full(n, -1, np.int64)
    for a in range(0, n, _CHUNK):
        if feedback is not None:
            feedback.check_canceled()
        b = min(a + _CHUNK, n)
        p = cmp_[a:b] - origin
        d, idx = tree.query(p, k=kk, distance_upper_bound=bound, workers=-1)
        if kk == 1:
            d, idx = d[:, None], idx[:, None]
        found = np.isfinite(d[:, 0])
        nn = np.where(found, idx[:, 0], 0)
        vec = p - ref_rel[nn]  # displacement to the nearest point
        dist = d[:, 0].copy()
        if model == "plane":
            vec, dist = _plane_displacement(p, ref_rel, idx, d, vec, dist)
        dist[~found] = np.nan
        vec[~found] = np.nan
        distance[a:b] = dist
        horizontal[a:b] = np.hypot(vec[:, 0], vec[:, 1])
        vertical[a:b] = vec[:, 2]
        nearest[a:b] = np.where(found, idx[:, 0], -1)
        if feedback is not None:
            feedback.set_progress(100.0 * b / n)
    if feedback is not None:
        feedback.set_progress(100.0)
    return C2CResult(distance, horizontal, vertical, model, nearest)


def _plane_displacement(p, ref, idx, d, vec_nn, dist_nn):
    """Displacement to the plane of each point's neighbours, where closer than the nearest point.

    Neighbours beyond max_distance come back with index == len(ref); a plane needs 3 real ones.
    """
    m = len(ref)
    valid = idx < m
    nvalid = valid.sum(axis=1)
    usable = nvalid >= 3
    vec = vec_nn.copy()
    dist = dist_nn.copy()
    if not usable.any():
        return vec, dist
    rows = np.flatnonzero(usable)
    nb_idx = np.where(valid[rows], idx[rows], 0)
    w = valid[rows].astype(np.float64)[:, :, None]  # weights drop the missing neighbours
    nb = ref[nb_idx]  # (r, k, 3)
    cnt = w.sum(axis=1)  # (r, 1)
    centroid = (nb * w).sum(axis=1) / cnt
    dev = (nb - centroid[:, None, :]) * w
    cov = np.einsum("rki,rkj->rij", dev, dev) / cnt[:, :, None]
    evals, evecs = np.linalg.eigh(cov)
    normal = evecs[:, :, 0]  # smallest eigenvalue's eigenvector
    # Collinear or coincident neighbours define no plane: keep the nearest-point distance there.
    planar = evals[:, 1] > 1e-12 * np.maximum(evals[:, 2], 1e-300)
    s = np.einsum("ri,ri->r", p[rows] - centroid, normal)
    to_plane = s[:, None] * normal
    plane_dist = np.abs(s)
    better = planar & (plane_dist < dist[rows])
    target = rows[better]
    vec[target] = to_plane[better]
    dist[target] = plane_dist[better]
    return vec, dist
