"""The structural change report: a PDF of one two-epoch comparison for the engineer's file.

``build_change_report(result, pdf_path)`` lays out (reportlab, A4 portrait):

1. title block: site, epochs (labels and point counts), CRS, dates, GIS Desk version, and a
   one-paragraph summary naming the flagged elements;
2. site map (plan): epoch 1 in grey, M3C2 core points coloured by change, element outlines
   (flagged ones in red), stable areas and section lines; drawn here with matplotlib unless a
   PNG is given (e.g. the map canvas);
3. 3D snapshot coloured by change (``gis_desk.render.pointcloud_snapshot``) unless given;
4. per-element table: mean / median / max change, share significant, DoD volume change, flag;
5. histogram of M3C2 distances and the section profiles (both epochs per section line);
6. method and QA: M3C2 parameters (radii, and CloudCompare's diameters), the LoD formula,
   registration (method, RMS, overlap, error, 4x4 matrix), DoD figures and notes.

Change maps use one colouring everywhere: ``gis_desk.render.pointcloud.point_colours`` with a
diverging ramp symmetric about zero over +-``change_range(result)``.  Distances are epoch 2
minus epoch 1 along the M3C2 normal.  Images are made in a temporary folder; the PDF is
written to a temporary file beside ``pdf_path`` and moved into place, so a failed build never
leaves half a report.
"""

from __future__ import annotations

import datetime as _dt
import math
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from gis_desk.errors import DataError, WriterError
from gis_desk.io.atomic import atomic_path

CHANGE_RAMP = "RdBu"
_MM = 1000.0


# --- colouring of change -------------------------------------------------------------------------


def change_range(result) -> float:
    """Half-width (m) of the change colour scale: three times the engineer's threshold or 1.5
    times the median LoD95, whichever is larger, rounded up to 5 mm (so zero is white, noise is
    a pale tint and real change is saturated)."""
    threshold = float(getattr(result.settings, "threshold", 0.01) or 0.01)
    lod = result.m3c2.lod95
    lod_med = float(np.nanmedian(lod)) if np.isfinite(lod).any() else 0.0
    span = max(3 * threshold, 1.5 * lod_med, 0.005)
    return math.ceil(span * 200 - 1e-9) / 200.0


def change_style(result):
    from gis_desk.core.pointcloud import PointCloudStyle

    r = change_range(result)
    return PointCloudStyle(color_by="m3c2_distance", ramp=CHANGE_RAMP, value_range=[-r, r], point_size=2.0)


def change_cloud(result):
    """Epoch 1's preview points carrying the M3C2 distance of the nearest core point (NaN when
    no core point is within reach: grey in pictures), for dense pictures of sparse core points."""
    from scipy.spatial import cKDTree

    from gis_desk.core.pointcloud import PointCloud

    core, dist = result.m3c2.core, result.m3c2.distance
    pts = result.epoch1_preview if result.epoch1_preview is not None and len(result.epoch1_preview) else core
    ok = np.all(np.isfinite(core), axis=1)
    tree = cKDTree(core[ok])
    spacing = float(np.median(tree.query(core[ok][: min(5000, ok.sum())], k=2)[0][:, 1])) if ok.sum() > 1 else 0.0
    reach = max(2.0 * result.m3c2.params.cylinder_radius, 2.5 * spacing)
    gap, nearest = tree.query(pts, k=1, distance_upper_bound=reach)
    values = np.full(len(pts), np.nan)
    significant = np.zeros(len(pts), np.uint8)
    hit = np.isfinite(gap)
    values[hit] = dist[ok][nearest[hit]]
    significant[hit] = np.asarray(result.m3c2.significant)[ok][nearest[hit]]
    return PointCloud(np.asarray(pts, dtype=np.float64), {"m3c2_distance": values, "significant": significant},
                      result.crs)


# --- pictures ----------------------------------------------------------------------------------


def _epoch_names(result, epoch_names) -> tuple[str, str]:
    if epoch_names:
        return str(epoch_names[0]), str(epoch_names[1])
    labels = getattr(result.settings, "epoch_labels", None) or ("Epoch 1", "Epoch 2")
    return str(labels[0]), str(labels[1])


