"""The Qt-free facade that the GUI, the CLI and the tests all drive.

A ``Session`` owns one ``Project``, the ``PluginManager`` and the ``UndoStack``.  It opens
files through the reader contributions of active plugins, wraps datasets in layers, runs
processing algorithms, and saves/loads project files.  It never touches widgets.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable

from gis_desk.core.commands import AddLayers, MoveLayer, RemoveLayers, SetLayerProperty, UndoStack
from gis_desk.core.datasets import Dataset
from gis_desk.core.layer import BrokenLayer, Layer, layer_class_for
from gis_desk.core.project import Project
from gis_desk.errors import MissingFileError, MultipleReadersError, NoReaderError
from gis_desk.plugin_api.manager import PluginManager

log = logging.getLogger(__name__)
PROJECT_SUFFIX = ".gdesk"


class Session:
    def __init__(self, project: Project | None = None, plugins: PluginManager | None = None) -> None:
        self.project = project or Project()
        self.plugins = plugins if plugins is not None else PluginManager.from_entry_points()
        self.undo_stack = UndoStack()

    # -- reading -------------------------------------------------------------------------------
    def choose_reader(self, path: str | Path, reader: str | None = None) -> str:
        """The reader command id for ``path``.

        Raises ``MissingFileError`` if the path does not exist, ``NoReaderError`` if no active
        reader claims it, ``MultipleReadersError`` if several claim it at the same priority.
        """
        path = Path(path)
        if not path.exists():
            raise MissingFileError("The file does not exist", path=path,
                                   hint="it may have been moved, renamed or be on a drive that is not connected")
        if reader:
            return reader
        found = self.plugins.readers_for(path)
        if not found:
            raise NoReaderError("No reader for this kind of file", path=path,
                                hint="see Help > Supported formats, or install a plugin that reads it")
        best = int(found[0].data.get("priority", 0))
        tied = [c for c in found if int(c.data.get("priority", 0)) == best]
        if len(tied) > 1:
            ids = [c.data["command"] for c in tied]
            raise MultipleReadersError(f"Several readers can open this file: {', '.join(ids)}",
                                       path=path, candidates=ids, hint="choose one")
        return found[0].data["command"]

    def read(self, path: str | Path, *, crs: Any = None, reader: str | None = None, **options) -> list[Dataset]:
        """Datasets in ``path`` (not added to the project).  ``crs`` is used only when the file
        has none; a file without a CRS and no ``crs`` raises ``MissingCrsError``."""
        command = self.choose_reader(path, reader)
        if crs is not None:
            options["crs"] = crs
        datasets = self.plugins.call(command, str(Path(path).resolve()), **options)
        for ds in datasets:
            ds.source.reader = command
        return datasets

    def open(self, path: str | Path, *, crs: Any = None, reader: str | None = None, **options) -> list[Layer]:
        """Open a project file (replacing the current project) or add a data file's layers.

        Returns the layers added (for a project: all its layers).
        """
        if Path(path).suffix.lower() == PROJECT_SUFFIX:
            self.load(path)
            return list(self.project.layers)
        layers = [self.layer_for(ds) for ds in self.read(path, crs=crs, reader=reader, **options)]
        self.add_layers(layers)
        return layers

    @staticmethod
    def layer_for(dataset: Dataset, **kw) -> Layer:
        return layer_class_for(dataset)(dataset, **kw)

    # -- undoable edits ------------------------------------------------------------------------
    def add_layers(self, layers: Iterable[Layer], index: int | None = None) -> None:
        layers = list(layers)
        if layers:
            self.undo_stack.push(AddLayers(self.project.layers, layers, index))

    def remove_layers(self, layers: Iterable[Layer]) -> None:
        layers = list(layers)
        if layers:
            self.undo_stack.push(RemoveLayers(self.project.layers, layers))

    def move_layer(self, src: int, dst: int) -> None:
        """Move the layer at index ``src`` so it ends at index ``dst`` (0 = bottom)."""
        if src != dst:
            self.undo_stack.push(MoveLayer(self.project.layers, src, dst))

    def set_layer_property(self, layer: Layer, prop: str, value: Any) -> None:
        """Undoably set ``name``, ``visible``, ``opacity`` or ``style``."""
        if prop not in {"name", "visible", "opacity", "style"}:
            raise ValueError(f"{prop!r} is not an editable layer property")
        self.undo_stack.push(SetLayerProperty(layer, prop, value))

    def repoint_layer(self, layer: BrokenLayer, new_path: str | Path, *, crs: Any = None) -> Layer:
        """Replace a broken layer by the same layer read from ``new_path``; keeps name, style,
        visibility, opacity and position.  Raises the reader's error if the new file is bad."""
        from gis_desk.core.layer import restore_style

        options = dict(layer.source.options)
        options.pop("crs", None)
        datasets = self.read(new_path, crs=crs or layer.source.options.get("crs"), **options)
        fixed = self.layer_for(datasets[0], name=layer.name, visible=layer.visible,
                               opacity=layer.opacity, layer_id=layer.id)
        restore_style(fixed, layer.record.get("style"))
        index = self.project.layers.index(layer)
        self.project.layers[index] = fixed
        return fixed

    # -- projects ------------------------------------------------------------------------------
    def new_project(self, crs: Any = None) -> Project:
        self.project.reset(crs=crs or self.project.crs)
        self.undo_stack.clear()
        return self.project

    def save(self, path: str | Path | None = None) -> Path:
        """Write the project (atomically); ``path`` defaults to where it was loaded from."""
        from gis_desk.io.project_file import save_project

        target = Path(path) if path else self.project.path
        if target is None:
            raise ValueError("The project has never been saved: give a path")
        if target.suffix.lower() != PROJECT_SUFFIX:
            target = target.with_suffix(PROJECT_SUFFIX)
        save_project(self.project, target)
        self.project.path = target
        self.project.mark_dirty(False)
        return target

    def load(self, path: str | Path) -> Project:
        """Replace the current project by the one in ``path``.

        Missing or unreadable data files become ``BrokenLayer``s (never dropped).  A project file
        that is not valid raises ``ProjectFileError`` and leaves the current project untouched.
        """
        from gis_desk.io.project_file import read_project

        loaded = read_project(path, self)  # raises before anything changes
        self.project.reset(crs=loaded.crs, title=loaded.title)
        for attr in ("bookmarks", "view_extent", "export_log", "plugin_data"):
            setattr(self.project, attr, getattr(loaded, attr))
        self.project.layers.extend(list(loaded.layers))
        self.project.path = Path(path).resolve()
        self.project.mark_dirty(False)
        self.undo_stack.clear()
        return self.project

    # -- processing ----------------------------------------------------------------------------
    def algorithm(self, algorithm_id: str):
        """An instance of the algorithm declared under ``algorithm_id`` by an active plugin."""
        from gis_desk.processing.registry import create_algorithm

        return create_algorithm(self.plugins, algorithm_id)

    def run_algorithm(self, algorithm_id: str, params: dict[str, Any], feedback=None,
                      add_outputs: bool = False) -> dict[str, Any]:
        """Run an algorithm; with ``add_outputs`` open its output files as layers."""
        from gis_desk.processing.run import run_algorithm

        outputs = run_algorithm(self.algorithm(algorithm_id), params, feedback)
        if add_outputs:
            for value in outputs.values():
                if isinstance(value, str) and Path(value).exists():
                    self.open(value)
        return outputs
