"""Sale and lease brochures for a council property, and an offline bundle to share them.

The brochure (A4, reportlab) carries the property's name and address, the offer (for sale / to
let, price or rent), a location map rendered by GIS Desk's own renderer from the project's
layers with the property marked, drone stills of the site and its outlook, key facts and areas
in metric and imperial.  The bundle is a zip with the PDF, the full-size stills, the property
as GeoJSON and a short README, for sending to agents or bidders who have no GIS.
"""

from __future__ import annotations

import json
import math
import zipfile
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Sequence

from gis_desk.errors import ParameterError
from gis_desk.io.atomic import atomic_path

from gis_desk_estates.register import STATUS_LABELS

SQFT_PER_M2 = 10.7639
ACRES_PER_HA = 2.47105


def _value(prop: Any, key: str, default: Any = "") -> Any:
    try:
        v = prop[key]
    except (KeyError, IndexError):
        return default
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return default
    return v


def key_facts(prop: Any) -> list[tuple[str, str]]:
    """(label, value) rows of what a bidder asks first; empty values left out."""
    rows = [("Address", _value(prop, "address")), ("Postcode", _value(prop, "postcode")),
            ("UPRN", str(_value(prop, "uprn", 0) or "")), ("Council reference", _value(prop, "asset_code")),
            ("Tenure", _value(prop, "tenure")), ("Holding", _value(prop, "holding")),
            ("Current use", _value(prop, "use")), ("Energy rating (EPC)", _value(prop, "energy_rating"))]
    area = _value(prop, "building_m2", None)
    if area:
        rows.append(("Building area", f"{float(area):,.0f} m² ({float(area) * SQFT_PER_M2:,.0f} sq ft)"))
    land = _value(prop, "land_ha", None)
    if land:
        rows.append(("Site area", f"{float(land):,.2f} ha ({float(land) * ACRES_PER_HA:,.2f} acres)"))
    status = _value(prop, "status")
    if status == "for_sale" and _value(prop, "asking_price", None):
        rows.append(("Guide price", f"£{float(prop['asking_price']):,.0f}"))
    if status == "to_let" and _value(prop, "annual_rent", None):
        rows.append(("Rent", f"£{float(prop['annual_rent']):,.0f} per annum"))
    return [(k, str(v)) for k, v in rows if str(v).strip() and str(v) != "0"]


def location_map_png(layers, geometry, path: str | Path, *, crs: str = "EPSG:27700", half_width_m: float = 250.0,
                     size: tuple[int, int] = (1200, 800)) -> Path:
    """A map of ``layers`` (bottom first) around ``geometry`` with the property ringed."""
    from PIL import Image

    from gis_desk.render.renderer import render_map
    from gis_desk.render.skia_util import stroke_paint, surface_for, unpremultiply
    from gis_desk.render.viewport import Viewport

    c = geometry.centroid
    w, h = size
    half_h = half_width_m * h / w
    viewport = Viewport((c.x - half_width_m, c.y - half_h, c.x + half_width_m, c.y + half_h), w, h, crs)
    image = render_map(list(layers), viewport, background="#f4f1ea",
                       decorations={"layers": [], "legend": False, "scale_bar": True, "north_arrow": True,
                                    "attribution": None, "title": None})
    with surface_for(image) as canvas:
        px, py = viewport.world_to_pixel(c.x, c.y)
        canvas.drawCircle(float(px), float(py), 26, stroke_paint("#c81e1eff", 5))
    path = Path(path)
    Image.fromarray(unpremultiply(image)).save(path)
    return path


