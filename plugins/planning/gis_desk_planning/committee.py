"""Committee packs: one application or every application on a committee date (atlas style).

Each application gets a location map, its site boundary over the orthomosaic, the chosen key
frames from the drone footage with captions, the flight summary of each clip (checked against
the council's drone policy) and the officer's notes.  ``build_clip_bundle`` writes a zip that
members can open on any laptop without GIS Desk: the clips, the key frames, and an index.html
whose links start each clip at the bookmarked moments.
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from gis_desk.errors import ParameterError
from gis_desk.io.atomic import atomic_path


@dataclass
class KeyFrame:
    png: Path
    caption: str
    video: str
    time_s: float


@dataclass
class PackEntry:
    """Everything the pack shows for one application."""

    application: Any                          # a row of the register's applications
    location_png: Path | None = None
    site_png: Path | None = None
    key_frames: list[KeyFrame] = field(default_factory=list)
    flights: list[tuple[str, list[str]]] = field(default_factory=list)  # (clip name, summary lines)
    notes: list[tuple[str, str, str]] = field(default_factory=list)     # (written_at, author, text)
    constraints: list[str] = field(default_factory=list)


def extract_key_frame(video: str | Path, time_s: float, png: str | Path) -> Path:
    """The frame shown at ``time_s`` of ``video`` as a PNG (frame-exact, via PyAV)."""
    from PIL import Image

    from gis_desk.io.video import VideoReader

    with VideoReader(video) as reader:
        _, rgb = reader.frame_at_time(float(time_s))
    png = Path(png)
    Image.fromarray(np.ascontiguousarray(rgb)).save(png)
    return png


def map_png(layers, site, path: str | Path, *, margin_m: float = 60.0, size=(1200, 800), crs="EPSG:27700",
            outline: bool = True) -> Path:
    """``layers`` around ``site`` (grown by ``margin_m``) with the boundary drawn in red."""
    from PIL import Image

    from gis_desk.render.renderer import render_map
    from gis_desk.render.skia_util import stroke_paint, surface_for, unpremultiply
    from gis_desk.render.viewport import Viewport

    xmin, ymin, xmax, ymax = site.buffer(margin_m).bounds
    viewport = Viewport((xmin, ymin, xmax, ymax), size[0], size[1], crs)
    image = render_map(list(layers), viewport, background="#f4f1ea",
                       decorations={"layers": [], "legend": False, "scale_bar": True, "north_arrow": True,
                                    "attribution": None, "title": None})
    if outline:
        with surface_for(image) as canvas:
            paint = stroke_paint("#e31a1cff", 4)
            geoms = getattr(site, "geoms", [site])
            for g in geoms:
                ring = np.asarray(g.exterior.coords if g.geom_type == "Polygon" else g.buffer(8).exterior.coords)
                px = [viewport.world_to_pixel(x, y) for x, y in ring[:, :2]]
                for (x0, y0), (x1, y1) in zip(px[:-1], px[1:]):
                    canvas.drawLine(float(x0), float(y0), float(x1), float(y1), paint)
    Image.fromarray(unpremultiply(image)).save(path)
    return Path(path)


def flight_lines(layer) -> list[str]:
    """The flight summary of a footage layer as sentences (policy check included)."""
    try:
        from gis_desk.analysis.flight import flight_summary
    except ImportError:
        return ["Flight summary not available in this version of GIS Desk."]
    s = flight_summary(layer.dataset.telemetry)
    lines = [f"Duration {s.duration_s / 60:.1f} min, {s.distance_m:,.0f} m flown, maximum height "
             f"{s.max_height_m:.0f} m above take-off, furthest {s.max_distance_from_takeoff_m:,.0f} m from take-off."]
    lines += list(s.exceeds) or ["Within the council's drone policy limits."]
    return lines


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=False)


def build_committee_pack(entries: Sequence[PackEntry], pdf_path: str | Path, *, title: str = "",
                         council: str = "") -> Path:
    """One PDF: a cover listing the applications, then a section per application."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (Image, KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,
                                    TableStyle)

    if not entries:
        raise ParameterError("No applications to put in the committee pack")
    styles = getSampleStyleSheet()
    width = A4[0] - 36 * mm
    pdf_path = Path(pdf_path)

    def image(path, max_w, max_h):
        from PIL import Image as PILImage

        with PILImage.open(path) as im:
            w, h = im.size
        k = min(max_w / w, max_h / h)
        return Image(str(path), width=w * k, height=h * k)

    story: list = [Paragraph(_esc(title or "Planning committee"), styles["Title"]),
                   Paragraph(_esc(f"{council + ' · ' if council else ''}prepared {date.today():%d %B %Y}"),
                             styles["Normal"]), Spacer(1, 6 * mm)]
    cover = [["Reference", "Address", "Proposal", "Status"]] + [
        [Paragraph(_esc(e.application["reference"]), styles["Normal"]),
         Paragraph(_esc(e.application["address"]), styles["Normal"]),
         Paragraph(_esc(e.application["proposal"]), styles["Normal"]),
         Paragraph(_esc(e.application["status"]), styles["Normal"])] for e in entries]
    t = Table(cover, colWidths=[28 * mm, 45 * mm, width - 101 * mm, 28 * mm], repeatRows=1)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6ee")),
                           ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(t)
    for e in entries:
        a = e.application
        story += [PageBreak(), Paragraph(_esc(f"{a['reference']}: {a['address']}"), styles["Heading1"]),
                  Paragraph(_esc(a["proposal"]), styles["Normal"]), Spacer(1, 3 * mm)]
        facts = [("UPRN", str(a["uprn"] or "")), ("Status", a["status"]), ("Decision", a["decision"]),
                 ("Committee date", a["committee_date"])]
        ft = Table([[Paragraph(f"<b>{k}</b>", styles["Normal"]), Paragraph(_esc(v), styles["Normal"])]
                    for k, v in facts if str(v).strip() and str(v) != "0"], colWidths=[35 * mm, width - 35 * mm])
        ft.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
        story += [ft, Spacer(1, 3 * mm)]
        maps = []
        if e.location_png:
            maps.append([image(e.location_png, width / 2 - 3 * mm, 70 * mm), Paragraph("Location", styles["Italic"])])
        if e.site_png:
            maps.append([image(e.site_png, width / 2 - 3 * mm, 70 * mm),
                         Paragraph("Site boundary over the drone orthomosaic", styles["Italic"])])
        if maps:
            mt = Table([maps], colWidths=[width / 2] * len(maps))
            mt.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
            story.append(mt)
        if e.constraints:
            story += [Paragraph("Constraints", styles["Heading2"])] + [
                Paragraph("• " + _esc(c), styles["Normal"]) for c in e.constraints]
        if e.key_frames:
            cells = [[image(k.png, width / 2 - 4 * mm, 60 * mm),
                      Paragraph(_esc(f"{k.caption} ({Path(k.video).name} at {k.time_s:.1f} s)"), styles["Italic"])]
                     for k in e.key_frames]
            rows = [[cells[i], cells[i + 1] if i + 1 < len(cells) else ""] for i in range(0, len(cells), 2)]
            kt = Table(rows, colWidths=[width / 2, width / 2])
            kt.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story.append(KeepTogether([Paragraph("Drone footage: key frames", styles["Heading2"]), kt]))
        for clip, lines in e.flights:
            story += [Paragraph(_esc(f"Flight: {clip}"), styles["Heading3"])] + [
                Paragraph(_esc(line), styles["Normal"]) for line in lines]
        if e.notes:
            story.append(Paragraph("Officer's notes", styles["Heading2"]))
            story += [Paragraph(f"<i>{_esc(when)} {_esc(who)}</i>: {_esc(text)}", styles["Normal"])
                      for when, who, text in e.notes]
    with atomic_path(pdf_path, "the committee pack") as tmp:
        SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=15 * mm,
                          bottomMargin=15 * mm, title=title or "Planning committee pack").build(story)
    return pdf_path