def _zone_frame(result):
    zones = result.zones if result.zones is not None else getattr(result.settings, "zones", None)
    return zones


def site_map_png(result, path: str | Path, *, width_in: float = 7.2, max_height_in: float = 7.5,
                 dpi: int = 170) -> Path:
    """A plan map of the comparison (see the module docstring) as a PNG.  Core points whose
    change is not significant are drawn faint, so the significant change stands out; element
    names sit in a column beside the map with leader lines (elements stack in plan)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize
    from matplotlib.figure import Figure

    from gis_desk.core.ramps import ramp_lut
    from gis_desk.render.pointcloud import point_colours

    path = Path(path)
    core = result.m3c2.core
    preview = result.epoch1_preview if result.epoch1_preview is not None and len(result.epoch1_preview) else core
    lo, hi = np.percentile(preview[:, :2], 0.2, axis=0), np.percentile(preview[:, :2], 99.8, axis=0)
    span = np.maximum(hi - lo, 1e-6)
    pad = 0.04 * float(span.max())
    # the data take the left ~70 % of the width; the labels and colour bar the rest
    aspect = (span[1] + 2 * pad) / (span[0] + 2 * pad)
    height_in = float(np.clip(width_in * 0.68 * aspect + 0.6, 3.0, max_height_in))
    fig = Figure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    step = max(1, len(preview) // 60_000)
    ax.scatter(preview[::step, 0], preview[::step, 1], s=0.3, c="#d2d2d2", linewidths=0, rasterized=True)
    style = change_style(result)
    cloud = result.m3c2.as_pointcloud(result.crs)
    colours = point_colours(cloud, style).astype(np.float64) / 255.0
    sig = np.asarray(result.m3c2.significant, bool) & np.isfinite(result.m3c2.distance)
    faint = ~sig & np.isfinite(result.m3c2.distance)
    ax.scatter(core[faint, 0], core[faint, 1], s=1.0, c=colours[faint, :3], alpha=0.35, linewidths=0,
               rasterized=True)
    order = np.flatnonzero(sig)[np.argsort(np.abs(result.m3c2.distance[sig]))]  # largest change on top
    ax.scatter(core[order, 0], core[order, 1], s=3.0, c=colours[order, :3], linewidths=0, rasterized=True)
    x0, x1 = lo[0] - pad, hi[0] + pad
    zones = _zone_frame(result)
    name_field = getattr(result.settings, "zone_name_field", "name")
    label_x = x1 + 0.06 * (x1 - x0)
    if zones is not None and len(zones):
        flagged = zones["exceeds"].to_numpy(bool) if "exceeds" in zones.columns else np.zeros(len(zones), bool)
        anchors = []
        for (_, row), flag in zip(zones.iterrows(), flagged):
            geom = row.geometry
            for poly in getattr(geom, "geoms", [geom]):
                x, y = poly.exterior.xy
                ax.plot(x, y, color="#c00000" if flag else "#505050", lw=1.5 if flag else 0.7, zorder=3)
            c = geom.centroid
            anchors.append((c.y, c.x, str(row.get(name_field, "")), bool(flag)))
        # labels in a column right of the data, in the anchors' north-south order, spread apart
        anchors.sort(key=lambda a: a[0])
        y0, y1 = lo[1] - pad, hi[1] + pad
        gap = (y1 - y0) / max(len(anchors) + 1, 8)
        ys = [a[0] for a in anchors]
        for i in range(1, len(ys)):
            ys[i] = max(ys[i], ys[i - 1] + gap)
        overflow = ys[-1] - (y1 - gap / 2) if ys else 0.0
        if overflow > 0:
            ys = [v - overflow for v in ys]
            for i in range(len(ys) - 2, -1, -1):
                ys[i] = min(ys[i], ys[i + 1] - gap)
        for (ay, axx, name, flag), ly in zip(anchors, ys):
            colour = "#c00000" if flag else "#303030"
            ax.annotate(name + ("  (flagged)" if flag else ""), xy=(axx, ay), xytext=(label_x, ly), fontsize=6.5,
                        color=colour, fontweight="bold" if flag else "normal", va="center", ha="left",
                        arrowprops=dict(arrowstyle="-", color=colour, lw=0.5, shrinkA=0, shrinkB=0), zorder=4)
    for i, area in enumerate(getattr(result.settings, "stable_areas", None) or []):
        for poly in getattr(area, "geoms", [area]):
            x, y = poly.exterior.xy
            ax.plot(x, y, color="#2e7d32", lw=0.9, ls="--", label="stable area (registration)" if i == 0 else None)
    lines = getattr(result.settings, "section_lines", None) or []
    for i, line in enumerate(lines):
        x, y = line.xy
        ax.plot(x, y, color="#1f4e9e", lw=1.1, label="section line" if i == 0 else None, zorder=5)
        ax.annotate(f"S{i + 1}", (x[0], y[0]), fontsize=7, color="#1f4e9e", fontweight="bold",
                    xytext=(-4, 2), textcoords="offset points", ha="right", zorder=5)
    ax.set_xlim(x0, label_x + 0.42 * (x1 - x0))
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(labelsize=6)
    ax.set_xlabel("Easting (m)", fontsize=7)
    ax.set_ylabel("Northing (m)", fontsize=7)
    if lines or getattr(result.settings, "stable_areas", None):
        ax.legend(loc="lower right", fontsize=6, framealpha=0.9)
    r = change_range(result)
    cmap = ListedColormap(ramp_lut(CHANGE_RAMP)[:, :3] / 255.0)
    bar = fig.colorbar(ScalarMappable(norm=Normalize(-r * _MM, r * _MM), cmap=cmap), ax=ax, shrink=0.6, pad=0.01)
    bar.set_label("M3C2 change (mm); faint: not significant", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    _north_arrow(ax)
    _scale_bar(ax, x0, lo[1] - pad, x1 - x0)
    return _save(fig, path, dpi)


def _scale_bar(ax, x0: float, y0: float, width: float) -> None:
    """A scale bar of a round length about a fifth of the map's width, bottom left."""
    target = width / 5.0
    length = max(v for v in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 2000, 5000) if v <= max(target, 1))
    ylim = ax.get_ylim()
    y = y0 + 0.03 * (ylim[1] - ylim[0])
    x = x0 + 0.03 * width
    ax.plot([x, x + length], [y, y], color="black", lw=2.0, solid_capstyle="butt", zorder=6)
    ax.annotate(f"{length:g} m", (x + length / 2, y), xytext=(0, 3), textcoords="offset points", ha="center",
                fontsize=6.5, zorder=6)


