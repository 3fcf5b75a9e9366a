"""Synthetic planning data with known answers: applications, a drone clip with its SRT flying
over one site, designations."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Point, box

from gis_desk.core.crs import transform_xy

# Two sites in Sale (British National Grid); the drone flies north over site A only.
SITE_A = box(378000, 392000, 378060, 392050)
SITE_B = box(378600, 392600, 378640, 392640)
FPS = 25
SECONDS = 8


def write_applications_csv(path: Path) -> Path:
    path.write_text(
        "Reference,Site Address,UPRN,Proposal,Status,Decision,Committee Date\n"
        "24/0001/FUL,1 Mill Lane Sale,100012700001,Erection of 12 dwellings,committee,,2025-02-12\n"
        "24/0002/HHA,2 High St Sale,100012700002,Two-storey rear extension,under consideration,,2025-02-12\n"
        "24/0003/OUT,Land off Moss Rd,,Outline: 40 dwellings,validated,,\n"
        "24/0004/FUL,4 Nowhere St,12ab,Change of use,received,,\n")
    return path


def write_boundaries(path: Path) -> Path:
    frame = gpd.GeoDataFrame({"reference": ["24/0001/FUL", "24/0002/HHA"], "proposal": ["12 dwellings", "extension"]},
                             geometry=[SITE_A, SITE_B], crs="EPSG:27700")
    frame.to_file(path)
    return path


class Gazetteer:
    def __init__(self, table):
        self.table = table

    def lookup(self, uprns):
        uprns = np.asarray(uprns)
        found = np.array([u in self.table for u in uprns])
        return (found, np.array([self.table.get(u, (np.nan, np.nan))[0] for u in uprns]),
                np.array([self.table.get(u, (np.nan, np.nan))[1] for u in uprns]))


GAZETTEER = Gazetteer({100012700001: (378030.0, 392025.0), 100012700002: (378620.0, 392620.0)})


def write_flight(folder: Path) -> tuple[Path, Path]:
    """A numbered clip and its DJI per-frame SRT: the drone flies north along x = 378030 from
    y = 391900 to 392150 at 50 m, so it is over site A from about 3.2 s to 6.0 s."""
    from gis_desk.io.video import write_numbered_clip

    video = write_numbered_clip(folder / "DJI_0001.MP4", seconds=SECONDS, fps=FPS)
    n = SECONDS * FPS
    y = np.linspace(391900, 392150, n)
    lon, lat = transform_xy("EPSG:27700", "EPSG:4326", np.full(n, 378030.0), y)
    cues = []
    for i in range(n):
        t0, t1 = i / FPS, (i + 1) / FPS
        stamp = lambda t: f"00:00:{int(t):02d},{int(round((t % 1) * 1000)):03d}"  # noqa: E731
        cues.append(f"{i + 1}\n{stamp(t0)} --> {stamp(t1)}\n<font size=\"28\">FrameCnt: {i + 1}, DiffTime: 40ms\n"
                    f"2024-06-05 14:23:{10 + int(t0):02d}.{int((t0 % 1) * 1000):03d}\n"
                    f"[iso: 100] [focal_len: 24.00] [latitude: {lat[i]:.7f}] [longitude: {lon[i]:.7f}] "
                    f"[rel_alt: 50.000 abs_alt: 80.000] [gb_yaw: 0.0 gb_pitch: -90.0 gb_roll: 0.0] </font>\n")
    srt = folder / "DJI_0001.SRT"
    srt.write_text("\n".join(cues))
    return video, srt


def designations() -> dict[str, gpd.GeoDataFrame]:
    conservation = gpd.GeoDataFrame({"name": ["Sale Town Centre CA"]}, geometry=[box(377980, 391990, 378100, 392100)],
                                    crs="EPSG:27700")
    listed = gpd.GeoDataFrame({"name": ["Grade II: The Old Mill", "Grade II: Far Cottage"]},
                              geometry=[Point(378090, 392030), Point(379500, 393500)], crs="EPSG:27700")
    return {"Conservation areas": conservation, "Listed buildings": listed}
