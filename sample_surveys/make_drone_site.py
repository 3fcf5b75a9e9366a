"""Build the synthetic drone survey site in ``sample_surveys/drone/``, deterministically.

    .venv/bin/python sample_surveys/make_drone_site.py [--out sample_surveys/drone] [--only site clip]

Writes:

``site_ortho.tif``
    RGB orthomosaic, 0.2 m, EPSG:27700, JPEG (YCbCr) tiled GeoTIFF with overviews: a procedurally
    drawn corner of Trafford seen from above (mown park, roads with markings and pavements, semi-
    detached houses with ridged roofs and gardens, trees with shadows, a supermarket with its car
    park and parked cars, and the fenced, bare-earth "application site").
``site_dsm.tif`` / ``site_dtm.tif``
    0.5 m Float32 heights in metres above ODN (DSM: ground + buildings, trees, cars, spoil heaps;
    DTM: bare ground), deflate-compressed.
``site_flight.mp4`` / ``site_flight.SRT``
    A 24 s 640x360 30 fps H.264 clip made by flying a virtual camera over the ortho, and its DJI
    per-frame SRT: every cue states exactly the camera that rendered its frame (position, height,
    gimbal yaw/pitch/roll, 35 mm-equivalent focal length), so a footprint drawn on the map from the
    SRT matches the video.

There is no real data here: everything is drawn from a fixed random seed, so a rebuild gives the
same pixels (the JPEG/H.264 bytes depend on the library versions). Camera model used to render
(and to be used to compute footprints): pinhole, 35 mm-equivalent focal ``f35`` read the way EXIF
and DJI spec sheets read it (the diagonal: 24 mm <-> 84 deg), split between width and height by the
16:9 aspect, i.e. ``gis_desk.analysis.footprint.fov_from_focal_35mm(f35, 16/9)`` with its default
``basis="diagonal"`` (hfov 76.3 deg, vfov 47.7 deg at 24 mm); yaw degrees clockwise from grid
north, pitch -90 = straight down, roll 0. Frames are drawn by intersecting each pixel's ray with the
flat ground plane ``rel_alt`` metres below the camera (the take-off ground, ``SITE["ground_z"]``;
the DTM varies < 1 m around it).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "drone"
CRS = "EPSG:27700"
SEED = 20240605

# ---------------------------------------------------------------------------------------------
# Site constants (British National Grid metres). The site is 300 x 300 m south-west corner first.
# ---------------------------------------------------------------------------------------------
X0, Y0 = 378050.0, 393850.0
SIZE = 300.0
ORTHO_RES = 0.2
HEIGHT_RES = 0.5
GROUND_Z = 31.0      # m above ODN at the take-off point (Trafford lowland is ~25-35 m)

# Local (metres from the SW corner) layout, shared by the ortho, DSM and the flight.
MAIN_ROAD_Y = 120.0          # E-W road centre line
MAIN_ROAD_W = 7.3
SIDE_ROAD_X = 70.0           # N-S road from the main road to the north edge
SIDE_ROAD_W = 6.0
PAVEMENT_W = 2.0
CAR_PARK = (170.0, 28.0, 262.0, 100.0)          # xmin, ymin, xmax, ymax
STORE = (272.0, 20.0, 300.0, 105.0)             # flat-roofed supermarket east of the car park
APP_SITE = (165.0, 160.0, 255.0, 245.0)         # the fenced application site
TAKEOFF_LOCAL = (180.0, 36.0)                   # car park, south-west bays

SITE: dict = {
    "crs": CRS,
    "centre": (X0 + SIZE / 2, Y0 + SIZE / 2),
    "bounds": (X0, Y0, X0 + SIZE, Y0 + SIZE),
    "takeoff": (X0 + TAKEOFF_LOCAL[0], Y0 + TAKEOFF_LOCAL[1]),
    "ground_z": GROUND_Z,
    "application_site": (X0 + APP_SITE[0], Y0 + APP_SITE[1], X0 + APP_SITE[2], Y0 + APP_SITE[3]),
    "car_park": (X0 + CAR_PARK[0], Y0 + CAR_PARK[1], X0 + CAR_PARK[2], Y0 + CAR_PARK[3]),
    "ortho_res": ORTHO_RES,
    "height_res": HEIGHT_RES,
}

# Sun from the south-south-west, ~52 degrees high: shadows fall north-north-east.
SHADOW_DIR = np.array([0.35, 0.94]) / math.hypot(0.35, 0.94)
SHADOW_PER_M = 1.0 / math.tan(math.radians(52.0))


# ---------------------------------------------------------------------------------------------
# Grid helpers
# ---------------------------------------------------------------------------------------------
@dataclass
class Grid:
    """A north-up raster over the site: row 0 is the north edge."""
    res: float

    @property
    def n(self) -> int:
        return int(round(SIZE / self.res))

    def window(self, xmin: float, ymin: float, xmax: float, ymax: float):
        """Row/col slices covering a local bbox, plus the pixel-centre local coordinates."""
        n = self.n
        c0 = max(0, int(math.floor(xmin / self.res)))
        c1 = min(n, int(math.ceil(xmax / self.res)))
        r0 = max(0, int(math.floor((SIZE - ymax) / self.res)))
        r1 = min(n, int(math.ceil((SIZE - ymin) / self.res)))
        if c1 <= c0 or r1 <= r0:
            return None
        xs = (np.arange(c0, c1) + 0.5) * self.res
        ys = SIZE - (np.arange(r0, r1) + 0.5) * self.res
        X, Y = np.meshgrid(xs, ys)
        return (slice(r0, r1), slice(c0, c1)), X, Y

    def coords(self):
        return self.window(0, 0, SIZE, SIZE)[1:]


def _rect(grid: Grid, cx, cy, w, d, angle_deg=0.0, pad=0.0):
    """Pixels of a w (along angle) x d rectangle centred at cx, cy: (slices, u, v, mask)."""
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    half = 0.5 * (abs(w * ca) + abs(d * sa)) + pad, 0.5 * (abs(w * sa) + abs(d * ca)) + pad
    win = grid.window(cx - half[0], cy - half[1], cx + half[0], cy + half[1])
    if win is None:
        return None
    sl, X, Y = win
    dx, dy = X - cx, Y - cy
    u = dx * ca + dy * sa          # along w
    v = -dx * sa + dy * ca         # along d
    mask = (np.abs(u) <= w / 2) & (np.abs(v) <= d / 2)
    return sl, u, v, mask


def _smooth_noise(rng, shape, sigma, amp):
    from scipy.ndimage import gaussian_filter
    f = gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap")
    f /= max(float(f.std()), 1e-6)
    return f * amp


# ---------------------------------------------------------------------------------------------
# Layout: every feature is generated once from the seed and drawn on both grids.
# ---------------------------------------------------------------------------------------------
ROOF_COLOURS = [(96, 98, 108), (132, 72, 58), (112, 84, 70), (78, 80, 88), (150, 92, 70)]
CAR_COLOURS = [(200, 200, 205), (30, 32, 38), (150, 20, 25), (40, 60, 120), (120, 124, 130),
               (235, 235, 235), (20, 80, 50), (180, 150, 60)]


def _layout() -> dict:
    rng = np.random.default_rng(SEED)
    houses = []     # (cx, cy, w, d, angle, colour, ridge_h)
    # South side of the main road: pairs of semis facing north, back gardens to the south.
    x = 4.0
    while x < 150.0:
        houses.append((x + 8.5, MAIN_ROAD_Y - 17.0, 17.0, 8.5, 0.0,
                       ROOF_COLOURS[int(rng.integers(len(ROOF_COLOURS)))], float(rng.uniform(8.0, 9.0))))
        x += 23.0
    # Both sides of the side road, ridges running north-south.
    for side in (-1, 1):
        y = MAIN_ROAD_Y + 20.0
        while y < SIZE - 8.0:
            cx = SIDE_ROAD_X + side * (SIDE_ROAD_W / 2 + PAVEMENT_W + 9.0)
            houses.append((cx, y + 8.5, 17.0, 8.5, 90.0,
                           ROOF_COLOURS[int(rng.integers(len(ROOF_COLOURS)))], float(rng.uniform(8.0, 9.0))))
            y += 24.0
    # North side of the main road west of the side road: a short terrace.
    houses.append((30.0, MAIN_ROAD_Y + 17.0, 34.0, 8.0, 0.0, ROOF_COLOURS[0], 8.5))

    cars = []       # (cx, cy, angle, colour)
    x0, y0, x1, y1 = CAR_PARK
    rows = [y0 + 6.0, y0 + 17.0, y0 + 36.0, y0 + 47.0, y0 + 64.0]
    for ry in rows:
        bx = x0 + 3.0
        while bx + 2.5 < x1 - 2.0:
            if rng.random() < 0.55 and not (abs(bx - TAKEOFF_LOCAL[0]) < 6 and abs(ry - TAKEOFF_LOCAL[1]) < 6):
                cars.append((bx + 1.25, ry + float(rng.normal(0, 0.15)), 90.0 + float(rng.normal(0, 2.0)),
                             CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))]))
            bx += 2.5
    # A few cars parked along the side road.
    for y in (150.0, 171.0, 214.0, 260.0):
        cars.append((SIDE_ROAD_X + SIDE_ROAD_W / 2 - 1.1, y, 0.0,
                     CAR_COLOURS[int(rng.integers(len(CAR_COLOURS)))]))

    trees = []      # (cx, cy, radius, height)

    def free(cx, cy, r) -> bool:
        if abs(cy - MAIN_ROAD_Y) < MAIN_ROAD_W / 2 + PAVEMENT_W + r + 1:
            return False
        if abs(cx - SIDE_ROAD_X) < SIDE_ROAD_W / 2 + PAVEMENT_W + r + 1 and cy > MAIN_ROAD_Y:
            return False
        for bx0, by0, bx1, by1 in (CAR_PARK, STORE, APP_SITE, (190, 100, 210, MAIN_ROAD_Y)):
            if bx0 - r - 2 < cx < bx1 + r + 2 and by0 - r - 2 < cy < by1 + r + 2:
                return False
        for hx, hy, w, d, a, *_ in houses:
            ext = (w, d) if a == 0 else (d, w)
            if abs(cx - hx) < ext[0] / 2 + r + 1 and abs(cy - hy) < ext[1] / 2 + r + 1:
                return False
        return all(math.hypot(cx - tx, cy - ty) > 0.8 * (r + tr) for tx, ty, tr, _ in trees)

    # Park trees (north-east), street trees along the main road, garden trees.
    tries = 0
    while len(trees) < 70 and tries < 5000:
        tries += 1
        zone = rng.random()
        if zone < 0.45:
            cx, cy = rng.uniform(150, 298), rng.uniform(130, 298)
        elif zone < 0.7:
            cx, cy = rng.uniform(2, 298), MAIN_ROAD_Y + rng.choice([-1, 1]) * rng.uniform(7.5, 9.5)
        else:
            cx, cy = rng.uniform(2, 150), rng.uniform(2, 100)
        r = float(rng.uniform(2.2, 5.0))
        if free(cx, cy, r if zone >= 0.45 and zone < 0.7 else r):
            trees.append((float(cx), float(cy), r, float(rng.uniform(6.0, 13.0))))
    heaps = [(190.0, 225.0, 7.0, 2.2), (238.0, 178.0, 5.0, 1.6)]   # spoil heaps in the application site
    return {"houses": houses, "cars": cars, "trees": trees, "heaps": heaps}


# ---------------------------------------------------------------------------------------------
# Ortho
# ---------------------------------------------------------------------------------------------
def _paint(img, sl, mask, colour, alpha=1.0):
    sub = img[sl]
    c = np.asarray(colour, np.float32)
    if alpha >= 1.0:
        sub[mask] = c
    else:
        sub[mask] = sub[mask] * (1 - alpha) + c * alpha


def draw_ortho(layout: dict) -> np.ndarray:
    """RGB uint8 (n, n, 3) at ORTHO_RES, row 0 north."""
    g = Grid(ORTHO_RES)
    n = g.n
    rng = np.random.default_rng(SEED + 1)
    X, Y = g.coords()
    img = np.empty((n, n, 3), np.float32)
    # Grass: base colour with patchy and fine variation.
    patch = _smooth_noise(rng, (n, n), 40, 1.0)
    fine = rng.normal(0, 1, (n, n)).astype(np.float32)
    base = np.array([78, 112, 52], np.float32)
    img[:] = base
    img += (patch * 9)[..., None] * np.array([0.8, 1.0, 0.6], np.float32)
    img += (fine * 7)[..., None]
    # Mown stripes in the park (north-east of the roads), diagonal.
    park = (X > SIDE_ROAD_X + 14) & (Y > MAIN_ROAD_Y + 8)
    stripe = (np.floor((X * 0.8 + Y * 0.6) / 5.0) % 2 == 0) & park
    img[stripe] += np.array([14, 16, 8], np.float32)
    # Gardens: slightly different, less uniform lawns with fence lines every house width.
    gardens = (Y < MAIN_ROAD_Y - 8) & (X < 155) & (Y > 4)
    img[gardens] += (_smooth_noise(rng, (n, n), 6, 6)[gardens])[:, None]
    for hx, hy, w, d, a, *_ in layout["houses"]:
        if a == 0 and hy < MAIN_ROAD_Y:
            for fx in (hx - w / 2 - 3, hx, hx + w / 2 + 3):
                r = _rect(g, fx, hy / 2, 0.15, hy, 0.0)
                if r:
                    _paint(img, r[0], r[3], (95, 80, 60))
            # Patio behind each house.
            r = _rect(g, hx, hy - d / 2 - 2.0, w, 4.0, 0.0)
            if r:
                _paint(img, r[0], r[3], (170, 160, 140))
    # Application site: bare earth with tyre tracks and compacted haul route.
    ax0, ay0, ax1, ay1 = APP_SITE
    win = g.window(*APP_SITE)
    sl, AX, AY = win
    soil = np.array([128, 100, 72], np.float32)
    sub = img[sl]
    sub[:] = soil + (_smooth_noise(rng, AX.shape, 12, 10))[..., None] + rng.normal(0, 6, AX.shape + (1,))
    track = np.abs(AY - (ay0 + 20 + 0.35 * (AX - ax0))) < 2.2
    sub[track] = sub[track] * 0.82 + np.array([20, 18, 15])
    haul = (np.abs(AX - 210) < 3.0) & (AY < ay0 + 30)
    sub[haul] = np.array([150, 140, 120]) + rng.normal(0, 5, (int(haul.sum()), 1))
    for hx, hy, hr, hh in layout["heaps"]:
        rr = np.hypot(AX - hx, AY - hy)
        m = rr < hr
        shade = 1.0 + 0.25 * ((AX - hx) * -0.35 + (AY - hy) * -0.94)[m] / hr
        sub[m] = (np.array([108, 84, 60], np.float32) * shade[:, None])
    # Site access from the main road, through a gate.
    r = _rect(g, 210, (MAIN_ROAD_Y + ay0) / 2, 6.0, ay0 - MAIN_ROAD_Y, 0.0)
    _paint(img, r[0], r[3], (150, 140, 120))
    # Pavements, then roads on top, then markings.
    tarmac = np.array([58, 60, 64], np.float32)
    pave = np.array([165, 162, 155], np.float32)

    def strip(cx, cy, w, d, a, colour, noise=5.0):
        r = _rect(g, cx, cy, w, d, a)
        if r is None:
            return
        sl, u, v, m = r
        sub = img[sl]
        sub[m] = colour + rng.normal(0, noise, (int(m.sum()), 1))

    strip(SIZE / 2, MAIN_ROAD_Y, SIZE + 2, MAIN_ROAD_W + 2 * PAVEMENT_W, 0, pave)
    strip(SIDE_ROAD_X, (MAIN_ROAD_Y + SIZE) / 2 + 1, SIDE_ROAD_W + 2 * PAVEMENT_W, SIZE - MAIN_ROAD_Y + 2, 0, pave)
    strip(200, (CAR_PARK[3] + MAIN_ROAD_Y) / 2, 10.0, MAIN_ROAD_Y - CAR_PARK[3], 0, pave)
    strip(SIZE / 2, MAIN_ROAD_Y, SIZE + 2, MAIN_ROAD_W, 0, tarmac)
    strip(SIDE_ROAD_X, (MAIN_ROAD_Y + SIZE) / 2 + 1, SIDE_ROAD_W, SIZE - MAIN_ROAD_Y + 2, 0, tarmac)
    strip(200, (CAR_PARK[3] + MAIN_ROAD_Y) / 2, 6.5, MAIN_ROAD_Y - CAR_PARK[3] + 1, 0, tarmac)
    # Driveways from the houses to the pavements.
    for hx, hy, w, d, a, *_ in layout["houses"]:
        if a == 0 and hy < MAIN_ROAD_Y:
            for dx in (-w / 2 - 1.5, w / 2 + 1.5):
                strip(hx + dx, (hy + MAIN_ROAD_Y - MAIN_ROAD_W / 2 - PAVEMENT_W) / 2, 2.8,
                      MAIN_ROAD_Y - MAIN_ROAD_W / 2 - PAVEMENT_W - hy, 0, np.array([150, 130, 115], np.float32))
    # Car park surface, bays and aisle arrows.
    cx0, cy0, cx1, cy1 = CAR_PARK
    strip((cx0 + cx1) / 2, (cy0 + cy1) / 2, cx1 - cx0, cy1 - cy0, 0, tarmac + 6, 6.0)
    white = (225, 225, 220)
    for ry in (cy0 + 6.0, cy0 + 17.0, cy0 + 36.0, cy0 + 47.0, cy0 + 64.0):
        bx = cx0 + 3.0
        while bx < cx1 - 2.0:
            r = _rect(g, bx, ry, 0.12, 4.8, 0)
            _paint(img, r[0], r[3], white)
            bx += 2.5
    for ay in (cy0 + 26.5, cy0 + 55.5):
        for ax in np.arange(cx0 + 8, cx1 - 4, 12.0):
            r = _rect(g, ax, ay, 3.0, 0.25, 0)
            _paint(img, r[0], r[3], white)
    # Main road: centre dashes (3 m line, 6 m gap) and edge lines; give-way at the junctions.
    for dx in np.arange(1.0, SIZE, 9.0):
        r = _rect(g, dx + 1.5, MAIN_ROAD_Y, 3.0, 0.12, 0)
        _paint(img, r[0], r[3], white)
    for ey in (MAIN_ROAD_Y - MAIN_ROAD_W / 2 + 0.3, MAIN_ROAD_Y + MAIN_ROAD_W / 2 - 0.3):
        r = _rect(g, SIZE / 2, ey, SIZE, 0.1, 0)
        _paint(img, r[0], r[3], (215, 215, 205))
    for jx, jy in ((SIDE_ROAD_X, MAIN_ROAD_Y + MAIN_ROAD_W / 2 + 0.6), (200, MAIN_ROAD_Y - MAIN_ROAD_W / 2 - 0.6)):
        for k in np.arange(-2.5, 2.6, 1.0):
            r = _rect(g, jx + k, jy, 0.6, 0.2, 0)
            _paint(img, r[0], r[3], white)
    for dy in np.arange(MAIN_ROAD_Y + 10, SIZE, 9.0):
        r = _rect(g, SIDE_ROAD_X, dy, 0.1, 3.0, 0)
        _paint(img, r[0], r[3], white)
    # Double yellow lines along the main road's north kerb.
    for off in (0.0, 0.2):
        r = _rect(g, SIZE / 2, MAIN_ROAD_Y + MAIN_ROAD_W / 2 - 0.1 - off, SIZE, 0.08, 0)
        _paint(img, r[0], r[3], (220, 190, 40))

    # Shadows (drawn before the objects that cast them).
    shadow_mask = np.zeros((n, n), bool)

    def shadow_mark(cx, cy, w, d, a, h, round_r=None):
        off = SHADOW_DIR * h * SHADOW_PER_M
        for k in np.linspace(0.0, 1.0, 8):
            sx, sy = cx + off[0] * k, cy + off[1] * k
            if round_r is not None:
                rr = round_r * (1 - 0.35 * k)
                win = g.window(sx - rr, sy - rr, sx + rr, sy + rr)
                if win is None:
                    continue
                sl, WX, WY = win
                shadow_mask[sl] |= np.hypot(WX - sx, WY - sy) < rr
            else:
                r = _rect(g, sx, sy, w, d, a)
                if r is not None:
                    shadow_mask[r[0]] |= r[3]

    for hx, hy, w, d, a, col, rh in layout["houses"]:
        shadow_mark(hx, hy, w, d, a, rh * 0.8)
    sx0, sy0, sx1, sy1 = STORE
    shadow_mark((sx0 + sx1) / 2, (sy0 + sy1) / 2, sx1 - sx0, sy1 - sy0, 0, 6.5)
    for cx, cy, a, col in layout["cars"]:
        shadow_mark(cx, cy, 4.3, 1.8, a, 1.3)
    for tx, ty, tr, th in layout["trees"]:
        shadow_mark(tx, ty, 0, 0, 0, th * 0.75, round_r=tr * 0.9)
    img[shadow_mask] = img[shadow_mask] * 0.55 + np.array([8, 12, 22], np.float32) * 0.45

    # Cars: body, darker glass front and rear, lighter roof.
    for cx, cy, a, col in layout["cars"]:
        r = _rect(g, cx, cy, 4.3, 1.8, a)
        sl, u, v, m = r
        sub = img[sl]
        c = np.array(col, np.float32)
        sub[m] = c
        glass = m & (((u > 0.55) & (u < 1.35)) | ((u < -1.0) & (u > -1.6))) & (np.abs(v) < 0.75)
        sub[glass] = np.array([28, 34, 44], np.float32)
        roof = m & (u <= 0.55) & (u >= -1.0) & (np.abs(v) < 0.7)
        sub[roof] = np.minimum(c * 1.12 + 8, 255)

    # House roofs: two slopes lit differently by the sun, a darker ridge line, chimney stacks.
    sun = np.array([-SHADOW_DIR[0], -SHADOW_DIR[1]])
    for hx, hy, w, d, a, col, rh in layout["houses"]:
        r = _rect(g, hx, hy, w + 0.6, d + 0.6, a)
        sl, u, v, m = r
        sub = img[sl]
        c = np.array(col, np.float32)
        # Normal of the +v slope points along the rotated +v axis; shade by its dot with the sun.
        ar = math.radians(a)
        nv = np.array([-math.sin(ar), math.cos(ar)])
        lit = 1.0 + 0.28 * float(np.dot(nv, sun))
        dark = 1.0 - 0.28 * float(np.dot(nv, sun))
        tex = rng.normal(0, 5, m.shape).astype(np.float32) + (np.sin(v * 2 * math.pi / 0.35) * 3)
        shade = np.where(v > 0, lit, dark)
        sub[m] = np.clip(c[None, :] * shade[m][:, None] + tex[m][:, None], 0, 255)
        ridge = m & (np.abs(v) < 0.18)
        sub[ridge] = c * 0.7
        hip = m & (np.abs(u) > (w + 0.6) / 2 - 0.15)
        sub[hip] = c * 0.75
        for chx in (-w / 2 + 1.2, w / 2 - 1.2):   # chimney stacks at the gable ends
            ch = m & (np.abs(u - chx) < 0.5) & (np.abs(v) < 0.45)
            sub[ch] = (120, 95, 80)
    # Supermarket: pale flat roof with roof-lights and plant.
    r = _rect(g, (sx0 + sx1) / 2, (sy0 + sy1) / 2, sx1 - sx0, sy1 - sy0, 0)
    sl, u, v, m = r
    sub = img[sl]
    sub[m] = np.array([196, 198, 200], np.float32) + rng.normal(0, 3, (int(m.sum()), 1))
    roof_lights = m & (np.abs((v % 8.0) - 4.0) < 0.7) & (np.abs(u) < (sx1 - sx0) / 2 - 3)
    sub[roof_lights] = (120, 150, 175)
    for px, py in ((sx0 + 7, sy1 - 10), (sx0 + 19, sy1 - 10), (sx0 + 13, sy0 + 12)):
        rr = _rect(g, px, py, 3.0, 2.2, 0)
        _paint(img, rr[0], rr[3], (140, 142, 146))

    # Trees: canopy disc shaded towards the sun, leaf texture.
    for tx, ty, tr, th in layout["trees"]:
        win = g.window(tx - tr, ty - tr, tx + tr, ty + tr)
        if win is None:
            continue
        sl, WX, WY = win
        dx, dy = WX - tx, WY - ty
        rho = np.hypot(dx, dy) / tr
        wobble = 1.0 + 0.12 * np.sin(np.arctan2(dy, dx) * 7 + tx)
        m = rho < wobble
        light = 0.85 + 0.35 * ((dx * sun[0] + dy * sun[1]) / tr) - 0.25 * rho ** 2
        leaf = rng.normal(0, 1, m.shape)
        green = np.array([46, 78, 34], np.float32) if tx % 3 > 1 else np.array([58, 86, 40], np.float32)
        col = green[None, :] * np.clip(light + 0.12 * leaf, 0.35, 1.5)[m][:, None]
        img[sl][m] = col

    # Application-site fence (Heras panels): a thin light line with posts, plus a red boundary tape.
    for (fx, fy, fw, fd) in (((ax0 + ax1) / 2, ay0, ax1 - ax0, 0.12), ((ax0 + ax1) / 2, ay1, ax1 - ax0, 0.12),
                             (ax0, (ay0 + ay1) / 2, 0.12, ay1 - ay0), (ax1, (ay0 + ay1) / 2, 0.12, ay1 - ay0)):
        r = _rect(g, fx, fy, fw, fd, 0)
        _paint(img, r[0], r[3], (205, 205, 200))
    for k in np.arange(0, 2 * ((ax1 - ax0) + (ay1 - ay0)), 3.5):
        per = 2 * (ax1 - ax0) + 2 * (ay1 - ay0)
        k = k % per
        if k < ax1 - ax0:
            px, py = ax0 + k, ay0
        elif k < (ax1 - ax0) + (ay1 - ay0):
            px, py = ax1, ay0 + k - (ax1 - ax0)
        elif k < 2 * (ax1 - ax0) + (ay1 - ay0):
            px, py = ax1 - (k - (ax1 - ax0) - (ay1 - ay0)), ay1
        else:
            px, py = ax0, ay1 - (k - 2 * (ax1 - ax0) - (ay1 - ay0))
        r = _rect(g, px, py, 0.35, 0.35, 0)
        _paint(img, r[0], r[3], (60, 60, 60))
    # Gate gap where the haul route enters.
    r = _rect(g, 210, ay0, 5.0, 0.3, 0)
    _paint(img, r[0], r[3], (150, 140, 120))
    # A site cabin and a yellow excavator.
    r = _rect(g, ax0 + 10, ay0 + 8, 9.0, 3.0, 0)
    _paint(img, r[0], r[3], (70, 110, 150))
    r = _rect(g, 225, 215, 3.0, 2.5, 30)
    _paint(img, r[0], r[3], (225, 175, 30))
    r = _rect(g, 225 + 3.0, 215 + 1.7, 4.0, 0.5, 30)
    _paint(img, r[0], r[3], (200, 150, 20))
    return np.clip(img, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Heights
# ---------------------------------------------------------------------------------------------
def ground_height(x_local: np.ndarray, y_local: np.ndarray) -> np.ndarray:
    """Bare-earth height (m ODN): a gentle fall to the north-west with soft undulation, = GROUND_Z at take-off."""
    def f(x, y):
        return (0.004 * (x - 150.0) - 0.0025 * (y - 150.0)
                + 0.35 * np.sin(x / 37.0) * np.cos(y / 53.0))
    return GROUND_Z + f(np.asarray(x_local, float), np.asarray(y_local, float)) - f(*TAKEOFF_LOCAL)


def draw_heights(layout: dict) -> tuple[np.ndarray, np.ndarray]:
    """(dsm, dtm) float32 (n, n) at HEIGHT_RES, row 0 north."""
    g = Grid(HEIGHT_RES)
    X, Y = g.coords()
    dtm = ground_height(X, Y).astype(np.float32)
    dsm = dtm.copy()

    def raise_to(sl, mask, h):
        sub = dsm[sl]
        base = dtm[sl]
        val = base + h
        sub[mask] = np.maximum(sub[mask], val[mask] if np.ndim(val) else val)

    for hx, hy, w, d, a, col, rh in layout["houses"]:
        sl, u, v, m = _rect(g, hx, hy, w + 0.6, d + 0.6, a)
        eaves = 5.2
        h = rh - (rh - eaves) * np.abs(v) / ((d + 0.6) / 2)
        raise_to(sl, m, h)
    sx0, sy0, sx1, sy1 = STORE
    sl, u, v, m = _rect(g, (sx0 + sx1) / 2, (sy0 + sy1) / 2, sx1 - sx0, sy1 - sy0, 0)
    raise_to(sl, m, np.full(m.shape, 6.5))
    for cx, cy, a, col in layout["cars"]:
        sl, u, v, m = _rect(g, cx, cy, 4.3, 1.8, a)
        raise_to(sl, m, np.full(m.shape, 1.45))
    for tx, ty, tr, th in layout["trees"]:
        win = g.window(tx - tr, ty - tr, tx + tr, ty + tr)
        if win is None:
            continue
        sl, WX, WY = win
        rho = np.hypot(WX - tx, WY - ty) / tr
        m = rho < 1
        raise_to(sl, m, th * (1 - 0.55 * rho ** 2))
    for hx, hy, hr, hh in layout["heaps"]:
        win = g.window(hx - hr, hy - hr, hx + hr, hy + hr)
        sl, WX, WY = win
        rho = np.hypot(WX - hx, WY - hy) / hr
        m = rho < 1
        raise_to(sl, m, hh * (1 - rho ** 2))
    # Spoil heaps are ground the DTM keeps too (an engineer's DTM includes earthworks).
    return dsm, dtm


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
def _transform(res: float):
    from rasterio.transform import from_origin
    return from_origin(X0, Y0 + SIZE, res, res)


def write_ortho(path: Path, rgb: np.ndarray) -> None:
    import rasterio
    from rasterio.enums import Resampling
    profile = dict(driver="GTiff", width=rgb.shape[1], height=rgb.shape[0], count=3, dtype="uint8",
                   crs=CRS, transform=_transform(ORTHO_RES), tiled=True, blockxsize=256, blockysize=256,
                   compress="JPEG", photometric="YCBCR", jpeg_quality=80, interleave="pixel")
    with rasterio.Env(COMPRESS_OVERVIEW="JPEG", PHOTOMETRIC_OVERVIEW="YCBCR", JPEG_QUALITY_OVERVIEW="80",
                      INTERLEAVE_OVERVIEW="PIXEL", GDAL_TIFF_OVR_BLOCKSIZE="256"):
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.moveaxis(rgb, 2, 0))
            for i, name in enumerate(("red", "green", "blue"), 1):
                dst.set_band_description(i, name)
            dst.build_overviews([2, 4, 8], Resampling.average)
            dst.update_tags(ns="rio_overview", resampling="average")
            dst.update_tags(DESCRIPTION="Synthetic orthomosaic of the GIS Desk sample drone site (procedural)")


def write_heights(path: Path, h: np.ndarray, what: str) -> None:
    import rasterio
    from rasterio.enums import Resampling
    # Round to cm: real DSMs are not more precise, and it compresses far better.
    h = np.round(h * 100.0) / 100.0
    profile = dict(driver="GTiff", width=h.shape[1], height=h.shape[0], count=1, dtype="float32",
                   crs=CRS, transform=_transform(HEIGHT_RES), tiled=True, blockxsize=256, blockysize=256,
                   compress="DEFLATE", predictor=3, zlevel=9, nodata=-9999.0)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(h.astype(np.float32), 1)
        dst.set_band_description(1, f"{what} height (m above ODN)")
        dst.update_tags(1, units="metre", vertical_datum="ODN (Ordnance Datum Newlyn)")
        dst.build_overviews([2, 4], Resampling.average)


def make_site(out_dir: str | Path = DEFAULT_OUT) -> dict[str, Path]:
    """Write site_ortho.tif, site_dsm.tif and site_dtm.tif into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layout = _layout()
    paths = {"ortho": out / "site_ortho.tif", "dsm": out / "site_dsm.tif", "dtm": out / "site_dtm.tif"}
    write_ortho(paths["ortho"], draw_ortho(layout))
    dsm, dtm = draw_heights(layout)
    write_heights(paths["dsm"], dsm, "Surface")
    write_heights(paths["dtm"], dtm, "Terrain")
    return paths


