"""Build the sample drone photos in ``sample_surveys/drone/photos/``, deterministically.

    .venv/bin/python sample_surveys/make_drone_photos.py [--out sample_surveys/drone/photos]

Needs ``sample_surveys/drone/site_ortho.tif`` (``make_drone_site.py`` builds it).  Writes 8
small (800 x 600) JPEGs of a short survey flight over the application site, each rendered from
the ortho by the virtual camera its metadata describes:

* ``DJI_0101.JPG`` .. ``DJI_0105.JPG``: nadir (gimbal pitch -90), 50 m above take-off, heading
  north along the site's centre line, 25 m apart (about 70 % forward overlap);
* ``DJI_0106.JPG``: oblique (pitch -40) from 55 m south of the site, looking north at it;
* ``DJI_0107.JPG``: oblique (pitch -35), 60 m up, east of the site looking west;
* ``DJI_0108.JPG``: a nadir shot taken before the GPS had a fix: DJI XMP attitude but no
  position at all (GIS Desk must list it as unplaced, not place it).

Metadata is DJI-style (``gis_desk.io.photos.write_dji_jpeg``): EXIF GPS (WGS84 from the BNG
camera position), EXIF 35 mm focal length, and drone-dji XMP RelativeAltitude (above take-off),
AbsoluteAltitude (take-off ground + relative, m ODN), gimbal and flight yaw/pitch/roll and a
CalibratedFocalLength in pixels of the 800 px image.  Camera model: pinhole, 24 mm equivalent
(diagonal convention, 4:3: hfov 71.6 deg), ground = the flat plane at the take-off height (as the
sample clip; the DTM varies by < 1 m).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # make_drone_site lives next to this file
sys.path.insert(0, str(HERE.parent))

import make_drone_site as site  # noqa: E402

DEFAULT_OUT = HERE / "drone" / "photos"
WIDTH, HEIGHT = 800, 600
FOCAL_35MM = 24.0
MODEL = "L2D-20c"             # DJI Mavic 3's Hasselblad camera (4:3 stills)
FOCAL_MM = 12.29              # its real focal length (EXIF FocalLength)
TIME0 = (2024, 6, 5, 14, 31, 2)
QUALITY = 82

_A = site.APP_SITE
_CX = (_A[0] + _A[2]) / 2.0  # 210 m east of the site's SW corner
#: (file, local x, local y, rel_alt, gimbal yaw, gimbal pitch, has GPS) of each shot
SHOTS: list[tuple[str, float, float, float, float, float, bool]] = [
    ("DJI_0101.JPG", _CX, 150.0, 50.0, 0.0, -90.0, True),
    ("DJI_0102.JPG", _CX, 175.0, 50.0, 0.0, -90.0, True),
    ("DJI_0103.JPG", _CX, 200.0, 50.0, 0.0, -90.0, True),
    ("DJI_0104.JPG", _CX, 225.0, 50.0, 0.0, -90.0, True),
    ("DJI_0105.JPG", _CX, 250.0, 50.0, 0.0, -90.0, True),
    ("DJI_0106.JPG", _CX, _A[1] - 55.0, 55.0, 0.0, -40.0, True),
    ("DJI_0107.JPG", _A[2] + 60.0, (_A[1] + _A[3]) / 2.0, 60.0, 270.0, -35.0, True),
    ("DJI_0108.JPG", _CX - 20.0, 210.0, 50.0, 90.0, -90.0, False),
]


def camera_fov() -> tuple[float, float]:
    """(hfov, vfov) of the photo camera, as GIS Desk computes them from a 35 mm focal length."""
    from gis_desk.analysis.footprint import fov_from_focal_35mm

    return fov_from_focal_35mm(FOCAL_35MM, WIDTH / HEIGHT)


def load_ortho(path: Path) -> np.ndarray:
    """The ortho's RGB pixels (rows north to south), as ``make_drone_site`` drew them."""
    import rasterio

    if not path.exists():
        raise SystemExit(f"{path} is missing: run sample_surveys/make_drone_site.py first")
    with rasterio.open(path) as ds:
        return np.moveaxis(ds.read([1, 2, 3]), 0, -1)


