"""Headless rendering of a whole project to an image or a PNG (``gis-desk render``).

Uses exactly the renderer the Qt canvas uses (``render_map``); nothing here imports Qt.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gis_desk.errors import DataError, WriterError
from gis_desk.render.renderer import render_map
from gis_desk.render.skia_util import unpremultiply
from gis_desk.render.viewport import Viewport

DEFAULT_MARGIN = 0.03  # fraction of the extent added on each side when fitting to the data


def project_viewport(project, width: int, height: int, extent=None) -> Viewport:
    """The viewport showing ``extent`` (project CRS), else the project's saved view, else the
    full extent of its visible layers.  Raises ``DataError`` when there is nothing to show."""
    margin = 0.0
    if extent is None:
        extent = project.view_extent
    if extent is None:
        extent = project.full_extent(visible_only=True)
        margin = DEFAULT_MARGIN
    if extent is None:
        raise DataError("The project has no visible layer with data to draw",
                        path=project.path, hint="add a layer or make one visible, or give an extent")
    xmin, ymin, xmax, ymax = (float(v) for v in extent)
    if not (xmax >= xmin and ymax >= ymin):
        raise DataError(f"The extent {tuple(extent)} is not xmin, ymin, xmax, ymax",
                        hint="give the smaller coordinates first")
    return Viewport.fit((xmin, ymin, xmax, ymax), width, height, project.crs, margin=margin)


def render_project(project, width: int, height: int, extent=None, decorations: bool | dict = True) -> np.ndarray:
    """The project's map as a premultiplied RGBA array (height, width, 4).

    ``extent`` (xmin, ymin, xmax, ymax) is in the project CRS; default the saved view or all
    visible layers.  ``decorations`` True draws a scale bar, north arrow and legend; a dict
    passes ``draw_decorations`` options; False draws none.  Raises ``DataError`` when there is
    nothing to draw, ``ValueError`` for a non-positive size.
    """
    viewport = project_viewport(project, width, height, extent)
    if decorations is True:
        decorations = {"scale_bar": True, "north_arrow": True, "legend": True}
    return render_map(list(project.layers), viewport, background="#ffffff", decorations=decorations or None)


def write_png(image: np.ndarray, out_path: str | Path) -> Path:
    """Write a premultiplied RGBA image as a PNG (straight alpha).  Raises ``WriterError``."""
    from PIL import Image

    out = Path(out_path)
    if not out.parent.exists():
        raise WriterError("The folder to write the image into does not exist", path=out,
                          hint="create the folder or choose another path")
    try:
        Image.fromarray(unpremultiply(image), mode="RGBA").save(out, format="PNG")
    except OSError as exc:
        raise WriterError(f"The image could not be written: {exc.strerror or exc}", path=out,
                          hint="check the folder is writable and the disk not full") from exc
    return out


def render_project_file(project_path: str | Path, out_path: str | Path, width: int = 1920, height: int = 1080,
                        extent=None, session=None) -> Path:
    """Render a project file (``.gdesk``; any other data file is opened as a one-file project)
    to a PNG at ``out_path`` and return that path.

    Missing data files become broken layers, which are left out of the map.  Raises
    ``ProjectFileError`` / ``ReaderError`` for files that cannot be opened, ``DataError`` when
    nothing can be drawn, ``WriterError`` when the PNG cannot be written.
    """
    from gis_desk.session import PROJECT_SUFFIX, Session

    session = session or Session()
    path = Path(project_path)
    if path.suffix.lower() == PROJECT_SUFFIX:
        session.load(path)
    else:
        session.new_project()
        session.open(path)
    image = render_project(session.project, int(width), int(height), extent=extent)
    return write_png(image, out_path)