# ---------------------------------------------------------------------------------------------
# The clip: a virtual camera flown over the ortho, and its DJI per-frame SRT
# ---------------------------------------------------------------------------------------------
FPS = 30
DURATION_S = 24.0
VIDEO_W, VIDEO_H = 640, 360
FOCAL_35MM = 24.0
CLIP_START = "2024-06-05 14:23:10.000"   # wall-clock time of the first frame (local)
ORBIT_CENTRE = ((APP_SITE[0] + APP_SITE[2]) / 2, (APP_SITE[1] + APP_SITE[3]) / 2)
ORBIT_R = 75.0


def _ease(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


def _lerp_angle(a: float, b: float, f: float) -> float:
    d = (b - a + 180.0) % 360.0 - 180.0
    return (a + f * d + 180.0) % 360.0 - 180.0


def flight_state(t: float) -> tuple[float, float, float, float, float, float]:
    """(x_local, y_local, rel_alt, gimbal yaw, gimbal pitch, gimbal roll) at clip time t.

    0-4 s: climb over the car-park take-off point looking straight down; 4-11 s: fly north to
    the south side of the application site, tilting the camera up; 11-21 s: a quarter orbit
    round the site looking in at it; 21-24 s: hover and tilt back down."""
    cx, cy = ORBIT_CENTRE
    start = (cx + ORBIT_R * math.cos(math.radians(-90)), cy + ORBIT_R * math.sin(math.radians(-90)))
    to_start_yaw = math.degrees(math.atan2(start[0] - TAKEOFF_LOCAL[0], start[1] - TAKEOFF_LOCAL[1]))
    if t < 4.0:
        f = _ease(t / 4.0)
        return TAKEOFF_LOCAL[0], TAKEOFF_LOCAL[1], 12.0 + 38.0 * f, _lerp_angle(0.0, to_start_yaw, f), -90.0, 0.0
    if t < 11.0:
        f = _ease((t - 4.0) / 7.0)
        x = TAKEOFF_LOCAL[0] + (start[0] - TAKEOFF_LOCAL[0]) * f
        y = TAKEOFF_LOCAL[1] + (start[1] - TAKEOFF_LOCAL[1]) * f
        return x, y, 50.0 + 10.0 * f, _lerp_angle(to_start_yaw, 0.0, f), -90.0 + 40.0 * f, 0.0
    if t < 21.0:
        f = (t - 11.0) / 10.0
        ang = math.radians(-90.0 + 90.0 * (0.5 - 0.5 * math.cos(math.pi * f)))
        x, y = cx + ORBIT_R * math.cos(ang), cy + ORBIT_R * math.sin(ang)
        yaw = math.degrees(math.atan2(cx - x, cy - y))      # look at the site centre
        return x, y, 60.0, yaw, -50.0 + 5.0 * math.sin(math.pi * f), 0.0
    f = _ease((t - 21.0) / 3.0)
    x, y = cx + ORBIT_R, cy
    return x, y, 60.0 - 5.0 * f, -90.0, -50.0 - 35.0 * f, 0.0


class _OrthoSampler:
    """Bilinear, mip-mapped look-ups of the ortho at ground coordinates; mirrored beyond its edge."""

    def __init__(self, rgb: np.ndarray):
        self.levels = [rgb.astype(np.float32)]
        while len(self.levels) < 5:
            a = self.levels[-1]
            h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
            a = a[:h, :w]
            self.levels.append(0.25 * (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]))

    @staticmethod
    def _mirror(i: np.ndarray, n: int) -> np.ndarray:
        i = np.mod(i, 2 * n)
        return np.where(i >= n, 2 * n - 1 - i, i)

    def _bilinear(self, level: int, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        a = self.levels[level]
        res = ORTHO_RES * (2 ** level)
        c = (X - X0) / res - 0.5
        r = (Y0 + SIZE - Y) / res - 0.5
        c0, r0 = np.floor(c), np.floor(r)
        fc, fr = (c - c0)[..., None], (r - r0)[..., None]
        n_r, n_c = a.shape[:2]
        c0i, r0i = c0.astype(np.int64), r0.astype(np.int64)
        c1i, r1i = self._mirror(c0i + 1, n_c), self._mirror(r0i + 1, n_r)
        c0i, r0i = self._mirror(c0i, n_c), self._mirror(r0i, n_r)
        top = a[r0i, c0i] * (1 - fc) + a[r0i, c1i] * fc
        bot = a[r1i, c0i] * (1 - fc) + a[r1i, c1i] * fc
        return top * (1 - fr) + bot * fr

    def sample(self, X: np.ndarray, Y: np.ndarray, gsd: np.ndarray) -> np.ndarray:
        lod = np.clip(np.log2(np.maximum(gsd, 1e-6) / ORTHO_RES), 0, len(self.levels) - 1.001)
        out = np.zeros(X.shape + (3,), np.float32)
        lo = np.floor(lod).astype(int)
        for k in np.unique(lo):
            m = lo == k
            f = (lod[m] - k)[:, None]
            out[m] = self._bilinear(k, X[m], Y[m]) * (1 - f) + self._bilinear(k + 1, X[m], Y[m]) * f
        return out


def camera_fov(focal_35mm: float = FOCAL_35MM, width: int = VIDEO_W, height: int = VIDEO_H) -> tuple[float, float]:
    """(hfov, vfov) of the clip camera: the 35 mm diagonal convention of
    ``gis_desk.analysis.footprint.fov_from_focal_35mm`` (24 mm <-> 84 deg diagonal)."""
    diag = 2.0 * math.atan(math.hypot(36.0, 24.0) / 2.0 / focal_35mm)
    t, norm = math.tan(diag / 2.0), math.hypot(width / height, 1.0)
    return (math.degrees(2 * math.atan(t * (width / height) / norm)), math.degrees(2 * math.atan(t / norm)))


def camera_rays(yaw: float, pitch: float, roll: float, hfov: float, vfov: float,
                width: int = VIDEO_W, height: int = VIDEO_H) -> np.ndarray:
    """World ray directions (height, width, 3) through pixel centres: x east, y north, z up;
    yaw clockwise from north, pitch -90 = nadir, roll positive = right side down (the
    conventions of ``gis_desk.analysis.footprint``)."""
    yr, pr, rr = (math.radians(v) for v in (yaw, pitch, roll))
    cr, sr, cp, sp = math.cos(rr), math.sin(rr), math.cos(pr), math.sin(pr)
    fwd = np.array([0.0, cp, sp])
    right = np.array([cr, sr * sp, -sr * cp])
    up = np.array([sr, -cr * sp, cr * cp])
    cy, sy = math.cos(yr), math.sin(yr)
    rot = np.array([[cy, sy, 0.0], [-sy, cy, 0.0], [0.0, 0.0, 1.0]])
    fwd, right, up = rot @ fwd, rot @ right, rot @ up
    u = ((np.arange(width) + 0.5) / width * 2 - 1) * math.tan(math.radians(hfov) / 2)
    v = (1 - (np.arange(height) + 0.5) / height * 2) * math.tan(math.radians(vfov) / 2)
    return fwd[None, None, :] + u[None, :, None] * right[None, None, :] + v[:, None, None] * up[None, None, :]


def render_frame(sampler: _OrthoSampler, cam_x: float, cam_y: float, cam_h: float, yaw: float, pitch: float,
                 roll: float, hfov: float, vfov: float) -> np.ndarray:
    """RGB uint8 (VIDEO_H, VIDEO_W, 3): each pixel's ray meets the flat ground ``cam_h`` metres
    below the camera; the ortho is sampled there (mip level from the ground size of the pixel)."""
    rays = camera_rays(yaw, pitch, roll, hfov, vfov)
    dz = rays[..., 2]
    hits = dz < -1e-6
    t = np.where(hits, cam_h / np.where(hits, -dz, 1.0), 1e5)
    X = cam_x + t * rays[..., 0]
    Y = cam_y + t * rays[..., 1]
    gx = np.abs(np.gradient(X, axis=1)) + np.abs(np.gradient(Y, axis=1))
    gy = np.abs(np.gradient(X, axis=0)) + np.abs(np.gradient(Y, axis=0))
    img = sampler.sample(X, Y, np.maximum(gx, gy))
    dist = t * np.linalg.norm(rays, axis=-1)
    haze = (1.0 - np.exp(-dist / 1800.0))[..., None]
    img = img * (1 - haze) + np.array([196, 204, 214], np.float32) * haze
    img[~hits] = (196, 204, 214)
    # Gentle lens vignetting, as real footage has.
    yy, xx = np.mgrid[0:VIDEO_H, 0:VIDEO_W]
    r2 = ((xx - VIDEO_W / 2) / (VIDEO_W / 2)) ** 2 + ((yy - VIDEO_H / 2) / (VIDEO_W / 2)) ** 2
    img *= (1.0 - 0.12 * r2)[..., None]
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _srt_cue(i: int, t0_ms: int, t1_ms: int, when: str, lat: float, lon: float, rel: float, gyaw: float,
             gpitch: float, groll: float) -> str:
    def tc(ms: int) -> str:
        h, rem = divmod(ms, 3600000)
        m, rem = divmod(rem, 60000)
        s, ms = divmod(rem, 1000)
        return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"
    return (f"{i}\n{tc(t0_ms)} --> {tc(t1_ms)}\n"
            f"<font size=\"28\">FrameCnt: {i}, DiffTime: {t1_ms - t0_ms}ms\n{when}\n"
            f"[iso: 100] [shutter: 1/500.0] [fnum: 2.8] [ev: 0] [color_md: default] [focal_len: {FOCAL_35MM:.2f}] "
            f"[latitude: {lat:.6f}] [longitude: {lon:.6f}] [rel_alt: {rel:.3f} abs_alt: {GROUND_Z + rel:.3f}] "
            f"[gb_yaw: {gyaw:.1f} gb_pitch: {gpitch:.1f} gb_roll: {groll:.1f}] [ct: 5500] </font>\n\n")


def flight_rows(fps: int = FPS, duration_s: float = DURATION_S) -> list[dict]:
    """One row per frame: the SRT values as written (rounded as DJI writes them) and the render
    camera derived from those rounded values, so the SRT describes exactly what was drawn."""
    from datetime import datetime, timedelta

    from pyproj import Transformer
    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    to_bng = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    start = datetime.strptime(CLIP_START, "%Y-%m-%d %H:%M:%S.%f")
    rows = []
    n = int(round(fps * duration_s))
    for k in range(n):
        t = k / fps
        x, y, h, yaw, pitch, roll = flight_state(t)
        lon, lat = to_wgs.transform(X0 + x, Y0 + y)
        lat, lon = round(lat, 6), round(lon, 6)
        h, yaw, pitch, roll = round(h, 3), round(yaw, 1), round(pitch, 1), round(roll, 1)
        ex, ny = to_bng.transform(lon, lat)
        t0, t1 = int(round(1000 * k / fps)), int(round(1000 * (k + 1) / fps))
        when = (start + timedelta(milliseconds=t0)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        rows.append(dict(frame=k + 1, t0_ms=t0, t1_ms=t1, when=when, lat=lat, lon=lon, rel_alt=h, yaw=yaw,
                         pitch=pitch, roll=roll, x=ex, y=ny))
    return rows


def make_clip(out_dir: str | Path = DEFAULT_OUT, *, crf: int = 28, frames: int | None = None) -> dict[str, Path]:
    """Write site_flight.mp4 (H.264, 640x360, 30 fps) and site_flight.SRT from the ortho in
    ``out_dir`` (built first if missing).  ``frames`` limits the clip (tests)."""
    import av
    import rasterio
    out = Path(out_dir)
    paths = {"video": out / "site_flight.mp4", "srt": out / "site_flight.SRT"}
    if not (out / "site_ortho.tif").exists():
        make_site(out)
    with rasterio.open(out / "site_ortho.tif") as src:
        rgb = np.moveaxis(src.read(), 0, 2)
    sampler = _OrthoSampler(rgb)
    hfov, vfov = camera_fov()
    rows = flight_rows()
    if frames is not None:
        rows = rows[:frames]
    with open(paths["srt"], "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(_srt_cue(r["frame"], r["t0_ms"], r["t1_ms"], r["when"], r["lat"], r["lon"], r["rel_alt"],
                             r["yaw"], r["pitch"], r["roll"]))
    container = av.open(str(paths["video"]), "w")
    try:
        codec = "libx264" if "libx264" in av.codecs_available else "h264"
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = VIDEO_W, VIDEO_H, "yuv420p"
        # One thread and fixed settings keep the bytes reproducible; a keyframe every second
        # keeps frame-exact seeking quick.
        stream.options = {"crf": str(crf), "preset": "medium", "g": str(FPS), "threads": "1",
                          "tune": "film"}
        container.metadata["title"] = "GIS Desk sample drone flight (synthetic)"
        for r in rows:
            img = render_frame(sampler, r["x"], r["y"], r["rel_alt"], r["yaw"], r["pitch"], r["roll"], hfov, vfov)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--only", nargs="*", choices=["site", "clip"], default=["site", "clip"])
    args = ap.parse_args(argv)
    if "site" in args.only:
        for k, p in make_site(args.out).items():
            print(f"{k}: {p} ({p.stat().st_size / 1e6:.2f} MB)")
    if "clip" in args.only:
        for k, p in make_clip(args.out).items():
            print(f"{k}: {p} ({p.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