def build_brochure(prop: Any, pdf_path: str | Path, *, map_png: str | Path | None = None,
                   stills: Sequence[str | Path] = (), captions: Sequence[str] = (), contact: str = "",
                   council: str = "") -> Path:
    """Write the brochure for one property row (a mapping or pandas row) to ``pdf_path``."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    status = _value(prop, "status")
    if status not in ("for_sale", "to_let"):
        raise ParameterError(f"{_value(prop, 'name')} is {STATUS_LABELS.get(status, status)}, not for sale or to let",
                             hint="set its status to 'for sale' or 'to let' first")
    missing = [str(p) for p in [map_png, *stills] if p and not Path(p).is_file()]
    if missing:
        raise ParameterError("Brochure images not found: " + ", ".join(missing))
    pdf_path = Path(pdf_path)
    styles = getSampleStyleSheet()
    offer = "FOR SALE" if status == "for_sale" else "TO LET"
    story: list = [
        Paragraph(f"<font color='#b2182b'>{offer}</font>", styles["Title"]),
        Paragraph(_escape(_value(prop, "name")), styles["Heading1"]),
        Paragraph(_escape(", ".join(x for x in (_value(prop, "address"), _value(prop, "postcode")) if x)),
                  styles["Heading3"]),
        Spacer(1, 4 * mm),
    ]
    width = A4[0] - 40 * mm
    stills, captions = list(stills), list(captions)
    caption = lambda i: captions[i] if i < len(captions) else Path(stills[i]).stem  # noqa: E731
    if stills:  # the best view of the site leads
        story += [_image(Image, stills[0], width, 85 * mm), Paragraph(_escape(caption(0)), styles["Italic"]),
                  Spacer(1, 4 * mm)]
    facts = Table([[Paragraph(f"<b>{_escape(k)}</b>", styles["Normal"]), Paragraph(_escape(v), styles["Normal"])]
                   for k, v in key_facts(prop)], colWidths=[32 * mm, width / 2 - 36 * mm])
    facts.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                               ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f5")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    right = [_image(Image, map_png, width / 2 - 2 * mm, 70 * mm),
             Paragraph("Location (property ringed in red)", styles["Italic"])] if map_png else ""
    side = Table([[[Paragraph("Key facts", styles["Heading2"]), facts],
                   [Paragraph("Location", styles["Heading2"]), *right] if right else ""]],
                 colWidths=[width / 2, width / 2])
    side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story.append(side)
    if len(stills) > 1:
        cells = [[_image(Image, stills[i], width / 2 - 4 * mm, 60 * mm), Paragraph(_escape(caption(i)), styles["Italic"])]
                 for i in range(1, len(stills))]
        rows = [[cells[i], cells[i + 1] if i + 1 < len(cells) else ""] for i in range(0, len(cells), 2)]
        grid = Table(rows, colWidths=[width / 2, width / 2])
        grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [Spacer(1, 4 * mm), KeepTogether([Paragraph("More views of the site and its outlook (drone survey)",
                                                              styles["Heading2"]), grid])]
    footer = f"{council + ' · ' if council else ''}Particulars prepared {date.today():%d %B %Y}. " \
             "Areas are approximate and for guidance only." + (f" Contact: {contact}" if contact else "")
    story += [Spacer(1, 6 * mm), Paragraph(_escape(footer), styles["Normal"])]
    with atomic_path(pdf_path, "the brochure") as tmp:
        SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=15 * mm,
                          bottomMargin=15 * mm, title=f"{offer.title()}: {_value(prop, 'name')}",
                          author=council or "GIS Desk").build(story)
    return pdf_path


def _image(Image, path, max_w: float, max_h: float):
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        w, h = im.size
    scale = min(max_w / w, max_h / h)
    return Image(str(path), width=w * scale, height=h * scale)


def _escape(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_bundle(prop: Any, pdf: str | Path, stills: Iterable[str | Path], zip_path: str | Path, *,
                 crs: str = "EPSG:27700") -> Path:
    """A zip to share offline: brochure.pdf, images/, property.geojson (WGS84) and README.txt."""
    import geopandas as gpd

    zip_path = Path(zip_path)
    geometry = prop["geometry"] if "geometry" in prop else None
    feature = {"type": "FeatureCollection", "features": []}
    if geometry is not None:
        wgs = gpd.GeoSeries([geometry], crs=crs).to_crs("EPSG:4326").iloc[0]
        props = {k: v for k, v in key_facts(prop)}
        props["name"] = str(_value(prop, "name"))
        feature["features"].append({"type": "Feature", "properties": props,
                                    "geometry": json.loads(gpd.GeoSeries([wgs]).to_json())["features"][0]["geometry"]})
    readme = (f"{_value(prop, 'name')}\n{_value(prop, 'address')} {_value(prop, 'postcode')}\n\n"
              "brochure.pdf      the particulars\nimages/           drone stills at full size\n"
              "property.geojson  the property's location (WGS84), opens in any GIS or web map\n")
    with atomic_path(zip_path, "the bundle") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(pdf, "brochure.pdf")
        for still in stills:
            zf.write(still, f"images/{Path(still).name}")
        zf.writestr("property.geojson", json.dumps(feature, indent=1))
        zf.writestr("README.txt", readme)
    return zip_path
