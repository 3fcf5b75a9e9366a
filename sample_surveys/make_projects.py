"""Write the sample projects that open the generated surveys, through ``Session.save``.

    .venv/bin/python sample_surveys/make_projects.py [--only bridge seawall site]

``bridge/bridge.gdesk`` and ``seawall/seawall.gdesk``
    Both survey epochs (epoch 2 as delivered, i.e. still misregistered), the inspection zones
    labelled by name, the stable areas to register on and the section lines.
``drone/site.gdesk``
    The drone site: orthomosaic, DSM with hillshade, the flight track linked to its clip, the
    geotagged photos with footprints, and for the planning and estates plugins a synthetic
    planning register (``site.planning.gpkg``), designations (``designations.gpkg``) and a
    synthetic council property portfolio (``site.estates.gpkg``, from ``site_assets.csv``).

Run after ``make_pointcloud_samples.py``, ``make_drone_site.py`` and ``make_drone_photos.py``:
this script only arranges what they wrote.  Fixed layer ids keep the files identical between runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))  # make_drone_site's constants

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
    from gis_desk.core.footage import FootageStyle

    session = Session()
    project = session.project
    project.title = "Drone survey of an application site (synthetic, Trafford)"
    layers = []
    for file, label, lid in (("site_ortho.tif", "Orthomosaic (0.2 m)", "siteortho001"),
                             ("site_dsm.tif", "Surface model (DSM)", "sitedsm00001")):
        if (folder / file).exists():
            [dataset] = session.read(folder / file)
            layer = session.layer_for(dataset, name=label, layer_id=lid)
            if file == "site_dsm.tif":  # shaded relief (the default for a DSM) over the imagery
                layer.opacity = 0.5
                layer.visible = False
            layers.append(layer)
    track = folder / "site_flight.SRT"
    if track.exists():
        [dataset] = session.read(track)
        track = session.layer_for(dataset, name="Flight track (site_flight.mp4)", layer_id="sitetrack001")
        track.style = FootageStyle(colour_by="height", direction_ticks=True)
        layers.append(track)
    photos = folder / "photos"
    if photos.is_dir():
        [dataset] = session.read(photos, reader="builtins.read_photos")
        layers.append(session.layer_for(dataset, name="Site photos", layer_id="sitephotos01"))
    for table, label, lid in (("conservation_areas", "Conservation areas (synthetic)", "siteconsarea1"),
                              ("listed_buildings", "Listed buildings (synthetic)", "sitelisted001")):
        [dataset] = session.read(write_designations(folder), layer=table)
        layer = session.layer_for(dataset, name=label, layer_id=lid)
        layer.visible = False
        layers.append(layer)
    [dataset] = session.read(write_planning_register(folder))
    layers.append(session.layer_for(dataset, name="Planning applications", layer_id="siteplanning1"))
    [dataset] = session.read(write_portfolio(folder))
    layers.append(session.layer_for(dataset, name="Council property", layer_id="siteestates01"))
    _plugin_styles(layers[-2:])
    if not layers:
        raise SystemExit(f"{folder}: nothing to arrange: run make_drone_site.py first")
    project.layers.extend(layers)
    project.view_extent = tuple(float(round(v)) for v in layers[0].bounds)
    target = folder / "site.gdesk"
    session.save(target)
    Path(str(target) + ".bak").unlink(missing_ok=True)
    return target


# -- plugin samples on the drone site (synthetic, local coordinates from make_drone_site) ----------
def _site_box(local: tuple[float, float, float, float]):
    from shapely.geometry import box

    from make_drone_site import X0, Y0

    x0, y0, x1, y1 = local
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def write_designations(folder: Path) -> Path:
    import geopandas as gpd
    from shapely.geometry import Point

    from make_drone_site import X0, Y0

    path = folder / "designations.gpkg"
    if path.exists():
        path.unlink()
    gpd.GeoDataFrame({"name": ["Moss Road Conservation Area"]}, geometry=[_site_box((0, 125, 160, 300))],
                     crs="EPSG:27700").to_file(path, layer="conservation_areas")
    gpd.GeoDataFrame({"name": ["Grade II: 14 Moss Road (villa, 1860s)"]}, geometry=[Point(X0 + 150, Y0 + 205)],
                     crs="EPSG:27700").to_file(path, layer="listed_buildings")
    return path


def write_planning_register(folder: Path) -> Path:
    import geopandas as gpd

    sys.path.insert(0, str(HERE.parent / "plugins" / "planning"))
    from gis_desk_planning.applications import PlanningRegister

    from make_drone_site import APP_SITE, STORE

    apps = gpd.GeoDataFrame({
        "reference": ["24/01234/FUL", "24/01301/FUL", "25/00077/ADV"],
        "address": ["Land at Moss Road (former depot)", "Retail unit, Moss Road", "Retail unit, Moss Road"],
        "uprn": [0, 0, 0],
        "proposal": ["Erection of 14 dwellings with access from Moss Road and landscaping",
                     "Single-storey extension to the rear of the retail unit",
                     "Two illuminated fascia signs"],
        "status": ["committee", "committee", "under consideration"],
        "decision": ["", "", ""],
        "committee_date": ["2025-03-12", "2025-03-12", ""],
    }, geometry=[_site_box(APP_SITE), _site_box((STORE[0], STORE[1], STORE[2], STORE[3])),
                 _site_box((STORE[0] + 2, STORE[3] - 6, STORE[0] + 12, STORE[3]))], crs="EPSG:27700")
    path = folder / "site.planning.gpkg"
    path.unlink(missing_ok=True)
    return PlanningRegister.create(path, apps).path


def write_portfolio(folder: Path) -> Path:
    sys.path.insert(0, str(HERE.parent / "plugins" / "estates"))
    from gis_desk_estates.portfolio import Portfolio
    from gis_desk_estates.register import import_register

    from make_drone_site import APP_SITE, CAR_PARK, STORE, X0, Y0

    def centre(b):
        return X0 + (b[0] + b[2]) / 2, Y0 + (b[1] + b[3]) / 2

    rows = [("SYN0001", "Former depot, Moss Road", "Land", "Vacant", APP_SITE, "", 2.2),
            ("SYN0002", "Moss Road car park", "Land", "Owner Occupied", CAR_PARK, "", 0.66),
            ("SYN0003", "Retail unit, Moss Road", "Buildings", "Leasehold Out", STORE, 1840.0, "")]
    csv = folder / "site_assets.csv"
    lines = ["AssetCode,PropertyName,StreetName,PostTown,PostCode,CoordinateReferenceSystem,GeoX,GeoY,"
             "TenureType,TenureDetail,HoldingType,BuildingSize,LandArea"]
    for code, name, holding, tenure, b, size, land in rows:
        x, y = centre(b)
        lines.append(f'{code},"{name}",Moss Road,Sale,M33 9ZZ,OSGB36,{x:.1f},{y:.1f},Freehold,{tenure},{holding},'
                     f"{size},{land}")
    csv.write_text("\n".join(lines) + "\n")
    frame, report = import_register(csv)
    path = folder / "site.estates.gpkg"
    path.unlink(missing_ok=True)
    portfolio = Portfolio.create(path, frame, report)
    portfolio.set_status("SYN0001", "for_sale", asking_price=1_150_000)
    portfolio.set_status("SYN0002", "to_let", annual_rent=36_000)  # offered to car-park operators
    portfolio.set_status("SYN0003", "leased", lease_expiry="2027-09-30", tenant="Moss Road Stores Ltd",
                         annual_rent=48_000)
    portfolio.save()
    return portfolio.path


def _plugin_styles(layers) -> None:
    sys.path.insert(0, str(HERE.parent / "plugins" / "planning"))
    sys.path.insert(0, str(HERE.parent / "plugins" / "estates"))
    from gis_desk_estates.portfolio import label_style, status_style as estates_style
    from gis_desk_planning.applications import status_style as planning_style

    layers[0].style = planning_style()
    layers[1].style = label_style(estates_style())


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
