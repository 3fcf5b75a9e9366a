"""Build the synthetic two-epoch point-cloud surveys (a masonry arch bridge and a seawall).

    .venv/bin/python sample_surveys/make_pointcloud_samples.py                 # both sites, into sample_surveys/
    .venv/bin/python sample_surveys/make_pointcloud_samples.py --site bridge --points 5000000 --out benchmarks/out/pc5m

Why synthetic: structural change detection must be tested against changes whose size, place and
volume are KNOWN.  Each site is built from simple parametric surfaces in a local frame
(u along the structure, v across it, z up, metres), sampled like a drone laser survey (area
proportional density, sparser under arches and on pier backs, shadow holes, 1-2 cm noise, a few
outliers classified as noise), moved to real British National Grid coordinates and written as
LAZ (LAS 1.4, point format 7, intensity, classification, RGB, CRS as a WKT VLR) with laspy.

Epoch 2 carries planted changes (documented in ``ground_truth.json`` and the site README) and a
small rigid misregistration that registration on the stable areas must remove.  Beside the
clouds: ``zones.gpkg`` (structural elements, ``name`` field; ``zmin``/``zmax`` limit an element
in height where elements are stacked, e.g. a pier under the deck), ``stable_areas.gpkg``,
``sections.gpkg`` (example section lines) and ``m3c2_params.txt`` (CloudCompare M3C2 INI,
diameters) with the parameters the site was designed for.

Everything is deterministic: fixed seeds, pinned GeoPackage timestamps, pinned LAS dates.
``--points`` scales the number of points per epoch (planted changes stay the same); write large
versions outside the repository (``--out``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
os.environ.setdefault("OGR_CURRENT_DATE", "2024-01-01T00:00:00.000Z")  # byte-stable GeoPackages

BNG = "EPSG:27700"
GENERATOR = "GIS Desk make_pointcloud_samples"

# ASPRS classes used
GROUND, LOW_VEG, MED_VEG, HIGH_VEG, BUILDING, NOISE, BRIDGE_DECK, UNCLASSIFIED = 2, 3, 4, 5, 6, 7, 17, 1

# material: (R, G, B 0-255, intensity mean, masonry pattern?)
MATERIALS: dict[str, tuple[int, int, int, int, bool]] = {
    "sandstone": (178, 112, 86, 1800, True),
    "coping": (150, 138, 128, 1500, False),
    "asphalt": (68, 68, 72, 600, False),
    "grass": (98, 130, 66, 1100, False),
    "soil": (122, 98, 72, 900, False),
    "foliage": (58, 102, 46, 1300, False),
    "bark": (92, 72, 52, 800, False),
    "concrete": (172, 170, 162, 2000, True),
    "sand": (214, 196, 150, 2400, False),
    "paving": (150, 140, 128, 1600, False),
    "roof": (170, 58, 48, 1200, False),
}


# ---------------------------------------------------------------------------------------------
# surfaces


@dataclass
class Surface:
    """One sampled surface: ``sample(n, rng)`` returns (n, 3) local points on it (rejection
    samplers may return fewer), ``area`` m2, ``weight`` relative density (occlusion)."""

    name: str
    sample: Callable[[int, np.random.Generator], np.ndarray]
    area: float
    weight: float
    classification: int
    material: str


def quad(name, origin, e1, e2, weight, cls, material, keep=None) -> Surface:
    """Parallelogram origin + a e1 + b e2 (a, b in [0, 1]); ``keep(points)`` rejects points."""
    o, a, b = (np.asarray(x, float) for x in (origin, e1, e2))
    area = float(np.linalg.norm(np.cross(a, b)))
    frac = 1.0
    if keep is not None:  # the kept share of the parallelogram, estimated once (fixed seed)
        st = np.random.default_rng(0).random((20000, 2))
        frac = max(float(np.mean(keep(o + st[:, :1] * a + st[:, 1:] * b))), 1e-3)

    def sample(n, rng):
        st = rng.random((int(n / frac) + 1, 2))
        pts = o + st[:, :1] * a + st[:, 1:] * b
        return pts if keep is None else pts[keep(pts)][:n]

    return Surface(name, sample, area * frac, weight, cls, material)


def box_faces(prefix, lo, hi, weight, cls, material, top=True, bottom=False) -> list[Surface]:
    """The four walls (and roof) of an axis-aligned box in local coordinates."""
    (u0, v0, z0), (u1, v1, z1) = lo, hi
    du, dv, dz = u1 - u0, v1 - v0, z1 - z0
    faces = [
        quad(f"{prefix} u-", (u0, v0, z0), (0, dv, 0), (0, 0, dz), weight, cls, material),
        quad(f"{prefix} u+", (u1, v0, z0), (0, dv, 0), (0, 0, dz), weight, cls, material),
        quad(f"{prefix} v-", (u0, v0, z0), (du, 0, 0), (0, 0, dz), weight, cls, material),
        quad(f"{prefix} v+", (u0, v1, z0), (du, 0, 0), (0, 0, dz), weight, cls, material),
    ]
    if top:
        faces.append(quad(f"{prefix} top", (u0, v0, z1), (du, 0, 0), (0, dv, 0), weight, cls, material))
    return faces


def ellipsoid(name, centre, radii, weight, cls, material) -> Surface:
    """Points on an ellipsoid surface, jittered inwards (a shrub or tree crown)."""
    c, r = np.asarray(centre, float), np.asarray(radii, float)
    p = 1.6075
    area = 4 * math.pi * (((r[0] * r[1]) ** p + (r[0] * r[2]) ** p + (r[1] * r[2]) ** p) / 3) ** (1 / p)

    def sample(n, rng):
        d = rng.normal(size=(n, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        depth = 1.0 - 0.25 * rng.random((n, 1)) ** 2  # foliage: returns from inside the crown too
        return c + d * r * depth

    return Surface(name, sample, area, weight, cls, material)


def graph_surface(name, u_range, v_range, zfun, weight, cls, material, keep=None) -> Surface:
    """z = zfun(u, v) over a rectangle (terrain); the area counts the slope."""
    (u0, u1), (v0, v1) = u_range, v_range
    gu, gv = np.meshgrid(np.linspace(u0, u1, 200), np.linspace(v0, v1, 200))
    pts = np.column_stack([gu.ravel(), gv.ravel(), zfun(gu, gv).ravel()])
    ok = np.ones(len(pts), bool) if keep is None else keep(pts)
    h = 1e-3
    zu = (zfun(gu + h, gv) - zfun(gu - h, gv)) / (2 * h)
    zv = (zfun(gu, gv + h) - zfun(gu, gv - h)) / (2 * h)
    slope = np.sqrt(1 + zu ** 2 + zv ** 2).ravel()
    area = float((u1 - u0) * (v1 - v0) * np.mean(slope * ok))
    # sampling proportionally to the true area: accept with probability slope / max slope
    smax = float(slope.max())

    kept = max(float(np.mean(ok)), 1e-3)

    def sample(n, rng):
        m = int(n * smax / max(np.mean(slope), 1e-9) / kept * 1.05) + 1
        uv = rng.random((m, 2)) * [u1 - u0, v1 - v0] + [u0, v0]
        z = zfun(uv[:, 0], uv[:, 1])
        zu_ = (zfun(uv[:, 0] + h, uv[:, 1]) - zfun(uv[:, 0] - h, uv[:, 1])) / (2 * h)
        zv_ = (zfun(uv[:, 0], uv[:, 1] + h) - zfun(uv[:, 0], uv[:, 1] - h)) / (2 * h)
        s = np.sqrt(1 + zu_ ** 2 + zv_ ** 2)
        take = rng.random(m) < s / smax
        pts = np.column_stack([uv, z])[take]
        if keep is not None:
            pts = pts[keep(pts)]
        # the expected count after acceptance is n * mean(s)/mean(slope) ~ n; trim to n
        return pts[:n]

    return Surface(name, sample, area, weight, cls, material)


# ---------------------------------------------------------------------------------------------
# sites


@dataclass
class Change:
    """A planted change of epoch 2: ``apply(points, surface_names) -> points`` (local frame)."""

    id: str
    kind: str
    zone: str
    apply: Callable[[np.ndarray, np.ndarray], np.ndarray]
    truth: dict


@dataclass
class Site:
    key: str
    title: str
    place: str
    origin: tuple[float, float]      # BNG easting, northing of local (u, v) = (0, 0)
    bearing_deg: float               # grid bearing of the local u axis
    surfaces: list[Surface]
    changes: list[Change]
    zones: list[dict]                # name, polygon (local u, v ring), zmin, zmax, expect
    stable: list[dict]               # name, polygon
    sections: list[dict]             # name, line (local)
    noise: float                     # metres, standard deviation per coordinate
    default_points: int
    epochs: tuple[str, str]          # survey dates
    misregistration: dict            # rotation_mrad (x, y, z), translation_m (dE, dN, dz)
    shadows: list[tuple]             # (u0, v0, z0, u1, v1, z1) local boxes with few returns
    m3c2: dict                       # designed parameters (radii, metres)
    seeds: tuple[int, int]
    notes: list[str] = field(default_factory=list)

    # local <-> BNG ----------------------------------------------------------------------------
    @property
    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        b = math.radians(self.bearing_deg)
        u = np.array([math.sin(b), math.cos(b)])
        v = np.array([-math.cos(b), math.sin(b)])  # to the left of u: (u, v, z) is right-handed
        return u, v

    def to_bng(self, local: np.ndarray) -> np.ndarray:
        u, v = self.axes
        out = np.empty_like(local, dtype=np.float64)
        out[:, :2] = np.asarray(self.origin) + local[:, :1] * u + local[:, 1:2] * v
        out[:, 2] = local[:, 2]
        return out

    def ring_bng(self, ring) -> list[tuple[float, float]]:
        pts = np.column_stack([np.asarray(ring, float), np.zeros(len(ring))])
        return [tuple(p) for p in self.to_bng(pts)[:, :2].round(3)]


def rect(u0, u1, v0, v1) -> list[tuple[float, float]]:
    return [(u0, v0), (u1, v0), (u1, v1), (u0, v1), (u0, v0)]


def bowl_depth(u, v, u0, u1, v0, v1, depth) -> np.ndarray:
    """depth * sin(pi a) sin(pi b) inside the rectangle (a, b its normalised coordinates)."""
    a, b = (u - u0) / (u1 - u0), (v - v0) / (v1 - v0)
    inside = (a > 0) & (a < 1) & (b > 0) & (b < 1)
    return np.where(inside, depth * np.sin(np.pi * np.clip(a, 0, 1)) * np.sin(np.pi * np.clip(b, 0, 1)), 0.0)


def bowl_volume(u0, u1, v0, v1, depth) -> float:
    return depth * (u1 - u0) * (v1 - v0) * (2 / np.pi) ** 2


# -- the bridge -------------------------------------------------------------------------------

DECK_Z, PARAPET_Z, SPRING_Z, WATER_Z, BED_Z, BANK_Z = 30.0, 31.1, 24.0, 21.0, 20.5, 29.0
SPAN, PIER_W, ABUT_W, WIDTH, PARAPET_T, RISE = 12.0, 2.0, 4.0, 8.0, 0.4, 4.0
PIERS = [(16.0, 18.0), (30.0, 32.0)]
SPANS = [(4.0, 16.0), (18.0, 30.0), (32.0, 44.0)]
BRIDGE_LEN = 48.0
ARCH_R = (SPAN ** 2 / 4 + RISE ** 2) / (2 * RISE)      # 6.5 m (segmental arch)
ARCH_ZC = SPRING_Z + RISE - ARCH_R                      # centre height 21.5 m


def bank_z(u, v=None) -> np.ndarray:
    """Ground: 29 m on both banks, down 8.5 m over 5 m to the river (water at 21 m)."""
    u = np.asarray(u, float)
    south = BANK_Z - 8.5 * np.clip(u, 0, 5) / 5
    north = BANK_Z - 8.5 * np.clip(BRIDGE_LEN - u, 0, 5) / 5
    return np.maximum(south, north)


def intrados_z(u) -> np.ndarray:
    """Underside of the arches (springing height at piers/abutments)."""
    u = np.asarray(u, float)
    z = np.full(u.shape, np.inf)
    for s0, s1 in SPANS:
        c = (s0 + s1) / 2
        inside = (u >= s0) & (u <= s1)
        z = np.where(inside, ARCH_ZC + np.sqrt(np.clip(ARCH_R ** 2 - (u - c) ** 2, 0, None)), z)
    return z


def bridge_site() -> Site:
    s: list[Surface] = []
    L = BRIDGE_LEN

    def elevation_keep(pts):  # the spandrel/abutment face: above the arches, ground and piers
        u, z = pts[:, 0], pts[:, 2]
        low = np.where(np.isfinite(intrados_z(u)), intrados_z(u), np.maximum(bank_z(u), SPRING_Z))
        low = np.where((u < SPANS[0][0]) | (u > SPANS[-1][1]), bank_z(u), low)
        return z >= low

    for v, tag in ((0.0, "upstream"), (WIDTH, "downstream")):
        s.append(quad(f"elevation {tag}", (0, v, 20.5), (L, 0, 0), (0, 0, PARAPET_Z - 20.5), 1.0,
                      BRIDGE_DECK, "sandstone", elevation_keep))
        vin = PARAPET_T if v == 0 else WIDTH - PARAPET_T
        s.append(quad(f"parapet inner {tag}", (0, vin, DECK_Z), (L, 0, 0), (0, 0, PARAPET_Z - DECK_Z), 0.9,
                      BRIDGE_DECK, "sandstone"))
        s.append(quad(f"parapet top {tag}", (0, min(v, vin), PARAPET_Z), (L, 0, 0), (0, PARAPET_T, 0), 1.0,
                      BRIDGE_DECK, "coping"))
    s.append(quad("deck", (-12, PARAPET_T, DECK_Z), (L + 24, 0, 0), (0, WIDTH - 2 * PARAPET_T, 0), 1.0,
                  BRIDGE_DECK, "asphalt"))
    # approach embankment sides (road 1 m above the surrounding ground)
    for u0 in (-12.0, L):
        s.append(quad("embankment upstream", (u0, -1.0, BANK_Z), (12, 0, 0), (0, 1.4, 1.0), 0.9, GROUND, "grass"))
        s.append(quad("embankment downstream", (u0, WIDTH + 1.0, BANK_Z), (12, 0, 0), (0, -1.4, 1.0), 0.9,
                      GROUND, "grass"))
    # arches: intrados, seen from below the bridge (sparse)
    for i, (s0, s1) in enumerate(SPANS, 1):
        c = (s0 + s1) / 2
        phi0 = math.asin((SPRING_Z - ARCH_ZC) / ARCH_R)

        def arch_sample(n, rng, c=c, phi0=phi0):
            phi = phi0 + rng.random(n) * (math.pi - 2 * phi0)
            return np.column_stack([c + ARCH_R * np.cos(phi), rng.random(n) * WIDTH, ARCH_ZC + ARCH_R * np.sin(phi)])

        s.append(Surface(f"arch {i} intrados", arch_sample, ARCH_R * (math.pi - 2 * phi0) * WIDTH, 0.3,
                         BRIDGE_DECK, "sandstone"))
    # piers: ends (cutwater faces) seen well, sides under the arches sparse
    for i, (p0, p1) in enumerate(PIERS, 1):
        h = SPRING_Z - WATER_Z
        s.append(quad(f"pier {i} upstream", (p0, -0.5, WATER_Z), (p1 - p0, 0, 0), (0, 0, h), 1.0, BRIDGE_DECK, "sandstone"))
        s.append(quad(f"pier {i} downstream", (p0, WIDTH + 0.5, WATER_Z), (p1 - p0, 0, 0), (0, 0, h), 1.0,
                      BRIDGE_DECK, "sandstone"))
        for u in (p0, p1):
            s.append(quad(f"pier {i} side", (u, -0.5, WATER_Z), (0, WIDTH + 1.0, 0), (0, 0, h), 0.3, BRIDGE_DECK,
                          "sandstone"))
        for v0 in (-0.5, WIDTH):
            s.append(quad(f"pier {i} ledge", (p0, v0, SPRING_Z), (p1 - p0, 0, 0), (0, 0.5, 0), 1.0, BRIDGE_DECK, "coping"))
    # abutment fronts under the end arches
    for u, tag in ((SPANS[0][0], "south"), (SPANS[-1][1], "north")):
        z0 = float(bank_z(np.array([u]))[0])
        s.append(quad(f"abutment {tag} front", (u, 0, z0), (0, WIDTH, 0), (0, 0, SPRING_Z - z0), 0.35, BRIDGE_DECK,
                      "sandstone"))

    def ground_keep(pts):
        u, v, z = pts[:, 0], pts[:, 1], pts[:, 2]
        under = (v > -1.0) & (v < WIDTH + 1.0)
        return (z > WATER_Z + 0.05) & ~under

    s.append(graph_surface("banks", (-12, L + 12), (-14, WIDTH + 14), lambda u, v: bank_z(u), 0.6, GROUND, "grass",
                           keep=ground_keep))
    # vegetation on the banks, away from the abutments' stable areas
    for j, (u, v, r, hgt) in enumerate([(-8, -9, 1.4, 1.6), (-3, -12, 1.8, 2.0), (53, 18, 1.5, 1.4),
                                        (57, -10, 1.2, 1.5), (-9, 17, 1.6, 1.8)]):
        s.append(ellipsoid(f"shrub {j + 1}", (u, v, BANK_Z + hgt / 2), (r, r * 0.8, hgt / 2), 0.8, MED_VEG, "foliage"))
    s.append(quad("tree trunk", (58.6, 13.8, BANK_Z), (0.4, 0, 0), (0, 0, 3.0), 0.8, HIGH_VEG, "bark"))
    s.append(ellipsoid("tree crown", (58.8, 14.0, BANK_Z + 5.0), (3.0, 3.0, 2.5), 0.8, HIGH_VEG, "foliage"))

    # -- planted changes (local frame) ---------------------------------------------------------
    spall = dict(u0=16.2, u1=17.8, z0=21.4, z1=22.9, depth=0.030)

    def apply_spall(pts, names):
        m = (names == "pier 1 upstream") & (pts[:, 0] > spall["u0"]) & (pts[:, 0] < spall["u1"]) \
            & (pts[:, 2] > spall["z0"]) & (pts[:, 2] < spall["z1"])
        pts = pts.copy()
        pts[m, 1] += spall["depth"]  # into the pier (its outward normal is -v)
        return pts

    sag_span, sag = SPANS[1], 0.020

    def apply_sag(pts, names):
        deckish = np.isin(names, ["deck", "parapet top upstream", "parapet top downstream",
                                  "parapet inner upstream", "parapet inner downstream"]) \
            | ((pts[:, 2] > DECK_Z - 1.5) & np.char.startswith(names.astype(str), "elevation"))
        a = (pts[:, 0] - sag_span[0]) / (sag_span[1] - sag_span[0])
        m = deckish & (a > 0) & (a < 1)
        pts = pts.copy()
        pts[m, 2] -= sag * np.sin(np.pi * a[m])
        return pts

    changes = [
        Change("pier1_spalling", "spalling", "pier 1", apply_spall, {
            "description": "30 mm loss of masonry over a 1.6 x 1.5 m patch of the upstream face of pier 1",
            "magnitude_m": -spall["depth"], "direction": "into the pier (against the face's outward normal)",
            "region_local": rect(spall["u0"], spall["u1"], -0.6, -0.4), "z_range": [spall["z0"], spall["z1"]],
            "face_area_m2": (spall["u1"] - spall["u0"]) * (spall["z1"] - spall["z0"]),
            "expected_volume_m3": -(spall["u1"] - spall["u0"]) * (spall["z1"] - spall["z0"]) * spall["depth"],
            "volume_note": "a loss on a vertical face: M3C2 measures it; a plan DoD does not"}),
        Change("deck_sag_span2", "deflection", "deck span 2", apply_sag, {
            "description": "smooth sag of the deck over span 2: 20 mm at mid-span, "
                           "dz = -0.020 sin(pi (u - 18) / 12), parapets and the top 1.5 m of the spandrels too",
            "magnitude_m": -sag, "direction": "down",
            "region_local": rect(sag_span[0], sag_span[1], 0.0, WIDTH), "z_range": [DECK_Z - 1.5, PARAPET_Z + 0.1],
            "expected_volume_m3": -sag * (2 / np.pi) * (sag_span[1] - sag_span[0]) * (WIDTH - 2 * PARAPET_T),
            "volume_note": "volume under the deck surface (class 17, not ground): M3C2 measures it"}),
    ]
    pier_zone = lambda p0, p1: rect(p0, p1, -1.0, WIDTH + 1.0)
    zones = [
        {"name": "abutment south", "ring": rect(-1.0, 4.0, -1.0, WIDTH + 1.0), "zmin": None, "zmax": None},
        {"name": "pier 1", "ring": pier_zone(*PIERS[0]), "zmin": None, "zmax": SPRING_Z},
        {"name": "pier 2", "ring": pier_zone(*PIERS[1]), "zmin": None, "zmax": SPRING_Z},
        {"name": "deck span 1", "ring": rect(4.0, 17.0, -1.0, WIDTH + 1.0), "zmin": SPRING_Z, "zmax": None},
        {"name": "deck span 2", "ring": rect(17.0, 31.0, -1.0, WIDTH + 1.0), "zmin": SPRING_Z, "zmax": None},
        {"name": "deck span 3", "ring": rect(31.0, 44.0, -1.0, WIDTH + 1.0), "zmin": SPRING_Z, "zmax": None},
        {"name": "abutment north", "ring": rect(44.0, 49.0, -1.0, WIDTH + 1.0), "zmin": None, "zmax": None},
    ]
    stable = [{"name": "south abutment and bank", "ring": rect(-8.0, 4.5, -4.0, WIDTH + 4.0)},
              {"name": "north abutment and bank", "ring": rect(43.5, 56.0, -4.0, WIDTH + 4.0)}]
    sections = [{"name": "across deck span 2 (mid-span)", "line": [(24.0, -3.0), (24.0, WIDTH + 3.0)]},
                {"name": "along the deck centreline", "line": [(-5.0, WIDTH / 2), (L + 5.0, WIDTH / 2)]},
                {"name": "across pier 1", "line": [(17.05, -3.0), (17.05, WIDTH + 3.0)]}]
    shadows = [(-12, 0.4, 29.5, -9, 7.6, 30.5),          # a parked van's shadow on the south approach
               (36.0, 8.5, 20.0, 44.0, 9.5, 31.5),       # a tree's shadow on the downstream elevation
               (5.0, -14, 20.0, 9.0, -10, 30.0),         # long grass, no ground returns
               (45.0, -6.0, 20.0, 46.5, -3.0, 30.0)]
    return Site(
        key="bridge", title="Masonry arch bridge over the River Mersey (synthetic)",
        place="River Mersey between Sale and Stretford, Trafford, Greater Manchester; the bridge's south "
              "abutment near E 378800, N 392600 (British National Grid). The structure and terrain are "
              "invented: there is no such bridge at this point.",
        origin=(378800.0, 392600.0), bearing_deg=10.0, surfaces=s, changes=changes, zones=zones,
        stable=stable, sections=sections, noise=0.015, default_points=260_000,
        epochs=("2024-03-12", "2025-03-18"),
        misregistration={"rotation_mrad": (0.3, 0.0, 1.0), "translation_m": (0.025, -0.020, 0.015)},
        shadows=shadows,
        m3c2={"normal_radius": 0.5, "cylinder_radius": 0.25, "max_depth": 0.3,
              "normal_orientation": "towards a point 100 m upstream and 100 m above mid-span"},
        seeds=(4101, 4102),
        notes=["Normals: faces looking upstream and the deck read a loss as negative when normals are "
               "oriented towards the upstream viewpoint (see m3c2_params.txt)."])


# -- the seawall -------------------------------------------------------------------------------

WALL_LEN, BAY, TOE_Z, CREST_Z, PROM_Z, PARAPET_TOP, BATTER = 60.0, 10.0, 3.0, 8.5, 8.5, 9.3, 0.1
APRON_V, BEACH_Z0 = 2.55, 2.6


def wall_v(z) -> np.ndarray:
    """Seaward face of the wall: a 1:10 batter below the promenade level, vertical above."""
    return BATTER * np.clip(CREST_Z - np.asarray(z, float), 0, None)


def beach_z(u, v) -> np.ndarray:
    return BEACH_Z0 - (np.asarray(v, float) - APRON_V) / 30.0


def seawall_site() -> Site:
    s: list[Surface] = []

    def face_sample(n, rng):
        u = rng.random(n) * WALL_LEN
        z = TOE_Z + rng.random(n) * (PARAPET_TOP - TOE_Z)
        v = wall_v(z)
        joint = np.abs(u / BAY - np.round(u / BAY)) * BAY < 0.015  # 30 mm joints, 50 mm deep
        interior = (u > 1) & (u < WALL_LEN - 1)
        v = np.where(joint & interior, v - 0.05, v)
        return np.column_stack([u, v, z])

    face_len = (CREST_Z - TOE_Z) * math.hypot(1, BATTER) + (PARAPET_TOP - CREST_Z)
    s.append(Surface("wall face", face_sample, WALL_LEN * face_len, 1.0, BUILDING, "concrete"))
    s.append(quad("wall top", (0, -0.6, PARAPET_TOP), (WALL_LEN, 0, 0), (0, 0.6, 0), 1.0, BUILDING, "concrete"))
    s.append(quad("parapet back", (0, -0.6, PROM_Z), (WALL_LEN, 0, 0), (0, 0, PARAPET_TOP - PROM_Z), 0.9, BUILDING,
                  "concrete"))
    s.append(quad("promenade", (0, -14.0, PROM_Z), (WALL_LEN, 0, 0), (0, 13.4, 0), 0.8, GROUND, "paving"))
    s.append(quad("back wall face", (0, -14.0, PROM_Z), (WALL_LEN, 0, 0), (0, 0, 1.0), 0.9, BUILDING, "concrete"))
    s.append(quad("back wall top", (0, -14.3, PROM_Z + 1.0), (WALL_LEN, 0, 0), (0, 0.3, 0), 0.9, BUILDING, "concrete"))
    for j, uc in enumerate((12.0, 30.0, 48.0), 1):
        s += box_faces(f"shelter {j}", (uc - 1.5, -10.5, PROM_Z), (uc + 1.5, -7.5, PROM_Z + 2.6), 0.9, BUILDING, "roof")
    s.append(quad("toe apron", (0, wall_v(TOE_Z), TOE_Z), (WALL_LEN, 0, 0), (0, APRON_V - float(wall_v(TOE_Z)), 0),
                  1.0, GROUND, "concrete"))
    s.append(quad("toe front", (0, APRON_V, BEACH_Z0), (WALL_LEN, 0, 0), (0, 0, TOE_Z - BEACH_Z0), 1.0, GROUND,
                  "concrete"))
    s.append(graph_surface("beach", (0, WALL_LEN), (APRON_V, 30.0), beach_z, 0.7, GROUND, "sand"))

    # -- planted changes ------------------------------------------------------------------------
    scour = dict(u0=21.5, u1=24.5, v0=APRON_V + 0.05, v1=APRON_V + 1.05)
    scour["depth"] = 0.3 / bowl_volume(scour["u0"], scour["u1"], scour["v0"], scour["v1"], 1.0)

    def apply_scour(pts, names):
        m = names == "beach"
        pts = pts.copy()
        pts[m, 2] -= bowl_depth(pts[m, 0], pts[m, 1], scour["u0"], scour["u1"], scour["v0"], scour["v1"],
                                scour["depth"])
        return pts

    bay5, theta = (40.0, 50.0), 0.002
    pivot_v = float(wall_v(TOE_Z))

    def apply_tilt(pts, names):
        m = np.isin(names, ["wall face", "wall top", "parapet back"]) & (pts[:, 0] > bay5[0]) & (pts[:, 0] < bay5[1])
        pts = pts.copy()
        dv, dz = pts[m, 1] - pivot_v, pts[m, 2] - TOE_Z
        c, s_ = math.cos(theta), math.sin(theta)
        pts[m, 1] = pivot_v + c * dv + s_ * dz   # the top moves seaward (+v)
        pts[m, 2] = TOE_Z - s_ * dv + c * dz
        return pts

    changes = [
        Change("bay3_toe_scour", "scour", "seawall bay 3", apply_scour, {
            "description": "0.3 m3 of beach lost at the toe of bay 3: a smooth hollow 3.0 x 1.0 m, "
                           f"{scour['depth'] * 1000:.0f} mm deep at its centre, just seaward of the toe apron",
            "magnitude_m": -round(scour["depth"], 4), "direction": "down",
            "region_local": rect(scour["u0"], scour["u1"], scour["v0"], scour["v1"]),
            "expected_volume_m3": -0.3, "volume_note": "ground (class 2): the DoD measures it"}),
        Change("bay5_rotation", "rotation", "seawall bay 5", apply_tilt, {
            "description": "bay 5 rotated 2 mrad seaward about the foot of its face (axis along the wall at "
                           "z = 3.0 m): 12.6 mm seaward at the parapet top, 0 at the toe",
            "magnitude_m": round(theta * (PARAPET_TOP - TOE_Z), 4), "direction": "seaward (out of the face)",
            "rotation_mrad": theta * 1000,
            "region_local": rect(bay5[0], bay5[1], -0.6, 0.6), "z_range": [TOE_Z, PARAPET_TOP],
            "expected_volume_m3": None, "volume_note": "a movement of a vertical face: M3C2 measures it"}),
    ]
    zones = [{"name": f"seawall bay {i + 1}", "ring": rect(i * BAY, (i + 1) * BAY, -0.7, APRON_V + 1.5),
              "zmin": None, "zmax": None} for i in range(6)]
    zones.append({"name": "promenade", "ring": rect(0.0, WALL_LEN, -14.5, -0.8), "zmin": None, "zmax": None})
    stable = [{"name": "promenade, shelters and back wall", "ring": rect(0.0, WALL_LEN, -14.5, -0.8)}]
    sections = [{"name": "across bay 3 (toe scour)", "line": [(23.0, -6.0), (23.0, 6.0)]},
                {"name": "across bay 5 (rotated)", "line": [(45.0, -6.0), (45.0, 6.0)]}]
    shadows = [(5.0, 10.0, 0.0, 9.0, 14.0, 5.0),         # a groyne's shadow on the beach
               (52.0, 4.0, 0.0, 56.0, 9.0, 5.0),         # wet sand: few returns
               (26.0, -13.0, 8.0, 29.0, -11.5, 9.0)]     # a parked cart on the promenade
    return Site(
        key="seawall", title="Seawall and promenade at Blackpool North Shore (synthetic)",
        place="Blackpool North Shore, Lancashire, on the Irish Sea coast: the wall's south end near "
              "E 330900, N 436000 (British National Grid), running about north (bearing 5 degrees) with the "
              "sea to the west. The structure is invented, not a survey of the real defences.",
        origin=(330900.0, 436000.0), bearing_deg=5.0, surfaces=s, changes=changes, zones=zones,
        stable=stable, sections=sections, noise=0.010, default_points=200_000,
        epochs=("2024-04-09", "2025-04-15"),
        misregistration={"rotation_mrad": (0.0, 0.4, -0.8), "translation_m": (-0.020, 0.030, 0.010)},
        shadows=shadows,
        m3c2={"normal_radius": 0.5, "cylinder_radius": 0.25, "max_depth": 0.5,
              "normal_orientation": "towards a point 100 m out to sea and 100 m above the wall's middle"},
        seeds=(5101, 5102),
        notes=["Local v points out to sea; the face's outward normal points seaward and up."])


SITES: dict[str, Callable[[], Site]] = {"bridge": bridge_site, "seawall": seawall_site}


# ---------------------------------------------------------------------------------------------
# sampling an epoch


def _rotation(rx, ry, rz) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry), math.cos(rz), math.sin(rz)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def site_centre(site: Site) -> np.ndarray:
    """BNG point the misregistration rotates about (middle of the structure, at deck/crest level)."""
    if site.key == "bridge":
        return site.to_bng(np.array([[BRIDGE_LEN / 2, WIDTH / 2, DECK_Z]]))[0]
    return site.to_bng(np.array([[WALL_LEN / 2, 0.0, PROM_Z]]))[0]


def misregistration_matrix(site: Site) -> np.ndarray:
    """4x4 rigid transform applied to epoch 2: rotate about ``site_centre`` then translate."""
    rot = _rotation(*(np.asarray(site.misregistration["rotation_mrad"]) / 1000.0))
    c = site_centre(site)
    m = np.eye(4)
    m[:3, :3] = rot
    m[:3, 3] = c - rot @ c + np.asarray(site.misregistration["translation_m"])
    return m


def viewpoint(site: Site) -> tuple[float, float, float]:
    """The 'towards' point normals are oriented to (upstream/seaward, high above the middle)."""
    if site.key == "bridge":
        p = site.to_bng(np.array([[BRIDGE_LEN / 2, -100.0, DECK_Z + 100.0]]))[0]
    else:
        p = site.to_bng(np.array([[WALL_LEN / 2, 100.0, PROM_Z + 100.0]]))[0]
    return tuple(float(x) for x in p.round(3))


def sample_epoch(site: Site, epoch: int, n_points: int | None = None) -> dict[str, np.ndarray]:
    """Points and attributes of one epoch (epoch 2 with changes and misregistration), in BNG."""
    rng = np.random.default_rng(site.seeds[epoch - 1])
    n_points = n_points or site.default_points
    density = n_points / sum(srf.area * srf.weight for srf in site.surfaces)
    parts, names, classes, materials = [], [], [], []
    for srf in site.surfaces:
        n = int(round(srf.area * srf.weight * density))
        if n == 0:
            continue
        pts = srf.sample(n, rng)
        parts.append(pts)
        names.append(np.full(len(pts), srf.name, dtype=object))
        classes.append(np.full(len(pts), srf.classification, np.uint8))
        materials.append(np.full(len(pts), srf.material, dtype=object))
    local = np.concatenate(parts)
    name = np.concatenate(names).astype(str)
    cls = np.concatenate(classes)
    material = np.concatenate(materials)
    # shadows: a scanner or camera sees little there (1 return in 8 survives)
    dark = np.zeros(len(local), bool)
    for u0, v0, z0, u1, v1, z1 in site.shadows:
        dark |= ((local[:, 0] >= u0) & (local[:, 0] <= u1) & (local[:, 1] >= v0) & (local[:, 1] <= v1)
                 & (local[:, 2] >= z0) & (local[:, 2] <= z1))
    keep = ~dark | (rng.random(len(local)) < 0.125)
    local, name, cls, material = local[keep], name[keep], cls[keep], material[keep]
    truth_local = local
    if epoch == 2:
        for change in site.changes:
            local = change.apply(local, name)
    noisy = local + rng.normal(scale=site.noise, size=local.shape)
    # a few outliers (birds, multipath), classified as noise
    n_out = max(1, len(noisy) // 2000)
    idx = rng.choice(len(noisy), n_out, replace=False)
    noisy[idx] += rng.normal(scale=0.4, size=(n_out, 3))
    cls = cls.copy()
    cls[idx] = NOISE
    xyz = site.to_bng(noisy)
    if epoch == 2:
        m = misregistration_matrix(site)
        xyz = xyz @ m[:3, :3].T + m[:3, 3]
    # colour and intensity by material, with a block-and-mortar pattern on masonry and concrete
    rgb = np.zeros((len(xyz), 3))
    inten = np.zeros(len(xyz))
    for mat, (r, g, b, i0, pattern) in MATERIALS.items():
        m = material == mat
        if not m.any():
            continue
        shade = 1.0 + 0.06 * rng.standard_normal(m.sum())
        if pattern:
            t, z = truth_local[m, 0] + truth_local[m, 1], truth_local[m, 2]
            course = np.floor(z / 0.3)
            block = np.floor(t / 0.45 + 0.5 * course)
            shade *= 1.0 + 0.08 * np.sin(block * 12.9898 + course * 78.233)
            mortar = ((z / 0.3) % 1.0 < 0.07) | (((t / 0.45 + 0.5 * course) % 1.0) < 0.05)
            shade = np.where(mortar, shade * 0.72, shade)
        rgb[m] = np.clip(np.outer(shade, [r, g, b]), 0, 255)
        inten[m] = i0 * shade
    return {
        "xyz": xyz,
        "intensity": np.clip(inten + rng.normal(scale=40, size=len(inten)), 0, 65535).astype(np.uint16),
        "classification": cls,
        "red": (rgb[:, 0] * 257).astype(np.uint16),
        "green": (rgb[:, 1] * 257).astype(np.uint16),
        "blue": (rgb[:, 2] * 257).astype(np.uint16),
        "surface": name,
    }


# ---------------------------------------------------------------------------------------------
# writing


def write_laz(path: Path, data: dict[str, np.ndarray], date: str) -> Path:
    """LAS 1.4 point format 7 (LAZ when the suffix says so), 1 mm scale, CRS as a WKT VLR."""
    import laspy
    import pyproj

    header = laspy.LasHeader(point_format=7, version="1.4")
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.floor(data["xyz"].min(axis=0) / 100.0) * 100.0
    header.add_crs(pyproj.CRS.from_epsg(27700))
    header.creation_date = dt.date.fromisoformat(date)
    header.generating_software = GENERATOR[:32]
    header.system_identifier = "synthetic survey"
    las = laspy.LasData(header)
    las.x, las.y, las.z = data["xyz"][:, 0], data["xyz"][:, 1], data["xyz"][:, 2]
    las.intensity = data["intensity"]
    las.classification = data["classification"]
    las.return_number = np.ones(len(data["xyz"]), np.uint8)
    las.number_of_returns = np.ones(len(data["xyz"]), np.uint8)
    las.red, las.green, las.blue = data["red"], data["green"], data["blue"]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part" + path.suffix)
    las.write(str(tmp))
    os.replace(tmp, path)
    return path


def _write_gpkg(path: Path, records: list[dict], layer: str) -> Path:
    import geopandas as gpd

    path.unlink(missing_ok=True)
    gpd.GeoDataFrame(records, geometry="geometry", crs=BNG).to_file(path, layer=layer, driver="GPKG")
    return path


def write_vectors(site: Site, folder: Path) -> dict[str, Path]:
    from shapely.geometry import LineString, Polygon

    zones = [{"name": z["name"], "zmin": z["zmin"], "zmax": z["zmax"],
              "geometry": Polygon(site.ring_bng(z["ring"]))} for z in site.zones]
    stable = [{"name": s["name"], "geometry": Polygon(site.ring_bng(s["ring"]))} for s in site.stable]
    lines = [{"name": s["name"], "geometry": LineString(site.ring_bng(s["line"]))} for s in site.sections]
    return {"zones": _write_gpkg(folder / "zones.gpkg", zones, "zones"),
            "stable_areas": _write_gpkg(folder / "stable_areas.gpkg", stable, "stable_areas"),
            "sections": _write_gpkg(folder / "sections.gpkg", lines, "sections")}


def cloudcompare_params_text(site: Site) -> str:
    """A CloudCompare M3C2 parameter file (INI; scales are DIAMETERS, as CloudCompare writes them)."""
    p = site.m3c2
    vx, vy, vz = viewpoint(site)
    lines = ["[General]", "M3C2VER=1",
             f"NormalScale={2 * p['normal_radius']:g}", "NormalMode=0", "NormalUseCorePoints=false",
             "NormalPreferedOri=6",  # 6 = towards a point (custom); the point follows
             "NormalUsePoint=true", f"NormalRefPointX={vx:.3f}", f"NormalRefPointY={vy:.3f}",
             f"NormalRefPointZ={vz:.3f}",
             f"SearchScale={2 * p['cylinder_radius']:g}", f"SearchDepth={p['max_depth']:g}",
             "SubsampleEnabled=true", "SubsampleRadius=0.1",
             "RegistrationErrorEnabled=false", "RegistrationError=0",
             "UseMedian=false", "UseMinPoints4Stat=false", "MinPoints4Stat=5",
             "ExportStdDevInfo=true", "ExportDensityAtProjScale=false", "UseOriginalCloud=false",
             "UsePrecisionMaps=false", "MaxThreadCount=0", ""]
    return "\n".join(lines)


def ground_truth(site: Site, files: dict[str, str], counts: list[int]) -> dict:
    from shapely.geometry import Polygon

    m = misregistration_matrix(site)
    changes = []
    for ch in site.changes:
        t = dict(ch.truth)
        ring = t.pop("region_local")
        t["region_wkt"] = Polygon(site.ring_bng(ring)).wkt
        changes.append({"id": ch.id, "type": ch.kind, "zone": ch.zone, **t})
    changed = {ch.zone for ch in site.changes}
    return {
        "site": site.key, "title": site.title, "place": site.place, "crs": BNG,
        "local_frame": {"origin_bng": list(site.origin), "u_bearing_deg": site.bearing_deg,
                        "note": "u along the structure, v to its left, z = height (m above OD)"},
        "epochs": [{"label": f"Epoch {i + 1} ({d[:7]})", "date": d, "file": files[f"epoch{i + 1}"],
                    "points": counts[i]} for i, d in enumerate(site.epochs)],
        "noise_sigma_m": site.noise,
        "misregistration": {
            "applied_to": "epoch 2", "rotation_mrad_xyz": list(site.misregistration["rotation_mrad"]),
            "translation_m": list(site.misregistration["translation_m"]),
            "rotation_centre_bng": [round(float(x), 3) for x in site_centre(site)],
            "matrix": m.round(12).tolist(),
            "registration_expected": np.linalg.inv(m).round(12).tolist(),
            "note": "epoch 2 file = matrix applied to the true epoch 2; registering epoch 2 onto epoch 1 "
                    "should find registration_expected"},
        "changes": changes,
        "zones_expected_flagged": sorted(changed),
        "zones_expected_unchanged": [z["name"] for z in site.zones if z["name"] not in changed],
        "stable_areas": [s["name"] for s in site.stable],
        "m3c2_designed": {**site.m3c2, "viewpoint_bng": list(viewpoint(site))},
        "files": files,
        "notes": site.notes,
    }


def _volume_text(volume: float | None) -> str:
    return "" if volume is None else f"{volume:+.3f} m3"


def write_readme(site: Site, folder: Path, truth: dict) -> Path:
    mis = truth["misregistration"]
    rows = "\n".join(f"| {c['id']} | {c['type']} | {c['zone']} | {c['magnitude_m'] * 1000:+.1f} mm | "
                     f"{_volume_text(c.get('expected_volume_m3'))} | "
                     f"{c['description']} |" for c in truth["changes"])
    zones = ", ".join(f"*{z['name']}*" + (f" (z <= {z['zmax']:g} m)" if z["zmax"] is not None else "")
                      + (f" (z >= {z['zmin']:g} m)" if z["zmin"] is not None else "") for z in site.zones)
    text = f"""# {site.title}