def _north_arrow(ax) -> None:
    ax.annotate("N", xy=(0.04, 0.95), xytext=(0.04, 0.86), xycoords="axes fraction", ha="center", fontsize=8,
                fontweight="bold", arrowprops=dict(arrowstyle="-|>", color="black", lw=1.0))


def _save(fig, path: Path, dpi: int) -> Path:
    with atomic_path(path, "the picture") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")
    return path


def change_snapshot_png(result, path: str | Path, *, width: int = 1500, height: int = 820,
                        azimuth: float | None = None, elevation: float = 22.0) -> Path:
    """An oblique 3D view of epoch 1 coloured by the M3C2 change, with its colour bar (mm)."""
    from gis_desk.render.pointcloud import colour_legend
    from gis_desk.render.pointcloud_snapshot import compose_png, snapshot

    cloud = change_cloud(result)
    style = change_style(result)
    from gis_desk.render.pointcloud import point_colours
    from gis_desk.render.pointcloud_snapshot import crop_to_content, fit_camera, render_points

    colours = point_colours(cloud, style)
    # as on the site plan: change within the level of detection is drawn faint
    faint = (cloud.attributes["significant"] == 0) & np.isfinite(cloud.attributes["m3c2_distance"])
    colours[faint, :3] = (colours[faint, :3] * 0.4 + 255 * 0.6).astype(np.uint8)
    camera = fit_camera(cloud.xyz, width, height, azimuth=azimuth, elevation=elevation)
    image = crop_to_content(render_points(cloud.xyz, colours, camera, point_size=3.0))
    entries = colour_legend(style)
    entries[0].label = "M3C2 change"
    return compose_png(image, path, entries=entries, unit_scale=_MM, unit="mm", dpi=150)


