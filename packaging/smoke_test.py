"""Smoke test of a built or installed GIS Desk: its command line must work without a screen.

    python packaging/smoke_test.py                       # the gis-desk on PATH, else .venv's
    python packaging/smoke_test.py --exe dist/gis-desk/gis-desk     # a PyInstaller build
    python packaging/smoke_test.py --exe "C:/Users/me/AppData/Local/Programs/GIS Desk/gis-desk.exe"

Checks, each with a time limit:
1. ``gis-desk --version`` prints ``gis-desk X.Y.Z``;
2. ``gis-desk info FILE --json`` on the sample survey's LSOA GeoPackage (138 features in
   EPSG:27700), its asset register CSV (608 rows) and its basemap tile pyramid;
3. ``gis-desk render`` draws the sample project headless into a PNG that is not blank.

The sample survey is looked for in the build (``_internal/sample_surveys`` of a PyInstaller
one-folder build, ``sample_surveys`` beside an installed exe), then in this checkout; ``--sample``
names the folder.  Exits 0 when every check passes, 1 otherwise, printing one line per check.
Uses only the standard library, so it runs with any Python 3.11+.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 180
LSOA = "lsoa11_imd2019.gpkg"
ASSETS = "trafford_land_and_building_assets.csv"
BASEMAP = "basemap.gpkg"
PROJECT = "trafford.gdesk"


def default_exe() -> Path:
    on_path = shutil.which("gis-desk")
    if on_path:
        return Path(on_path)
    venv = REPO / ".venv" / ("Scripts/gis-desk.exe" if os.name == "nt" else "bin/gis-desk")
    return venv


def find_sample(exe: Path) -> Path:
    """The folder holding the Trafford sample: in the build first, then in the checkout."""
    base = exe.resolve().parent
    for candidate in (base / "_internal" / "sample_surveys" / "trafford", base / "sample_surveys" / "trafford",
                      REPO / "sample_surveys" / "trafford"):
        if (candidate / PROJECT).exists():
            return candidate
    raise SystemExit(f"smoke_test: no sample survey found near {exe} nor in {REPO} (give --sample)")


def run(exe: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")  # nothing here may need a screen
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=TIMEOUT_S, env=env)


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of raw pixel bytes) of an 8-bit, non-interlaced RGB or RGBA PNG, as
    the renderer writes, decoded with the standard library only.  Raises ValueError otherwise."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    if header is None:
        raise ValueError(f"{path} has no IHDR chunk")
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are checked")
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG row filter (None, Sub, Up, Average, Paeth)
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p_ = a + b - c
                pa, pb, pc = abs(p_ - a), abs(p_ - b), abs(p_ - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def png_is_not_blank(path: Path) -> bool:
    """True when the PNG has more than a handful of distinct colours (a drawn map, not a flat
    background)."""
    width, _, rows = png_pixels(path)
    bpp = len(rows[0]) // width
    colours = {row[i:i + 3] for row in rows[::4] for i in range(0, len(row), bpp * 4)}
    return len(colours) > 8


class Checks:
    def __init__(self) -> None:
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        print(f"{'ok  ' if ok else 'FAIL'}  {name}" + (f": {detail}" if detail and not ok else ""))
        self.failed += 0 if ok else 1


def info_json(checks: Checks, exe: Path, path: Path) -> dict | None:
    done = run(exe, "info", str(path), "--json")
    if done.returncode != 0:
        checks.check(f"gis-desk info {path.name}", False, (done.stderr or done.stdout).strip()[-500:])
        return None
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        checks.check(f"gis-desk info {path.name} --json", False, f"not JSON: {exc}")
        return None


def _count(summary) -> int | None:
    """The feature count of an info summary (a dict, or a list of per-layer dicts)."""
    if isinstance(summary, list):
        counts = [_count(s) for s in summary]
        return sum(c for c in counts if c is not None) if any(c is not None for c in counts) else None
    if isinstance(summary, dict):
        if isinstance(summary.get("count"), int):
            return summary["count"]
        for key in ("layers", "datasets"):
            if key in summary:
                return _count(summary[key])
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exe", type=Path, default=None, help="the gis-desk program to test")
    parser.add_argument("--sample", type=Path, default=None, help="the sample_surveys/trafford folder")
    args = parser.parse_args(argv)
    exe = args.exe or default_exe()
    if not exe.exists():
        print(f"smoke_test: {exe} does not exist (build it with 'make package' or install GIS Desk)")
        return 1
    sample = args.sample or find_sample(exe)
    print(f"smoke test of {exe} with {sample}")
    checks = Checks()

    done = run(exe, "--version")
    checks.check("gis-desk --version", done.returncode == 0 and re.search(r"gis-desk \d+\.\d+\.\d+", done.stdout)
                 is not None, (done.stdout + done.stderr).strip()[-300:])

    lsoa = info_json(checks, exe, sample / LSOA)
    if lsoa is not None:
        text = json.dumps(lsoa)
        checks.check("info: 138 LSOAs in EPSG:27700", _count(lsoa) == 138 and "EPSG:27700" in text, text[:300])
    assets = info_json(checks, exe, sample / ASSETS)
    if assets is not None:
        checks.check("info: 608 assets", _count(assets) == 608, json.dumps(assets)[:300])
    basemap = info_json(checks, exe, sample / BASEMAP)
    if basemap is not None:
        checks.check("info: basemap tiles in EPSG:27700", "EPSG:27700" in json.dumps(basemap), json.dumps(basemap)[:300])

    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "map.png"
        done = run(exe, "render", str(sample / PROJECT), "--out", str(png), "--size", "640x480")
        ok = done.returncode == 0 and png.exists() and png_is_not_blank(png)
        checks.check("gis-desk render the sample project", ok, (done.stderr or done.stdout).strip()[-500:])

    print("smoke test passed" if not checks.failed else f"smoke test FAILED: {checks.failed} check(s)")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