Synthetic two-epoch survey built by `sample_surveys/make_pointcloud_samples.py` (deterministic:
fixed seeds). Rebuild: `.venv/bin/python sample_surveys/make_pointcloud_samples.py --site {site.key}`.

**Where**: {site.place}

**Local frame**: origin E {site.origin[0]:.0f}, N {site.origin[1]:.0f}; u along the structure at grid
bearing {site.bearing_deg:g} degrees, v to its left, z metres above Ordnance Datum. CRS EPSG:27700
(written as a WKT VLR in the LAZ files).

## Files

| file | what |
| --- | --- |
| `{truth['files']['epoch1']}` | epoch 1, {site.epochs[0]}, {truth['epochs'][0]['points']:,} points |
| `{truth['files']['epoch2']}` | epoch 2, {site.epochs[1]}, {truth['epochs'][1]['points']:,} points, changed and misregistered |
| `zones.gpkg` | structural elements, field `name` (`zmin`/`zmax` bound an element in height): {zones} |
| `stable_areas.gpkg` | areas for registration: {', '.join(s['name'] for s in site.stable)} |
| `sections.gpkg` | example section lines: {', '.join(s['name'] for s in site.sections)} |
| `m3c2_params.txt` | CloudCompare M3C2 parameters (INI, diameters): normal radius {site.m3c2['normal_radius']} m, cylinder radius {site.m3c2['cylinder_radius']} m, depth {site.m3c2['max_depth']} m, normals {site.m3c2['normal_orientation']} |
| `ground_truth.json` | everything below, machine-readable (regions as BNG WKT) |