def _section_pngs(result, folder: Path) -> list[tuple[str, Path]]:
    """One PNG per section line with both epochs' profiles."""
    from gis_desk.analysis.section import plot_sections

    groups: dict[str, list] = {}
    for profile in result.sections:
        key = profile.label.split(":")[0].strip() if ":" in profile.label else profile.label
        groups.setdefault(key, []).append(profile)
    out = []
    for i, (label, profiles) in enumerate(groups.items()):
        if not any(len(p) for p in profiles):
            continue
        png = plot_sections(profiles, folder / f"section_{i + 1}.png", title=f"S{i + 1}: {label}",
                            figsize=(9.0, 3.0), dpi=150, point_size=1.5)
        out.append((f"S{i + 1}: {label}", Path(png)))
    return out


# --- the PDF -----------------------------------------------------------------------------------


def _fmt(value: Any, scale: float = 1.0, digits: int = 1, dash: str = "-") -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return dash
    if not math.isfinite(v):
        return dash
    return f"{v * scale:,.{digits}f}"


def _styles():
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("t", parent=base["Title"], fontSize=17, leading=21, spaceAfter=4, alignment=0),
        "subtitle": ParagraphStyle("st", parent=base["Normal"], fontSize=10, textColor=colors.HexColor("#444444"),
                                   spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=12.5, leading=15, spaceBefore=8, spaceAfter=4,
                             textColor=colors.HexColor("#1f3a5f")),
        "body": ParagraphStyle("b", parent=base["BodyText"], fontSize=8.8, leading=11.5),
        "small": ParagraphStyle("s", parent=base["BodyText"], fontSize=7.4, leading=9.2),
        "cell": ParagraphStyle("c", parent=base["BodyText"], fontSize=7.6, leading=9.2),
        "cellb": ParagraphStyle("cb", parent=base["BodyText"], fontSize=7.6, leading=9.2, fontName="Helvetica-Bold"),
        "caption": ParagraphStyle("cap", parent=base["BodyText"], fontSize=7.6, leading=9.4,
                                  textColor=colors.HexColor("#555555"), spaceBefore=2, spaceAfter=6),
        "mono": ParagraphStyle("m", parent=base["Code"], fontSize=7.6, leading=9.4),
    }


def _esc(text: Any) -> str:
    from xml.sax.saxutils import escape

    return escape(str(text))


def _table(rows, widths, *, header: bool = True, zebra: bool = True, align_right_from: int | None = None,
           highlight: Sequence[int] = ()):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    t = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    cmds = [("FONT", (0, 0), (-1, -1), "Helvetica", 7.8), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.HexColor("#999999")),
            ("TOPPADDING", (0, 0), (-1, -1), 2.2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.2)]
    if header:
        cmds += [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f3a5f")),
                 ("TEXTCOLOR", (0, 0), (-1, 0), colors.white), ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.8)]
    if zebra:
        for r in range(1 if header else 0, len(rows)):
            if r % 2 == 0:
                cmds.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f1f4f8")))
    for r in highlight:
        cmds.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#fde2e0")))
    if align_right_from is not None:
        cmds.append(("ALIGN", (align_right_from, 1 if header else 0), (-1, -1), "RIGHT"))
    t.setStyle(TableStyle(cmds))
    return t


def _image(path: Path, max_w: float, max_h: float):
    from reportlab.platypus import Image
    from reportlab.lib.utils import ImageReader

    iw, ih = ImageReader(str(path)).getSize()
    scale = min(max_w / iw, max_h / ih)
    img = Image(str(path), width=iw * scale, height=ih * scale)
    img.hAlign = "CENTER"
    return img


def _crs_label(crs) -> str:
    if crs is None:
        return "not recorded"
    try:
        from gis_desk.core.crs import crs_id, to_crs

        c = to_crs(crs)
        code = crs_id(c)
        return f"{c.name} ({code})" if code and code not in c.name else c.name
    except Exception:  # a CRS we cannot describe still gets printed
        return str(crs)[:80]