def build_clip_bundle(entries: Sequence[PackEntry], clips: dict[str, list[tuple[float, str]]], zip_path: str | Path,
                      pdf: str | Path | None = None) -> Path:
    """Zip for presenting offline: ``clips`` maps a video path to its (time, note) bookmarks."""
    zip_path = Path(zip_path)
    missing = [v for v in clips if not Path(v).is_file()]
    if missing:
        raise ParameterError("Clips not found: " + ", ".join(missing))
    rows = []
    for video, marks in clips.items():
        name = Path(video).name
        links = "".join(f'<li><a href="#" onclick="play(\'{html.escape(name)}\', {t:.2f});return false">'
                        f'{t // 60:02.0f}:{t % 60:04.1f}</a> {_esc(note)}</li>' for t, note in marks)
        rows.append(f"<h2>{_esc(name)}</h2><video id=\"{html.escape(name)}\" src=\"clips/{html.escape(name)}\" "
                    f"controls width=\"640\"></video><ul>{links}</ul>")
    apps = "".join(f"<li>{_esc(e.application['reference'])}: {_esc(e.application['address'])}</li>" for e in entries)
    page = ("<!doctype html><meta charset=\"utf-8\"><title>Committee footage</title>"
            "<script>function play(id,t){var v=document.getElementById(id);v.currentTime=t;v.play();}</script>"
            f"<h1>Drone footage for committee</h1><ul>{apps}</ul>{''.join(rows)}"
            "<p>Open this page in any web browser; no internet connection is needed.</p>")
    # clips are already compressed: stored, not deflated
    with atomic_path(zip_path, "the clip bundle") as tmp, zipfile.ZipFile(tmp, "w") as zf:
        zf.writestr("index.html", page)
        for video in clips:
            zf.write(video, f"clips/{Path(video).name}")
        for e in entries:
            for k in e.key_frames:
                zf.write(k.png, f"key_frames/{Path(k.png).name}")
        if pdf:
            zf.write(pdf, Path(pdf).name)
        zf.writestr("bookmarks.json", json.dumps({Path(v).name: m for v, m in clips.items()}, indent=1))
    return zip_path


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="gis-desk-pack-"))


def remove_scratch(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
