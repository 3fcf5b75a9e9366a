"""What an officer reviews for one application, gathered from the open project (Qt-free).

``site_media`` finds the photos and the stretches of footage that show the site; ``pack_entry``
turns an application into a committee-pack section: maps, key frames (the ones the officer chose,
else the footage bookmarks made over the site), flight summaries, constraints and notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gis_desk.analysis.site_media import FootageInterval, PhotoHit, footage_near, photos_near
from gis_desk.core.footage import FootageLayer
from gis_desk.core.photos import PhotoLayer

from gis_desk_planning.applications import PlanningRegister, check_constraints
from gis_desk_planning.committee import KeyFrame, PackEntry, extract_key_frame, flight_lines, map_png


@dataclass
class SiteMedia:
    photos: list[tuple[PhotoLayer, PhotoHit]] = field(default_factory=list)
    footage: list[tuple[FootageLayer, list[FootageInterval]]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.photos and not self.footage


def site_of(register: PlanningRegister, reference: str):
    geom = register.applications.geometry.iloc[register.row(reference)]
    return geom


def site_media(layers, site, distance: float = 30.0) -> SiteMedia:
    media = SiteMedia()
    if site is None:
        return media
    for layer in layers:
        if layer.is_broken or layer.dataset is None:
            continue
        if isinstance(layer, PhotoLayer):
            media.photos += [(layer, hit) for hit in photos_near(layer.dataset, site, distance)]
        elif isinstance(layer, FootageLayer):
            intervals = footage_near(layer, site, distance)
            if intervals:
                media.footage.append((layer, intervals))
    return media


def _bookmarks_over_site(layer: FootageLayer, intervals: list[FootageInterval], slack_s: float = 1.0):
    return [b for b in layer.bookmarks
            if any(iv.start_s - slack_s <= b.time_s <= iv.end_s + slack_s for iv in intervals)]


def pack_entry(register: PlanningRegister, reference: str, layers, workdir: Path, *,
               designations: dict | None = None, distance: float = 30.0) -> "PackEntry":
    app = register.applications.iloc[register.row(reference)]
    site = app.geometry
    entry = PackEntry(application=app)
    notes = register.notes_for(reference)
    entry.notes = [(r.written_at, r.author, r.text) for r in notes.itertuples()]
    if site is None:
        return entry
    layers = [la for la in layers if not la.is_broken and la.visible]
    context = [la for la in layers if not isinstance(la, (FootageLayer, PhotoLayer))]
    safe = "".join(ch if ch.isalnum() else "_" for ch in reference)
    entry.location_png = map_png(context, site, workdir / f"{safe}_location.png", margin_m=300.0, size=(900, 700))
    rasters = [la for la in context if type(la).__name__ == "RasterLayer"]
    footage_layers = [la for la in layers if isinstance(la, FootageLayer)]
    entry.site_png = map_png(rasters + footage_layers, site, workdir / f"{safe}_site.png", margin_m=40.0,
                             size=(900, 700))
    media = site_media(layers, site, distance)
    chosen = register.key_frames_for(reference)
    frames = [(r.video, r.time_s, r.caption) for r in chosen.itertuples()]
    if not frames:  # the officer's bookmarks over the site stand in for chosen frames
        for layer, intervals in media.footage:
            if layer.video_path:
                frames += [(layer.video_path, b.time_s, b.note) for b in _bookmarks_over_site(layer, intervals)]
    for n, (video, t, caption) in enumerate(frames):
        png = extract_key_frame(video, t, workdir / f"{safe}_frame{n:02d}.png")
        entry.key_frames.append(KeyFrame(png, caption, str(video), float(t)))
    entry.flights = [(Path(layer.video_path or layer.name).name, flight_lines(layer)) for layer, _ in media.footage]
    if designations:
        entry.constraints = [f"{h.layer}: {h.feature}, {h.relation}" for h in check_constraints(site, designations)]
    return entry


def clip_bookmarks(entries_media: list[SiteMedia]) -> dict[str, list[tuple[float, str]]]:
    """Video path -> bookmarks (time, note) of every clip that shows one of the sites."""
    clips: dict[str, list[tuple[float, str]]] = {}
    for media in entries_media:
        for layer, intervals in media.footage:
            if layer.video_path:
                marks = [(b.time_s, b.note) for b in layer.bookmarks] or [(iv.start_s, "over the site")
                                                                            for iv in intervals]
                clips.setdefault(layer.video_path, marks)
    return clips