def _zone_rows(result, st) -> tuple[list, list[int]]:
    from reportlab.platypus import Paragraph

    zones = result.zones
    name_field = getattr(result.settings, "zone_name_field", "name")
    header = ["Element", "Core pts", "Mean (mm)", "Median (mm)", "Max |d| (mm)", "Significant", "DoD vol. (m3)",
              "Flag"]
    rows = [header]
    flagged = []
    for _, z in zones.iterrows():
        exceeds = bool(z.get("exceeds", False))
        reason = str(z.get("exceeds_reason", "") or "")
        flag = Paragraph(("<b>EXCEEDS</b>" + (f"<br/><font size=6.4>{_esc(reason)}</font>" if reason else ""))
                         if exceeds else "ok", st["cell"])
        share = z.get("share_significant")
        rows.append([
            Paragraph(_esc(z.get(name_field, "")), st["cellb" if exceeds else "cell"]),
            _fmt(z.get("n_points"), digits=0),
            _fmt(z.get("mean_change_m"), _MM), _fmt(z.get("median_change_m"), _MM),
            _fmt(z.get("max_abs_change_m"), _MM),
            "-" if share is None or not np.isfinite(float(share)) else f"{float(share) * 100:.1f} %",
            _fmt(z.get("volume_change_m3"), digits=3),
            flag,
        ])
        if exceeds:
            flagged.append(len(rows) - 1)
    return rows, flagged


def _summary_text(result, names) -> str:
    s = result.summary()
    flagged = s.get("flagged_zones") or []
    threshold = float(getattr(result.settings, "threshold", 0.01)) * _MM
    parts = [f"M3C2 measured change at {s['defined']:,} of {s['core_points']:,} core points; "
             f"{s['significant']:,} ({_fmt(s['share_significant'], 100)} %) are significant at 95 % "
             f"(median LoD95 {_fmt(s['median_lod95_m'], _MM)} mm)."]
    if result.zones is not None:
        if flagged:
            parts.append(f"<b>Elements flagged</b> (beyond {threshold:.0f} mm or the volume/lean limits): "
                         f"<b>{_esc(', '.join(flagged))}</b>.")
        else:
            parts.append(f"No element exceeds the {threshold:.0f} mm threshold or the volume/lean limits.")
    if result.dod is not None:
        parts.append(f"Ground DEM of difference: loss {_fmt(result.dod.loss_m3, digits=2)} m3, gain "
                     f"{_fmt(result.dod.gain_m3, digits=2)} m3, net {_fmt(result.dod.net_m3, digits=2)} m3 "
                     f"(significant cells only).")
    parts.append(f"Distances are {_esc(names[1])} minus {_esc(names[0])} along the surface normal: negative = "
                 f"material lost or surface moved away from the normal direction.")
    return " ".join(parts)


def _orientation_text(ori) -> str:
    if isinstance(ori, str):
        return {"up": "up (+z)"}.get(ori, ori)
    if isinstance(ori, (list, tuple)) and len(ori) == 2 and isinstance(ori[0], str):
        x, y, z = (float(v) for v in ori[1])
        return f"{ori[0]} point E {x:,.2f}, N {y:,.2f}, z {z:,.2f}"
    try:
        return "direction (" + ", ".join(f"{float(v):.3f}" for v in ori) + ")"
    except (TypeError, ValueError):
        return str(ori)


def _method_rows(result) -> list:
    p = result.m3c2.params
    s = result.settings
    core_desc = {"every_nth": f"every {getattr(s, 'core_n', '?')}th point of epoch 1",
                 "grid": f"grid {_fmt(getattr(s, 'core_spacing', None), digits=3)} m"}.get(
        getattr(s, "core_mode", ""), str(getattr(s, "core_mode", "")))
    rows = [
        ["Parameter", "Value", "CloudCompare equivalent"],
        ["Normal radius", f"{p.normal_radius:.3f} m", f"normal scale (diameter) {2 * p.normal_radius:.3f} m"],
        ["Projection (cylinder) radius", f"{p.cylinder_radius:.3f} m", f"projection scale (diameter) "
                                                                        f"{2 * p.cylinder_radius:.3f} m"],
        ["Max depth (half cylinder length)", f"{p.max_depth:.3f} m", f"max depth {p.max_depth:.3f} m"],
        ["Normal orientation", _orientation_text(p.normal_orientation), ""],
        ["Statistic", "median" if p.use_median else "mean", "use median" if p.use_median else ""],
        ["Min. points per cylinder", str(p.min_points), ""],
        ["Registration error in LoD", f"{_fmt(result.registration_error, _MM, 2)} mm", "registration error"],
        ["Core points", f"{len(result.m3c2.core):,} ({core_desc})", ""],
        ["Change threshold", f"{_fmt(getattr(s, 'threshold', None), _MM)} mm; flag when > "
                             f"{_fmt(getattr(s, 'min_share', None), 100)} % of an element's core points "
                             f"exceed it significantly", ""],
    ]
    if getattr(s, "volume_threshold", None) is not None:
        rows.append(["Volume limit", f"{s.volume_threshold:g} m3 significant DoD loss or gain", ""])
    if getattr(s, "lean_threshold_mrad", None) is not None:
        rows.append(["Lean limit", f"{s.lean_threshold_mrad:g} mrad (significant at 95 %)", ""])
    return rows


