"""The "3D View" dock of the main window: the project's visible point-cloud layers in 3D.

``View3DDock`` keeps a ``View3DPanel`` in step with the project: layers added or removed,
shown or hidden, restyled, re-registered (``PointCloudLayer.transform``) or re-read.  Every
such event only marks the dock stale; one reconcile pass then brings the scene up to date,
and only while the dock is visible (a hidden dock uploads nothing).  Layer events may come
from worker threads (psygnal calls back in the emitting thread), so they reach the GUI
thread through a queued Qt signal.

Colour: by default each layer is coloured by its own ``PointCloudStyle``, with the same
``point_colours`` as the 2D map.  The colour-by combo can instead colour every layer by one
field (elevation, RGB, intensity, classification, any extra-bytes attribute such as
``m3c2_distance``) with one shared range, so two epochs read on one scale; change fields get a
diverging ramp and a range symmetric about zero.  A left click on a point shows its values
in the dock and in the main window's Identify Results panel.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from gis_desk.core.pointcloud import PointCloudLayer, PointCloudStyle
from gis_desk.errors import DataError
from gis_desk.qt.view3d.panel import View3DPanel
from gis_desk.qt.view3d.scene import prepare_points, scene_origin
from gis_desk.render.pointcloud import (colour_legend, mode_of, point_colours, pointcloud_legend, style_for_field,
                                        value_range)

log = logging.getLogger(__name__)

LAYER_STYLE = ""  # combo data: colour each layer by its own style
_BASE_FIELDS = ("elevation", "rgb", "classification", "intensity")
_HIDDEN_FIELDS = {"red", "green", "blue"}  # shown together as 'rgb'
BACKGROUND_POINTS = 1_500_000  # clouds this big are shuffled and coloured on a worker thread


def _field_label(name: str) -> str:
    return {"elevation": "Elevation", "rgb": "True colour (RGB)", "classification": "Classification",
            "intensity": "Intensity"}.get(name, name)


class _Relay(QObject):
    """Carries psygnal callbacks (any thread) to the GUI thread."""

    stale = Signal()


class View3DDock(QWidget):
    """Controls, the 3D panel and the pick readout; ``sync()`` reconciles with the project."""

    def __init__(self, session, parent=None, *, identify=None, tasks=None) -> None:
        super().__init__(parent)
        self.session = session
        self.identify = identify  # callable(list[IdentifyResult]) or None
        self.tasks = tasks  # a TaskManager: big clouds are prepared there, the GUI stays live
        self.background_points = BACKGROUND_POINTS
        self._pending: dict[str, int] = {}  # layer id -> id(dataset) being prepared
        self.panel = View3DPanel(self)
        self.view = self.panel.view
        self.colour_by = QComboBox()
        self.colour_by.setToolTip("Colour every cloud by one field on a shared scale, or each by its layer style")
        self.point_size = QDoubleSpinBox(minimum=1.0, maximum=12.0, singleStep=0.5, value=2.0, suffix=" px")
        self.point_size.setToolTip("Point size on screen")
        self.budget = QSpinBox(minimum=50, maximum=50_000, singleStep=250, value=3_000, suffix=" k pts")
        self.budget.setToolTip("Most points drawn when the view is still (fewer while it moves)")
        self.edl = QCheckBox("EDL")
        self.edl.setChecked(True)
        self.edl.setToolTip("Eye-dome lighting: shade by depth so surfaces and edges read in 3D")
        self.reset = QPushButton("Reset view")
        self.reset.setToolTip("Back to the default angle, fitted to the clouds (R / Home in the view)")
        self.readout = QLabel("Click a point to see its values.")
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("Colour by"))
        bar.addWidget(self.colour_by, 1)
        for w in (self.point_size, self.budget, self.edl, self.reset):
            bar.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.panel, 1)
        layout.addWidget(self.readout)

        self._state: dict[str, tuple] = {}  # layer id -> (dataset id, colour key, transform bytes)
        self._layers: dict[str, PointCloudLayer] = {}  # connected layers by id
        self._stale = True
        self._scheduled = False
        self.last_pick: dict[str, Any] | None = None
        self._relay = _Relay(self)
        self._relay.stale.connect(self._schedule, Qt.ConnectionType.QueuedConnection)
        self._fill_combo()
        self.colour_by.currentIndexChanged.connect(lambda _i: self._schedule())
        if self.view is not None:
            self.point_size.valueChanged.connect(self.view.set_point_size)
            self.budget.valueChanged.connect(lambda k: self.view.set_budget(int(k) * 1000))
            self.edl.toggled.connect(self.view.set_edl)
            self.reset.clicked.connect(self.view.reset_view)
            self.view.point_picked.connect(self._picked)
            self.view.set_point_size(self.point_size.value())
            self.view.set_budget(self.budget.value() * 1000)
        else:
            for w in (self.colour_by, self.point_size, self.budget, self.edl, self.reset):
                w.setEnabled(False)
        events = session.project.layers.events
        events.inserted.connect(self._layers_changed)
        events.removed.connect(self._layers_changed)
        for layer in self.pointcloud_layers():
            self._watch(layer)

    # -- project ------------------------------------------------------------------------------
    def pointcloud_layers(self) -> list[PointCloudLayer]:
        return [la for la in self.session.project.layers if isinstance(la, PointCloudLayer)]

    def _layers_changed(self, *_args) -> None:
        self._mark_stale()

    def _layer_changed(self, what: str = "") -> None:
        if what != "opacity":  # the 3D view draws opaque points
            self._mark_stale()

    def _mark_stale(self) -> None:
        self._stale = True  # a plain flag: safe from any thread, read on the GUI thread
        try:
            self._relay.stale.emit()
        except RuntimeError:  # the window (and this dock) is gone; the project outlived it
            pass

    def _watch(self, layer: PointCloudLayer) -> None:
        if layer.id not in self._layers:
            layer.changed.connect(self._layer_changed)
            self._layers[layer.id] = layer

    def _unwatch(self, layer_id: str) -> None:
        layer = self._layers.pop(layer_id, None)
        if layer is not None:
            try:
                layer.changed.disconnect(self._layer_changed)
            except (ValueError, RuntimeError):
                pass

    def _schedule(self) -> None:
        """One reconcile pass for any burst of events (GUI thread)."""
        self._stale = True
        if not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._sync_if_shown)

    def _sync_if_shown(self) -> None:
        self._scheduled = False
        if self.isVisible() and self._stale:
            self.sync()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._schedule()

    # -- reconcile ----------------------------------------------------------------------------
    def sync(self) -> None:
        """Bring the 3D scene, the colour-by list and the legend up to date with the project."""
        self._stale = False
        layers = self.pointcloud_layers()
        ids = {la.id for la in layers}
        for gone in [k for k in self._layers if k not in ids]:
            self._unwatch(gone)
        for la in layers:
            self._watch(la)
        self._fill_combo()
        if self.view is None:
            return
        for key in [k for k in self._state if k not in ids]:
            self.view.remove_layer(key)
            del self._state[key]
        override = self.override_style()
        for la in layers:
            show = bool(la.visible and la.dataset is not None and la.cloud is not None and len(la.cloud))
            state = self._state.get(la.id)
            if not show:
                if state is not None:
                    self.view.set_visible(la.id, False)
                continue
            colour_key = self._colour_key(la, override)
            transform = la.transform
            if state is None or state[0] != id(la.dataset):
                cloud = la.cloud
                if self.tasks is not None and len(cloud) >= self.background_points:
                    self._prepare_in_background(la, override, colour_key)
                    continue
                self.view.set_layer(la.id, cloud.xyz, self._colours(la, override), name=self._name(la),
                                    attributes=cloud.attributes, transform=transform)
            else:
                self.view.set_visible(la.id, True)
                if state[2] != transform.tobytes():
                    self.view.set_transform(la.id, transform)
                if state[1] != colour_key:
                    self.view.set_colours(la.id, self._colours(la, override))
                self.view.scene.layers[la.id].name = self._name(la)
            self._state[la.id] = (id(la.dataset), colour_key, transform.tobytes())
        self._update_legend(layers, override)

    def _prepare_in_background(self, layer: PointCloudLayer, override: PointCloudStyle | None,
                               colour_key: tuple) -> None:
        """Shuffle, localise and colour a big cloud on a worker thread, then add it."""
        dataset_id = id(layer.dataset)
        if self._pending.get(layer.id) == dataset_id:
            return
        self._pending[layer.id] = dataset_id
        cloud, scene = layer.cloud, self.view.scene
        if scene.origin is None:
            scene.origin = scene_origin(cloud.xyz)
        origin, style = scene.origin.copy(), self._style_of(layer, override)

        def work(feedback):
            feedback.info(f"Preparing {len(cloud):,} points of {layer.name} for the 3D view")
            try:
                colours = point_colours(layer, style)
            except DataError:
                colours = None
            feedback.check_canceled()
            feedback.set_progress(50)
            return prepare_points(cloud.xyz, colours, origin)

        def done(prepared) -> None:
            if self._pending.get(layer.id) == dataset_id:
                del self._pending[layer.id]
            current = {la.id: la for la in self.pointcloud_layers()}
            if self.view is None or current.get(layer.id) is not layer or id(layer.dataset) != dataset_id:
                self._schedule()  # removed or re-read meanwhile
                return
            transform = layer.transform
            self.view.set_layer(layer.id, cloud.xyz, None, name=self._name(layer), attributes=cloud.attributes,
                                transform=transform, visible=layer.visible, prepared=prepared)
            self._state[layer.id] = (dataset_id, colour_key, transform.tobytes())
            self._schedule()  # anything changed meanwhile (style, visibility) is caught up

        def failed(_exc) -> bool:
            self._pending.pop(layer.id, None)
            return False  # reported by the task manager

        self.tasks.start(work, f"3D view: {layer.name}", on_done=done, on_error=failed)

    @property
    def preparing(self) -> bool:
        """True while a big cloud is being prepared on a worker thread."""
        return bool(self._pending)

    @staticmethod
    def _name(layer: PointCloudLayer) -> str:
        label = layer.epoch_label
        return f"{layer.name} ({label})" if label and label not in layer.name else layer.name

    def _fill_combo(self) -> None:
        """Layer style, then every field the project's clouds have (RGB as one entry)."""
        fields: list[str] = ["elevation"]
        for la in self.pointcloud_layers():
            cloud = la.cloud
            if cloud is None:
                continue
            names = set(cloud.attributes)
            if {"red", "green", "blue"} <= names and "rgb" not in fields:
                fields.append("rgb")
            for name in cloud.attributes:
                if name not in _HIDDEN_FIELDS and name not in fields:
                    fields.append(name)
        fields.sort(key=lambda f: (_BASE_FIELDS.index(f) if f in _BASE_FIELDS else len(_BASE_FIELDS), f))
        wanted = [LAYER_STYLE, *fields]
        have = [self.colour_by.itemData(i) for i in range(self.colour_by.count())]
        if have == wanted:
            return
        current = self.colour_by.currentData() or LAYER_STYLE
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        self.colour_by.addItem("Layer style", LAYER_STYLE)
        for f in fields:
            self.colour_by.addItem(_field_label(f), f)
        self.colour_by.setCurrentIndex(max(0, self.colour_by.findData(current)))
        self.colour_by.blockSignals(False)

    def set_colour_by(self, field: str) -> None:
        """Colour every cloud by ``field`` ('' = each by its layer style)."""
        index = self.colour_by.findData(field)
        if index < 0:
            raise ValueError(f"no point cloud in the project has a field {field!r}")
        self.colour_by.setCurrentIndex(index)
        self.sync()

    def override_style(self) -> PointCloudStyle | None:
        """The shared style of the colour-by combo (range over all shown clouds), or None."""
        field = self.colour_by.currentData() or LAYER_STYLE
        if field == LAYER_STYLE:
            return None
        style = style_for_field(PointCloudStyle(), field)
        if mode_of(style) in ("rgb", "classification"):
            return style
        lows, highs = [], []
        for la in self.pointcloud_layers():
            if not la.visible or la.cloud is None or not len(la.cloud):
                continue
            if mode_of(style) == "field" and field not in la.cloud.attributes:
                continue
            lo, hi = value_range(la, style)
            lows.append(lo)
            highs.append(hi)
        if lows:
            style = replace(style, value_range=[float(min(lows)), float(max(highs))])
        return style

    def _style_of(self, layer: PointCloudLayer, override: PointCloudStyle | None) -> PointCloudStyle:
        if override is not None:
            return override
        return layer.style if isinstance(layer.style, PointCloudStyle) else layer.default_style()

    def _colour_key(self, layer: PointCloudLayer, override: PointCloudStyle | None) -> tuple:
        style = self._style_of(layer, override)
        # elevation colours follow the transform (z moves with a registration)
        moved = layer.transform.tobytes() if mode_of(style) == "elevation" else b""
        return (tuple(sorted((k, str(v)) for k, v in asdict(style).items())), moved)

    def _colours(self, layer: PointCloudLayer, override: PointCloudStyle | None) -> np.ndarray | None:
        try:
            return point_colours(layer, self._style_of(layer, override))
        except DataError as exc:  # e.g. an epoch without m3c2_distance: drawn grey, said so
            log.info("3D view: %s drawn grey: %s", layer.name, exc.message if hasattr(exc, "message") else exc)
            return None

    def _update_legend(self, layers: list[PointCloudLayer], override: PointCloudStyle | None) -> None:
        shown = [la for la in layers if la.visible and la.cloud is not None]
        if not shown:
            self.view.set_legend("", [])
            return
        if override is not None:
            values = None
            if mode_of(override) == "classification":
                codes = [la.cloud.attributes["classification"] for la in shown
                         if "classification" in la.cloud.attributes]
                values = np.unique(np.concatenate(codes)) if codes else np.zeros(0, np.uint8)
            self.view.set_legend("All point clouds", colour_legend(override, values))
        else:
            first = shown[-1]  # the top layer
            self.view.set_legend(self._name(first), pointcloud_legend(first))

    # -- picking ------------------------------------------------------------------------------
    def _picked(self, hit: dict[str, Any]) -> None:
        layer = self._layers.get(hit.get("layer_key", ""))
        skip = {"layer", "layer_key", "index"}
        values = {k: v for k, v in hit.items() if k not in skip}
        parts = [f"{k} = {_fmt(v)}" for k, v in values.items()]
        self.readout.setText(f"<b>{hit.get('layer', '')}</b>, point {hit.get('index')}: " + ", ".join(parts))
        self.last_pick = hit
        if self.identify is not None and layer is not None:
            from shapely.geometry import Point

            from gis_desk.analysis.identify import IdentifyResult

            attributes = dict(values)
            if layer.epoch_label:
                attributes["epoch"] = layer.epoch_label
            self.identify([IdentifyResult(layer=layer, feature_id=int(hit["index"]), attributes=attributes,
                                          geometry=Point(hit["x"], hit["y"], hit["z"]), distance=0.0)])

    def shutdown(self) -> None:
        """Disconnect from the project and layers (the window is closing)."""
        events = self.session.project.layers.events
        for sig in (events.inserted, events.removed):
            try:
                sig.disconnect(self._layers_changed)
            except (ValueError, RuntimeError):
                pass
        for key in list(self._layers):
            self._unwatch(key)
        if self.view is not None:
            self.view.release_gl()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1e5 else f"{value:,.3f}"
    return str(value)
