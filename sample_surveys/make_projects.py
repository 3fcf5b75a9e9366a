"""Write the sample projects that open the generated surveys, through ``Session.save``.

    .venv/bin/python sample_surveys/make_projects.py [--only bridge seawall site]

``bridge/bridge.gdesk`` and ``seawall/seawall.gdesk``
    Both survey epochs (epoch 2 as delivered, i.e. still misregistered), the inspection zones
    labelled by name, the stable areas to register on and the section lines.
``drone/site.gdesk``
    The drone site: orthomosaic, DSM with hillshade, the flight track linked to its clip, and
    the geotagged photos with footprints (whichever of them exist).

Run after ``make_pointcloud_samples.py``, ``make_drone_site.py`` and ``make_drone_photos.py``:
this script only arranges what they wrote.  Fixed layer ids keep the files identical between runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gis_desk.core.style import LabelSettings, SingleSymbolStyle, Symbol  # noqa: E402
from gis_desk.session import Session  # noqa: E402

ZONE_STYLE = SingleSymbolStyle(Symbol(fill="#00000000", stroke="#d95f02ff", stroke_width=1.6),
                               labels=LabelSettings(field="name", size=8.0))
STABLE_STYLE = SingleSymbolStyle(Symbol(fill="#1b9e7740", stroke="#1b9e77ff", stroke_width=1.2))
SECTION_STYLE = SingleSymbolStyle(Symbol(stroke="#7570b3ff", stroke_width=2.0),
                                  labels=LabelSettings(field="name", size=8.0))


def _epoch_label(path: Path, number: int) -> str:
    date = path.stem.rsplit("_", 1)[-1]  # bridge_epoch1_2024-03 -> 2024-03
    return f"Epoch {number} ({date})"


def write_pointcloud_project(folder: Path, name: str, title: str) -> Path:
    session = Session()
    project = session.project
    project.title = title
    epochs = sorted(folder.glob(f"{name}_epoch*.laz"))
    if len(epochs) != 2:
        raise SystemExit(f"{folder}: expected two epochs {name}_epoch*.laz, found {len(epochs)}: "
                         "run make_pointcloud_samples.py first")
    layers = []
    for number, path in enumerate(epochs, start=1):
        [dataset] = session.read(path)
        layer = session.layer_for(dataset, name=_epoch_label(path, number), layer_id=f"{name}epoch{number}")
        layer.epoch_label = _epoch_label(path, number)
        layer.visible = number == 1  # one epoch at a time on the map; the 3D view compares
        layers.append(layer)
    for stem, label, style in (("stable_areas", "Stable areas (registration)", STABLE_STYLE),
                               ("zones", "Inspection zones", ZONE_STYLE),
                               ("sections", "Section lines", SECTION_STYLE)):
        [dataset] = session.read(folder / f"{stem}.gpkg")
        layer = session.layer_for(dataset, name=label, layer_id=f"{name}{stem}"[:16])
        layer.style = style
        layers.append(layer)
    project.layers.extend(layers)
    xmin, ymin, xmax, ymax = layers[0].bounds
    pad = 0.1 * max(xmax - xmin, ymax - ymin)
    project.view_extent = (round(xmin - pad), round(ymin - pad), round(xmax + pad), round(ymax + pad))
    target = folder / f"{name}.gdesk"
    session.save(target)
    Path(str(target) + ".bak").unlink(missing_ok=True)
    return target


def write_site_project(folder: Path) -> Path:
    from gis_desk.core.style import RasterStyle

    session = Session()
    project = session.project
    project.title = "Drone survey of an application site (synthetic, Trafford)"
    layers = []
    for file, label, lid in (("site_ortho.tif", "Orthomosaic (0.2 m)", "siteortho001"),
                             ("site_dsm.tif", "Surface model (DSM)", "sitedsm00001")):
        if (folder / file).exists():
            [dataset] = session.read(folder / file)
            layer = session.layer_for(dataset, name=label, layer_id=lid)
            if file == "site_dsm.tif" and "hillshade" in RasterStyle.__dataclass_fields__:
                layer.style = RasterStyle(**{**_raster_style_fields(layer.style), "hillshade": True})
                layer.opacity = 0.6
            layers.append(layer)
    track = folder / "site_flight.SRT"
    if track.exists():
        [dataset] = session.read(track)
        layers.append(session.layer_for(dataset, name="Flight track (site_flight.mp4)", layer_id="sitetrack001"))
    photos = folder / "photos"
    if photos.is_dir():
        [dataset] = session.read(photos, reader="builtins.read_photos")
        layers.append(session.layer_for(dataset, name="Site photos", layer_id="sitephotos01"))
    if not layers:
        raise SystemExit(f"{folder}: nothing to arrange: run make_drone_site.py first")
    project.layers.extend(layers)
    project.view_extent = tuple(float(round(v)) for v in layers[0].bounds)
    target = folder / "site.gdesk"
    session.save(target)
    Path(str(target) + ".bak").unlink(missing_ok=True)
    return target


def _raster_style_fields(style) -> dict:
    from dataclasses import fields

    return {f.name: getattr(style, f.name) for f in fields(style)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=("bridge", "seawall", "site"),
                        default=["bridge", "seawall", "site"])
    args = parser.parse_args(argv)
    if "bridge" in args.only:
        print(write_pointcloud_project(HERE / "bridge", "bridge",
                                       "Masonry arch bridge: two survey epochs (synthetic)"))
    if "seawall" in args.only:
        print(write_pointcloud_project(HERE / "seawall", "seawall", "Seawall: two survey epochs (synthetic)"))
    if "site" in args.only:
        print(write_site_project(HERE / "drone"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