def _registration_flowables(result, st) -> list:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    reg = result.registration
    out: list = []
    if reg is None:
        out.append(Paragraph("No registration: epoch 2 was compared as delivered (same survey control "
                             "assumed).", st["body"]))
    else:
        d = reg.to_dict()
        rows = [["Quantity", "Value"],
                ["Method", d.get("method", "")],
                ["Iterations", str(d.get("iterations", ""))],
                ["RMS of residuals", f"{_fmt(d.get('rms'), _MM, 1)} mm"],
                ["Overlap (stable points matched)", f"{_fmt(d.get('overlap'), 100, 1)} %"],
                ["Correspondences", f"{int(d.get('n_correspondences', 0)):,}"],
                ["ICP registration error (1.4826 MAD)", f"{_fmt(d.get('registration_error'), _MM, 1)} mm"],
                ["Median residual", f"{_fmt(d.get('median_residual'), _MM, 2)} mm"],
                ["Rotation", f"{_fmt(d.get('rotation_mrad'), 1, 3)} mrad"],
                ["Registration error used in LoD", f"{_fmt(result.registration_error, _MM, 2)} mm: "
                                                   f"{result.registration_error_source or 'as given'}"]]
        rows = [[Paragraph(_esc(a), st["cell"]), Paragraph(_esc(b), st["cell"])] if i else [a, b]
                for i, (a, b) in enumerate(rows)]
        out.append(_table(rows, [62 * mm, 118 * mm]))
        out.append(Spacer(1, 3 * mm))
        m = np.asarray(reg.matrix, dtype=float)
        out.append(Paragraph("Transformation applied to epoch 2 (4x4, maps epoch 2 onto epoch 1; "
                             "CloudCompare .txt layout):", st["small"]))
        out.append(_matrix_table(m))
        if reg.notes:
            out.append(Paragraph("Registration notes: " + _esc("; ".join(reg.notes)), st["small"]))
    return out


def _matrix_table(m: np.ndarray):
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    t = Table([[f"{v:.8f}" for v in row] for row in m], colWidths=[30 * mm] * 4, hAlign="LEFT")
    t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "Courier", 7.6), ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
                           ("BOX", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                           ("TOPPADDING", (0, 0), (-1, -1), 1.2), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2)]))
    return t