def render_photo(sampler, cam_x: float, cam_y: float, cam_h: float, yaw: float, pitch: float,
                 hfov: float, vfov: float) -> np.ndarray:
    """RGB uint8 (HEIGHT, WIDTH, 3): each pixel's ray meets the flat ground ``cam_h`` m below."""
    rays = site.camera_rays(yaw, pitch, 0.0, hfov, vfov, WIDTH, HEIGHT)
    dz = rays[..., 2]
    hits = dz < -1e-6
    t = np.where(hits, cam_h / np.where(hits, -dz, 1.0), 1e5)
    X = cam_x + t * rays[..., 0]
    Y = cam_y + t * rays[..., 1]
    gx = np.abs(np.gradient(X, axis=1)) + np.abs(np.gradient(Y, axis=1))
    gy = np.abs(np.gradient(X, axis=0)) + np.abs(np.gradient(Y, axis=0))
    img = sampler.sample(X, Y, np.maximum(gx, gy))
    sky = np.array([196, 204, 214], np.float32)
    haze = (1.0 - np.exp(-(t * np.linalg.norm(rays, axis=-1)) / 1800.0))[..., None]
    img = img * (1 - haze) + sky * haze
    img[~hits] = sky
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _time(i: int) -> str:
    y, mo, d, h, mi, s = TIME0
    s += 3 * i  # one shot every 3 s
    return f"{y:04d}:{mo:02d}:{d:02d} {h:02d}:{mi + s // 60:02d}:{s % 60:02d}"


def _write_without_gps(path: Path, rgb: np.ndarray, *, rel_alt: float, yaw: float, pitch: float,
                       when: str, focal_px: float) -> None:
    """A DJI-style JPEG whose GPS had no fix: EXIF without a GPS IFD, XMP without positions."""
    from PIL import Image

    from gis_desk.io.photos import dji_xmp_packet

    img = Image.fromarray(rgb, "RGB")
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "DJI", MODEL, when
    sub = exif.get_ifd(0x8769)
    sub[0x9003], sub[0xA002], sub[0xA003] = when, WIDTH, HEIGHT
    sub[0x920A], sub[0xA405] = FOCAL_MM, int(FOCAL_35MM)
    xmp = dji_xmp_packet({"RelativeAltitude": float(rel_alt), "GimbalRollDegree": 0.0,
                          "GimbalYawDegree": float(yaw), "GimbalPitchDegree": float(pitch),
                          "FlightRollDegree": 0.0, "FlightYawDegree": float(yaw), "FlightPitchDegree": 0.0,
                          "CalibratedFocalLength": f"{focal_px:.6f}"})
    img.save(path, "JPEG", quality=QUALITY, exif=exif, xmp=xmp)


def make_photos(out_dir: str | Path = DEFAULT_OUT, ortho: str | Path | None = None) -> list[Path]:
    """Render and write every shot of ``SHOTS`` into ``out_dir``; returns the paths."""
    from gis_desk.core.crs import transform_xy
    from gis_desk.io.photos import write_dji_jpeg

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sampler = site._OrthoSampler(load_ortho(Path(ortho) if ortho else site.DEFAULT_OUT / "site_ortho.tif"))
    hfov, vfov = camera_fov()
    focal_px = (WIDTH / 2.0) / math.tan(math.radians(hfov) / 2.0)
    written = []
    for i, (name, lx, ly, rel, yaw, pitch, has_gps) in enumerate(SHOTS):
        x, y = site.X0 + lx, site.Y0 + ly
        rgb = render_photo(sampler, x, y, rel, yaw, pitch, hfov, vfov)
        path = out / name
        if has_gps:
            lon, lat = transform_xy(site.CRS, "EPSG:4326", x, y)
            write_dji_jpeg(path, rgb, lat=float(lat), lon=float(lon), abs_alt=site.GROUND_Z + rel, rel_alt=rel,
                           gimbal_yaw=yaw, gimbal_pitch=pitch, gimbal_roll=0.0, flight_yaw=yaw,
                           focal_mm=FOCAL_MM, focal_35mm=FOCAL_35MM, calibrated_focal_px=focal_px,
                           model=MODEL, time=_time(i), quality=QUALITY)
        else:
            _write_without_gps(path, rgb, rel_alt=rel, yaw=yaw, pitch=pitch, when=_time(i), focal_px=focal_px)
        written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--ortho", default=None, help="site_ortho.tif (default: sample_surveys/drone/)")
    args = parser.parse_args(argv)
    paths = make_photos(args.out, args.ortho)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} photos to {args.out} ({total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