LAZ content: LAS 1.4, point format 7, 1 mm scale; intensity, RGB, classification (ASPRS: 2 ground,
4/5 vegetation, 6 building, 7 noise outliers, 17 bridge). Sampling like a drone laser survey:
density proportional to area, about a third of it under arches and on pier sides, shadow holes
(a few returns survive), Gaussian noise sigma = {site.noise * 1000:.0f} mm per coordinate, 1 point in 2,000 an
outlier of ~0.4 m classified 7. Vegetation is sampled afresh in each epoch (real apparent change).

## Ground truth (epoch 2 against epoch 1)

| id | type | zone | magnitude | volume | description |
| --- | --- | --- | --- | --- | --- |
{rows}

Every other zone is unchanged: {', '.join(truth['zones_expected_unchanged'])}.

**Misregistration** of epoch 2 (to be removed by registration on the stable areas): rotation
{mis['rotation_mrad_xyz']} mrad about x, y, z (grid axes) through E {mis['rotation_centre_bng'][0]},
N {mis['rotation_centre_bng'][1]}, z {mis['rotation_centre_bng'][2]}, then a translation of
{mis['translation_m']} m (dE, dN, dz). `ground_truth.json` holds the 4x4 matrix and the expected
registration (its inverse).

Large versions for benchmarks (never into the repository):
`make_pointcloud_samples.py --site {site.key} --points 5000000 --out benchmarks/out/pc5m`.
"""
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


def build_site(key: str, out: Path, n_points: int | None = None, readme: bool = True) -> dict:
    """Write one site's files into ``out/<key>/``; returns its ground-truth dict."""
    site = SITES[key]()
    folder = out / key
    folder.mkdir(parents=True, exist_ok=True)
    files, counts = {}, []
    for epoch in (1, 2):
        data = sample_epoch(site, epoch, n_points)
        name = f"{key}_epoch{epoch}_{site.epochs[epoch - 1][:7]}.laz"
        write_laz(folder / name, data, site.epochs[epoch - 1])
        files[f"epoch{epoch}"] = name
        counts.append(len(data["xyz"]))
    for k, p in write_vectors(site, folder).items():
        files[k] = p.name
    (folder / "m3c2_params.txt").write_text(cloudcompare_params_text(site), encoding="utf-8")
    files["m3c2_params"] = "m3c2_params.txt"
    truth = ground_truth(site, files, counts)
    (folder / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    if readme:
        write_readme(site, folder, truth)
    return truth


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", choices=[*SITES, "all"], default="all")
    ap.add_argument("--points", type=int, default=None, help="points per epoch (default: the small sample)")
    ap.add_argument("--out", type=Path, default=HERE, help="folder receiving <site>/ (default: sample_surveys)")
    args = ap.parse_args(argv)
    if args.points is not None and args.out.resolve() == HERE and args.points > 1_000_000:
        sys.exit("make_pointcloud_samples: write large versions outside the repository (--out benchmarks/out/...)")
    for key in (SITES if args.site == "all" else [args.site]):
        truth = build_site(key, args.out, args.points)
        print(f"{key}: {truth['epochs'][0]['points']:,} + {truth['epochs'][1]['points']:,} points -> {args.out / key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