def _numbered_canvas(title: str, version: str):
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas as _canvas

    class NumberedCanvas(_canvas.Canvas):
        """Writes 'page N of M' once the page count is known."""

        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            self._saved = []

        def showPage(self):  # noqa: N802 (reportlab's name)
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                w, _ = self._pagesize
                self.setFont("Helvetica", 7)
                self.setFillGray(0.4)
                self.drawString(15 * mm, 9 * mm, title[:110])
                self.drawRightString(w - 15 * mm, 9 * mm, f"GIS Desk {version}  |  page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def build_change_report(result, pdf_path: str | Path, *, site_map_png: str | Path | None = None,
                        snapshot_png: str | Path | None = None, title: str | None = None,
                        epoch_names: Sequence[str] | None = None, notes: Sequence[str] = (),
                        feedback=None) -> Path:
    """Write the PDF report of ``result`` (a ``gis_desk.analysis.change.ComparisonResult``) to
    ``pdf_path`` and return it.  ``site_map_png``/``snapshot_png`` replace the drawn map and 3D
    view; ``epoch_names`` replace the settings' epoch labels; ``notes`` are added to the notes.
    Raises ``WriterError`` naming the file when it cannot be written."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer

    import gis_desk

    pdf_path = Path(pdf_path)
    if pdf_path.suffix.lower() != ".pdf":
        raise WriterError("The report is written as a PDF: give a path ending in .pdf", path=pdf_path)
    if result is None or getattr(result, "m3c2", None) is None:
        raise DataError("There is no comparison to report: run the comparison first")
    names = _epoch_names(result, epoch_names)
    site = getattr(result.settings, "site", "") or "Survey site"
    title = title or f"Structural change report: {site}"
    version = str(getattr(gis_desk, "__version__", "?"))
    st = _styles()
    width = A4[0] - 30 * mm

    def progress(pct: float, msg: str | None = None) -> None:
        if feedback is not None:
            feedback.check_canceled()
            feedback.set_progress(pct)
            if msg:
                feedback.info(msg)

    with tempfile.TemporaryDirectory(prefix="gisdesk_report_") as tmp:
        folder = Path(tmp)
        progress(5, "Report: site map")
        map_png = Path(site_map_png) if site_map_png else site_map_png_default(result, folder)
        progress(25, "Report: 3D snapshot")
        snap_png = Path(snapshot_png) if snapshot_png else change_snapshot_png(result, folder / "snapshot.png")
        progress(55, "Report: histogram and sections")
        from gis_desk.analysis.change import plot_histogram

        hist_png = Path(plot_histogram(result, folder / "histogram.png", dpi=150))
        sections = _section_pngs(result, folder) if result.sections else []
        for p in [map_png, snap_png]:
            if not p.is_file():
                raise DataError("The picture for the report does not exist", path=p)

        story: list = []
        # 1. title block
        story.append(Paragraph(_esc(title), st["title"]))
        story.append(Paragraph(f"Two-epoch point-cloud comparison (M3C2) &middot; {_esc(names[0])} against "
                               f"{_esc(names[1])}", st["subtitle"]))
        n1, n2 = (getattr(result, "n_points", (0, 0)) or (0, 0))
        block = [["Site", site], ["Epoch 1 (reference)", f"{names[0]}  ({int(n1):,} points)"],
                 ["Epoch 2 (compared)", f"{names[1]}  ({int(n2):,} points)"],
                 ["Coordinate reference system", _crs_label(result.crs)],
                 ["Comparison run", result.created or "-"],
                 ["Report date", _dt.date.today().isoformat()],
                 ["Software", f"GIS Desk {version} (comparison made with {result.software_version})"]]
        block = [[Paragraph(f"<b>{_esc(a)}</b>", st["cell"]), Paragraph(_esc(b), st["cell"])] for a, b in block]
        story.append(_table(block, [48 * mm, width - 48 * mm], header=False))
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph("Summary", st["h2"]))
        story.append(Paragraph(_summary_text(result, names), st["body"]))
        # 2. site map
        story.append(Paragraph("Site plan", st["h2"]))
        story.append(_image(map_png, width, 150 * mm))
        story.append(Paragraph("Epoch 1 in grey; M3C2 core points coloured by change (blue gain, red loss, "
                               f"+/-{change_range(result) * _MM:.0f} mm); element outlines (red: flagged), stable "
                               "areas used for registration (green, dashed) and section lines (S1...). Grid north "
                               "up.", st["caption"]))
        story.append(PageBreak())
        # 3. 3D snapshot + 4. zone table
        story.append(Paragraph("3D view coloured by change", st["h2"]))
        story.append(_image(snap_png, width, 90 * mm))
        story.append(Paragraph("Oblique view of epoch 1; each point takes the change of its nearest core point, "
                               "faint where that change is within the level of detection (grey: no M3C2 result "
                               "nearby).", st["caption"]))
        if result.zones is not None and len(result.zones):
            story.append(Paragraph("Change per structural element", st["h2"]))
            rows, flagged = _zone_rows(result, st)
            widths = [30 * mm, 15 * mm, 17 * mm, 18 * mm, 19 * mm, 19 * mm, 20 * mm]
            widths.append(width - sum(widths))
            story.append(_table(rows, widths, align_right_from=1, highlight=flagged))
            story.append(Paragraph("Mean and median of the M3C2 distances of the element's core points (signed), "
                                   "largest absolute distance, share significant at 95 % (|d| > LoD95), and the "
                                   "significant DoD volume change inside the element's outline. Elements with a "
                                   "height band count only core points inside it.", st["caption"]))
        # 5. histogram and sections
        story.append(KeepTogether([
            Paragraph("Distribution of change", st["h2"]), _image(hist_png, width * 0.75, 62 * mm),
            Paragraph("Histogram of M3C2 distances of all core points (logarithmic counts when the tails are "
                      "thin); dashed: +/- median LoD95.", st["caption"])]))
        if sections:
            story.append(PageBreak())
            story.append(Paragraph("Sections", st["h2"]))
            for label, png in sections:
                story.append(KeepTogether([_image(png, width, 56 * mm),
                                           Paragraph(f"{_esc(label)}: both epochs (epoch 2 registered), strip "
                                                     f"width {getattr(result.settings, 'section_width', 0):g} m; "
                                                     "height exaggerated.", st["caption"])]))
        story.append(CondPageBreak(110 * mm))
        # 6. method and QA
        story.append(Paragraph("M3C2 parameters", st["h2"]))
        mrows = _method_rows(result)
        mrows = [mrows[0]] + [[Paragraph(_esc(c), st["cell"]) for c in row] for row in mrows[1:]]
        story.append(_table(mrows, [50 * mm, 75 * mm, width - 125 * mm]))
        story.append(Paragraph("Level of detection: LoD95 = 1.96 (sqrt(s1^2/n1 + s2^2/n2) + registration error), "
                               "with s1, s2 the spreads and n1, n2 the point counts of each epoch in the "
                               "cylinder (Lague et al. 2013; CloudCompare and py4dgeo convention). Radii are "
                               "given; CloudCompare's dialog asks for diameters.", st["caption"]))
        story.append(Paragraph("Registration quality", st["h2"]))
        story.extend(_registration_flowables(result, st))
        if result.dod is not None:
            story.append(Paragraph("DEM of difference", st["h2"]))
            dsum = result.dod.summary()
            drows = [["Cell", "LoD", "Cells compared", "Significant", "Loss (m3)", "Gain (m3)", "Net (m3)"],
                     [f"{dsum['cell_size_m']:g} m ({dsum['statistic']})", f"{_fmt(dsum['lod_m'], _MM)} mm",
                      f"{dsum['cells_compared']:,}", f"{dsum['cells_significant']:,}",
                      _fmt(dsum['loss_m3'], digits=3), _fmt(dsum['gain_m3'], digits=3),
                      _fmt(dsum['net_m3'], digits=3)]]
            story.append(_table(drows, [width / 7] * 7, align_right_from=2))
        all_notes = list(result.notes) + [str(n) for n in notes]
        timings = getattr(result, "timings", {}) or {}
        if timings.get("total") is not None:
            all_notes.append(f"Comparison computed in {timings['total']:.1f} s.")
        story.append(Paragraph("Notes", st["h2"]))
        for note in all_notes or ["None."]:
            story.append(Paragraph("&bull; " + _esc(note), st["body"]))
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph("This report records measured geometric change between two surveys. Change "
                               "below the level of detection cannot be told from survey noise; interpretation "
                               "of the structural significance rests with the responsible engineer.", st["small"]))

        progress(80, "Report: writing the PDF")
        with atomic_path(pdf_path, "the report") as tmp_pdf:
            doc = SimpleDocTemplate(str(tmp_pdf), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                                    topMargin=14 * mm, bottomMargin=16 * mm, title=title,
                                    author=f"GIS Desk {version}", subject=f"{site}: {names[0]} vs {names[1]}",
                                    creator=f"GIS Desk {version}")
            doc.build(story, canvasmaker=_numbered_canvas(title, version))
    progress(100)
    return pdf_path


def site_map_png_default(result, folder: Path) -> Path:
    return site_map_png(result, folder / "site_map.png")
