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
    A 24 s 640x360 25 fps H.264 clip made by flying a virtual camera over the ortho, and its DJI
    per-frame SRT: every cue states exactly the camera that rendered its frame (position, height,
    gimbal yaw/pitch/roll, 35 mm-equivalent focal length), so a footprint drawn on the map from the
    SRT matches the video.

There is no real data here: everything is drawn from a fixed random seed, so a rebuild gives the
same pixels (the JPEG/H.264 bytes depend on the library versions). Camera model used to render
(and to be used to compute footprints): pinhole, 35 mm-equivalent focal ``f35`` on a 36 mm wide
frame, so ``hfov = 2*atan(18/f35)`` and ``tan(vfov/2) = tan(hfov/2) * height/width``; yaw degrees
clockwise from grid north, pitch -90 = straight down, roll 0. Frames are drawn by intersecting each
pixel's ray with the flat ground plane at ``SITE["ground_z"]`` (the DTM varies < 1 m around it).
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--only", nargs="*", choices=["site", "clip"], default=["site", "clip"])
    args = ap.parse_args(argv)
    if "site" in args.only:
        for k, p in make_site(args.out).items():
            print(f"{k}: {p} ({p.stat().st_size / 1e6:.2f} MB)")
    if "clip" in args.only and "make_clip" in globals():
        for k, p in globals()["make_clip"](args.out).items():
            print(f"{k}: {p} ({p.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
