"""Drone imagery in the main window: footage with its video, photos, OpenDroneMap outputs.

``install_drone(window)`` (idempotent) adds the "Drone" menu and toolbar (Add drone footage…,
Add drone photos…, Add a folder of drone photos…, Import OpenDroneMap project…, the player and
its actions, the map tools, Flight summary), the Video Player dock (Ctrl+Shift+V), the Footage
Bookmarks dock and the Photo dock, the map overlay that follows playback, and the "seek" and
"photo" map tools (in the window's map-tool group).  It returns the ``Drone`` controller, also
kept as ``window.drone``.

Which footage: the player shows the current layer of the layer tree when that is a footage
layer (a layer with ``position_at``/``time_at``), and keeps showing it while other layers are
selected; a project opened with footage in it fills an empty player.  Footage without a
playable video still plays its track (marker and footprint) on a timeline.  The footprint is
laid on a terrain model when a single-band raster named like one (DTM/DEM/terrain) is loaded:
the camera then stands at the terrain height of the take-off point plus DJI's rel_alt.

Keys inside the player and bookmarks docks: Space play/pause, "," "." (and Left/Right in the
player) step a frame, Ctrl+B bookmark, Ctrl+Shift+S snapshot.  Ctrl+B and Ctrl+Shift+S mean
"spatial bookmark" and "Save As" elsewhere in the window, so the docks claim them only while
they have the keyboard focus (a ShortcutOverride), and the menu only shows them as hints.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QInputDialog, QWidget

from gis_desk.errors import DataError, GisDeskError, MissingFileError

PLAYER_WIDTH = 520  # px: a 16:9 frame of about 500 x 280 beside the map
PLAYER_HEIGHT = 400  # px: the frame plus the title and two rows of controls
TELEMETRY_SUFFIXES = (".srt", ".gpx")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")
FOLLOW_MARGIN = 0.2
TERRAIN_WORDS = {"dtm", "dem", "terrain"}  # raster names taken as bare-earth models  # follow mode re-centres when the drone comes this close (fraction) to the edge


def is_footage_layer(layer) -> bool:
    return layer is not None and hasattr(layer, "position_at") and hasattr(layer, "time_at") \
        and getattr(layer, "dataset", None) is not None


def is_photo_layer(layer) -> bool:
    return layer is not None and getattr(layer, "kind", "") == "photos" and getattr(layer, "dataset", None) is not None


def plan_footage(paths: list[str | Path]) -> tuple[Path, Path | None, str]:
    """(telemetry file, video file or None, kind) from the files the user picked.

    A video alone brings the SRT next to it with the same stem (DJI_0001.MP4 + DJI_0001.SRT);
    kind is 'srt'/'gpx' or 'csv' (a flight record, which needs a time offset).  Raises
    ``DataError`` / ``MissingFileError`` with the reason when the files do not make footage."""
    paths = [Path(p) for p in paths]
    videos = [p for p in paths if p.suffix.lower() in VIDEO_SUFFIXES]
    logs = [p for p in paths if p.suffix.lower() in TELEMETRY_SUFFIXES + (".csv",)]
    others = [p for p in paths if p not in videos and p not in logs]
    if others:
        raise DataError(f"Not footage files: {', '.join(p.name for p in others)}",
                        hint="choose a DJI .SRT, a .GPX track or a flight-record .CSV, and/or the video")
    if len(videos) > 1 or len(logs) > 1:
        raise DataError("Choose one telemetry file and at most one video at a time",
                        hint="add each flight separately")
    video = videos[0] if videos else None
    if logs:
        log = logs[0]
        if video is None:  # the video may sit next to the log under the same name
            from gis_desk.io.video import find_video_for

            video = find_video_for(log)
        return log, video, "csv" if log.suffix.lower() == ".csv" else log.suffix.lower()[1:]
    if video is None:
        raise DataError("No files chosen")
    for suffix in (".SRT", ".srt", ".Srt"):
        candidate = video.with_suffix(suffix)
        if candidate.exists():
            return candidate, video, "srt"
    raise MissingFileError(f"No telemetry file next to the video (looked for {video.stem}.SRT)", path=video,
                           hint="turn on the camera's video subtitles (SRT) or choose a GPX/flight-record "
                                "file together with the video")


class _DockKeys(QObject):
    """Claims the player keys while focus is inside a drone dock (see the module docstring)."""

    def __init__(self, drone: "Drone") -> None:
        super().__init__()
        self.drone = drone
        self._in_player = False

    def _handle(self, event, act: bool) -> bool:
        key, mods = event.key(), event.modifiers()
        ctrl = Qt.KeyboardModifier.ControlModifier
        shift = Qt.KeyboardModifier.ShiftModifier
        plain = mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
        d = self.drone
        if key == Qt.Key.Key_B and mods == ctrl:
            act and d.add_bookmark()
            return True
        if key == Qt.Key.Key_S and mods == ctrl | shift:
            act and d.export_snapshot()
            return True
        if plain and key == Qt.Key.Key_Space:
            act and d.player.toggle_play()
            return True
        if plain and key in (Qt.Key.Key_Comma, Qt.Key.Key_Period):
            act and d.player.step(-1 if key == Qt.Key.Key_Comma else 1)
            return True
        if plain and key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self._in_player:
            act and d.player.step(-1 if key == Qt.Key.Key_Left else 1)
            return True
        return False

    def eventFilter(self, watched, event) -> bool:
        etype = event.type()
        if etype not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        # arrows step frames in the player only (the bookmarks table moves its selection with them)
        player = self.drone.player
        self._in_player = watched is player or player.isAncestorOf(watched)
        if etype == QEvent.Type.ShortcutOverride:
            if self._claims(watched) and self._handle(event, act=False):
                event.accept()
            return False
        if etype == QEvent.Type.KeyPress and self._claims(watched):
            return self._handle(event, act=True)
        return False

    def _claims(self, watched) -> bool:
        from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit

        if isinstance(watched, (QLineEdit, QAbstractSpinBox)) or (
                hasattr(watched, "state") and getattr(self.drone.bookmarks, "table", None) is watched
                and watched.state() == watched.State.EditingState):
            return False  # typing a note or an offset: keys are text
        return True


class Drone:
    """Owns the drone docks, overlay and tools of one main window."""

    def __init__(self, window) -> None:
        from gis_desk.qt.drone.bookmarks import BookmarksPanel
        from gis_desk.qt.drone.overlay import FootageOverlay, PhotoTool, SeekTool
        from gis_desk.qt.drone.photo_viewer import PhotoViewer
        from gis_desk.qt.drone.player import VideoPlayer

        self.window = window
        self.player = VideoPlayer()
        self.bookmarks = BookmarksPanel(self._bookmark_time)
        self.photo_viewer = PhotoViewer()
        self.player_dock = self._dock("video", "Video Player", self.player, "Ctrl+Shift+V")
        self.bookmarks_dock = self._dock("footage_bookmarks", "Footage Bookmarks", self.bookmarks)
        self.photo_dock = self._dock("photo", "Photo", self.photo_viewer)
        window.splitDockWidget(self.player_dock, self.bookmarks_dock, Qt.Orientation.Vertical)
        window.tabifyDockWidget(self.player_dock, self.photo_dock)
        for dock in (self.player_dock, self.bookmarks_dock, self.photo_dock):
            dock.hide()
        self._keys = _DockKeys(self)
        for widget in (self.player, self.bookmarks):
            self._watch_keys(widget)

        self.overlay = FootageOverlay(window.canvas)
        window.canvas.add_overlay(self.overlay)
        self.seek_tool = SeekTool(window.canvas, self.seek_at_map)
        self.photo_tool = PhotoTool(window.canvas, self.photo_at_map)
        window.canvas.register_tool(self.seek_tool)
        window.canvas.register_tool(self.photo_tool)
        self.follow = False
        self.last_footprint = None
        self.terrain_override = None  # a raster layer chosen for footprints (None: automatic)
        self._terrain_cache = None
        self.dialog = None  # the last dialog opened (tests look at it)

        self.player.frame_shown.connect(self._frame_shown)
        self.player.layer_changed.connect(self._player_layer_changed)
        self.player.error.connect(lambda exc: self._report(exc, "Video"))
        self.bookmarks.jump_requested.connect(self.seek_time)
        self.bookmarks.error.connect(lambda exc: self._report(exc, "Bookmarks"))
        window.layer_tree.current_layer_changed.connect(self._current_layer_changed)
        window.session.project.layers.events.removed.connect(self._layer_removed)
        window.session.project.layers.events.inserted.connect(self._layer_inserted)
        window.canvas.identify_results.connect(self._identified)
        window.canvas.tool_changed.connect(self._tool_changed)
        self.actions = self._menu()

    # -- construction ------------------------------------------------------------------------------
    def _dock(self, key: str, title: str, widget: QWidget, shortcut: str | None = None) -> QDockWidget:
        w = self.window
        dock = QDockWidget(title, w)
        dock.setObjectName(f"{key}_dock")
        dock.setWidget(widget)
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        toggle = dock.toggleViewAction()
        if shortcut:
            toggle.setShortcut(QKeySequence(shortcut))
        w.panels_menu.addAction(toggle)
        w.docks[key] = dock
        return dock

    def _watch_keys(self, widget: QWidget) -> None:
        widget.installEventFilter(self._keys)
        for child in widget.findChildren(QWidget):
            child.installEventFilter(self._keys)

    def _menu(self) -> dict[str, QAction]:
        w = self.window
        menu = w.menuBar().addMenu("&Drone")
        anchor = w.menus.get("Processing")
        if anchor is not None:
            w.menuBar().insertMenu(anchor.menuAction(), menu)
        w.menus["Drone"] = menu
        actions: dict[str, QAction] = {}

        def add(key, text, slot, shortcut=None, tip="", hint=None, checkable=False, on_toggle=True):
            action = QAction(text + (f"\t{hint}" if hint else ""), w)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setStatusTip(tip)
            action.setToolTip(tip)
            action.setCheckable(checkable)
            if checkable and on_toggle:
                action.toggled.connect(slot)
            elif checkable:  # a user's click only, not the group un-checking it
                action.triggered.connect(slot)
            else:
                action.triggered.connect(lambda _checked=False, s=slot: s())
            w.addAction(action)
            menu.addAction(action)
            actions[key] = action
            return action

        add("footage", "Add drone &footage…", self.add_footage_dialog,
            tip="A DJI video with its .SRT, or an SRT/GPX/flight-record CSV (with the video)")
        add("photos", "Add drone &photos…", self.add_photos_dialog, tip="Geotagged drone JPEGs")
        add("photo_folder", "Add a folder of drone p&hotos…", self.add_photo_folder_dialog,
            tip="Every geotagged JPEG in a folder")
        add("odm", "Import &OpenDroneMap project…", self.import_odm,
            tip="Orthophoto, DSM/DTM, point cloud and cameras from an ODM/WebODM folder or zip")
        menu.addSeparator()
        toggle = self.player_dock.toggleViewAction()
        toggle.setText("&Video player")
        menu.addAction(toggle)
        actions["player"] = toggle
        menu.addAction(self.bookmarks_dock.toggleViewAction())
        add("bookmark", "Add video &bookmark…", self.add_bookmark, hint="Ctrl+B",
            tip="Bookmark the frame on screen with a note (Ctrl+B in the player)")
        add("snapshot", "Export &snapshot…", self.export_snapshot, hint="Ctrl+Shift+S",
            tip="The frame on screen as PNG plus a GeoJSON record of where it was taken "
                "(Ctrl+Shift+S in the player)")
        add("follow", "F&ollow the drone", self.set_follow, checkable=True,
            tip="Keep the drone's position in view during playback")
        menu.addSeparator()
        add("seek_tool", "&Seek on the track", lambda on: self._set_tool("seek", on), checkable=True, on_toggle=False,
            tip="Click the flight track to jump the video to that moment")
        add("photo_tool", "Open p&hoto on the map", lambda on: self._set_tool("photo", on), checkable=True, on_toggle=False,
            tip="Click a photo's camera point or footprint to open it")
        menu.addSeparator()
        add("summary", "Flight s&ummary…", self.flight_summary,
            tip="Duration, distance, height and range of the current footage, with the 120 m check")
        self._join_map_tools(actions)
        self.toolbar = self._toolbar(actions)
        return actions

    def _join_map_tools(self, actions: dict[str, QAction]) -> None:
        """Put the seek/photo tools in the window's exclusive map-tool group, so choosing Pan or
        Identify un-checks them and the window checks them when the canvas switches to them."""
        window_actions = getattr(self.window, "actions_", None)
        group = getattr(window_actions, "tools", None)
        tool_actions = getattr(window_actions, "tool_actions", None)
        if group is None or tool_actions is None:
            return
        for key, tool in (("seek_tool", "seek"), ("photo_tool", "photo")):
            group.addAction(actions[key])
            tool_actions[tool] = actions[key]

    def _toolbar(self, actions: dict[str, QAction]):
        from PySide6.QtCore import QSize
        from PySide6.QtWidgets import QStyle, QToolBar

        w = self.window
        style = w.style()
        icons = {"footage": QStyle.StandardPixmap.SP_DialogOpenButton,
                 "player": QStyle.StandardPixmap.SP_MediaPlay,
                 "seek_tool": QStyle.StandardPixmap.SP_MediaSeekForward,
                 "photo_tool": QStyle.StandardPixmap.SP_FileDialogContentsView,
                 "bookmark": QStyle.StandardPixmap.SP_DialogYesButton,
                 "snapshot": QStyle.StandardPixmap.SP_DialogSaveButton}
        bar = QToolBar("Drone", w)
        bar.setObjectName("drone_toolbar")
        bar.setIconSize(QSize(22, 22))
        for key, pixmap in icons.items():
            action = actions[key]
            if action.icon().isNull():
                action.setIcon(style.standardIcon(pixmap))
            bar.addAction(action)
        w.addToolBar(bar)
        menu = getattr(w, "toolbars_menu", None)
        if menu is not None:
            menu.addAction(bar.toggleViewAction())
        return bar

    def _report(self, exc: BaseException, context: str) -> None:
        if isinstance(exc, GisDeskError):
            self.window.presenter.report(exc, context=context)
        else:
            self.window.presenter.report(GisDeskError(str(exc)), context=context)

    # -- which footage -----------------------------------------------------------------------------
    @property
    def layer(self):
        return self.player.layer

    def _current_layer_changed(self, layer) -> None:
        if is_footage_layer(layer):
            self.set_footage(layer)

    def set_footage(self, layer) -> None:
        """Show ``layer`` in the player (and its bookmarks)."""
        self.player.set_layer(layer)

    def _player_layer_changed(self, layer) -> None:
        self.bookmarks.set_layer(layer)
        self.overlay.clear()
        if layer is not None and self.player.decoder is None:  # nothing to play: mark the start
            self._frame_shown(0, 0.0)

    def _layer_inserted(self, index: int, layer) -> None:
        """An opened project's (or newly added) footage goes into an empty player."""
        self._terrain_cache = None
        if self.player.layer is None and is_footage_layer(layer):
            self.set_footage(layer)

    def _layer_removed(self, index: int, layer) -> None:
        self._terrain_cache = None
        if layer is self.terrain_override:
            self.terrain_override = None
        if layer is self.player.layer:
            self.player.set_layer(None)

    def show_player(self) -> None:
        self.player_dock.show()
        self.player_dock.raise_()
        self.bookmarks_dock.show()
        self._make_room(self.player_dock)

    def _make_room(self, dock: QDockWidget) -> None:
        """A frame of about 500 x 280 px: widen the dock area, and take height from the docks
        stacked with it (other panels of the right-hand side)."""
        w = self.window
        if dock.isFloating():
            return
        if dock.width() < PLAYER_WIDTH:
            w.resizeDocks([dock], [PLAYER_WIDTH], Qt.Orientation.Horizontal)
        if dock.height() < PLAYER_HEIGHT:
            w.resizeDocks([dock], [PLAYER_HEIGHT], Qt.Orientation.Vertical)
        if dock.height() >= PLAYER_HEIGHT or not dock.isVisible():
            return
        # the panels stacked with it will not give up their height: share the tallest one's place
        area = w.dockWidgetArea(dock)
        mine = {self.player_dock, self.bookmarks_dock, self.photo_dock}
        others = [d for d in w.findChildren(QDockWidget) if d not in mine and d.isVisible()
                  and not d.isFloating() and w.dockWidgetArea(d) == area and not w.tabifiedDockWidgets(dock).count(d)]
        if others:
            tallest = max(others, key=lambda d: d.height())
            if tallest.height() > dock.height():
                w.tabifyDockWidget(tallest, dock)
                dock.show()
                dock.raise_()

    # -- playback on the map -----------------------------------------------------------------------
    def position_at(self, video_time_s: float) -> dict | None:
        layer = self.player.layer
        if layer is None:
            return None
        try:
            return dict(layer.position_at(float(video_time_s)))
        except (GisDeskError, ValueError, IndexError):
            return None

    def _aspect(self) -> float:
        r = getattr(self.player.decoder, "reader", None)
        return r.width / r.height if r is not None else 16 / 9

    # -- terrain under the footprint ---------------------------------------------------------------
    def terrain_layer(self):
        """The raster the footprint is laid onto: ``self.terrain_override`` when set, else the
        first visible single-band raster named like a terrain model (DTM/DEM/DTM-like file names;
        a DSM is not ground), else None (the take-off plane)."""
        if self.terrain_override is not None:
            return self.terrain_override
        for layer in self.window.session.project.layers:
            ds = getattr(layer, "dataset", None)
            if getattr(layer, "kind", "") != "raster" or ds is None or getattr(ds, "count", 0) != 1:
                continue
            src = getattr(getattr(ds, "source", None), "path", "") or ""
            words = set(re.split(r"[^a-z0-9]+", f"{layer.name} {Path(str(src)).stem}".lower()))
            if words & TERRAIN_WORDS:
                return layer
        return None

    def terrain_for(self, layer) -> tuple[Any, float] | None:
        """(DtmSampler in ``layer``'s CRS, take-off ground height) for the footage ``layer``, or
        None without a terrain model.  DJI's rel_alt is above take-off, so the camera stands at
        the terrain height under the take-off point plus rel_alt.  Cached per (terrain, footage)."""
        from gis_desk.analysis.footprint import DEFAULT_MAX_RANGE, DtmSampler

        terrain = self.terrain_layer()
        if terrain is None or layer is None or not hasattr(layer, "crs"):
            return None
        key = (id(terrain), id(terrain.dataset), id(layer), id(getattr(layer, "dataset", None)))
        if self._terrain_cache is not None and self._terrain_cache[0] == key:
            return self._terrain_cache[1]
        result = None
        try:
            xmin, ymin, xmax, ymax = layer.dataset.bounds
            pad = DEFAULT_MAX_RANGE
            sampler = DtmSampler(terrain.dataset, crs=layer.crs,
                                 bounds=(xmin - pad, ymin - pad, xmax + pad, ymax + pad))
            home = self._takeoff_xy(layer)
            ground0 = float(sampler.height(home[0], home[1])) if home is not None else sampler.fill
            result = (sampler, ground0)
        except (GisDeskError, ValueError, TypeError, OSError) as exc:
            self.window.message_log.add("warning", f"Footprints drawn on the take-off plane: the terrain "
                                                   f"model '{terrain.name}' cannot be used ({exc})")
        self._terrain_cache = (key, result)
        return result

    @staticmethod
    def _takeoff_xy(layer) -> tuple[float, float] | None:
        from gis_desk.core.crs import transform_xy

        telemetry = getattr(layer.dataset, "telemetry", None)
        home = getattr(telemetry, "home", None)
        if home is not None:
            x, y = transform_xy("EPSG:4326", layer.crs, [home[1]], [home[0]])
            return float(x[0]), float(y[0])
        frame = layer.dataset.frame
        if len(frame) == 0:
            return None
        return float(frame.geometry.x.iloc[0]), float(frame.geometry.y.iloc[0])

    def set_terrain(self, layer) -> None:
        """Lay footprints onto ``layer`` (a single-band raster), or pick automatically (None)."""
        self.terrain_override = layer
        self._terrain_cache = None
        if self.player.current_index >= 0 or self.player.layer is not None:
            self._frame_shown(max(self.player.current_index, 0), self.player.current_time)

    def _frame_shown(self, index: int, video_time_s: float) -> None:
        from gis_desk.qt.drone.overlay import frame_footprint

        layer = self.player.layer
        position = self.position_at(video_time_s)
        footprint = None
        if position:
            terrain = self.terrain_for(layer)
            if terrain is None:
                footprint = frame_footprint(layer, position, self._aspect())
            else:
                sampler, ground0 = terrain
                rel = position.get("rel_alt")
                z = ground0 + float(rel) if rel is not None and math.isfinite(float(rel)) else None
                footprint = frame_footprint(layer, position, self._aspect(), ground=sampler, camera_z=z) \
                    if z is not None else None
        self.last_footprint = footprint
        self.overlay.set_state(layer, position, footprint)
        if self.follow and position is not None:
            self._keep_in_view()

    def set_follow(self, on: bool) -> None:
        self.follow = bool(on)
        if self.follow:
            self._keep_in_view()

    def _keep_in_view(self) -> None:
        canvas = self.window.canvas
        view = canvas.viewport
        marker = self.overlay.marker_pixel(view)
        if marker is None:
            return
        mx, my = marker
        w, h = view.width, view.height
        if FOLLOW_MARGIN * w <= mx <= (1 - FOLLOW_MARGIN) * w and FOLLOW_MARGIN * h <= my <= (1 - FOLLOW_MARGIN) * h:
            return
        x, y = canvas.to_map(_qpoint(mx, my))
        xmin, ymin, xmax, ymax = view.extent
        half_w, half_h = (xmax - xmin) / 2, (ymax - ymin) / 2
        canvas.set_extent((x - half_w, y - half_h, x + half_w, y + half_h))

    def seek_time(self, video_time_s: float) -> None:
        self.player.seek_time(video_time_s)

    def seek_at_map(self, x: float, y: float, pixel_size: float) -> float | None:
        """Seek to the moment the drone was nearest (x, y) (project CRS); None (and a message)
        when the click is not near the track.  Returns the video time sought."""
        from gis_desk.core.crs import same_crs, transformer
        from gis_desk.qt.drone.overlay import SEEK_TOLERANCE_PX, nearest_track_point

        layer = self.player.layer
        if layer is None:
            self.window.canvas.message.emit("info", "Choose a footage layer first (Drone ▸ Video player).")
            return None
        crs = self.window.session.project.crs
        hit = nearest_track_point(layer, x, y, crs)
        if hit is None or hit[1] > SEEK_TOLERANCE_PX * pixel_size:
            self.window.canvas.message.emit("info", f"Click on the flight track of '{layer.name}' to jump there.")
            return None
        lx, ly = (x, y) if same_crs(crs, layer.crs) else transformer(crs, layer.crs).transform(x, y)
        t = float(layer.time_at(float(lx), float(ly)))
        self.show_player()
        self.player.seek_index(int(round(t * self.player.fps)))  # the nearest frame to that moment
        return t

    def _set_tool(self, name: str, on: bool) -> None:
        canvas = self.window.canvas
        if on:
            canvas.set_tool(name)
        elif canvas.tool_name == name:
            canvas.set_tool("pan")

    def _tool_changed(self, name: str) -> None:
        for key, tool in (("seek_tool", "seek"), ("photo_tool", "photo")):
            action = self.actions.get(key) if hasattr(self, "actions") else None
            if action is not None and action.isChecked() != (name == tool):
                action.blockSignals(True)
                action.setChecked(name == tool)
                action.blockSignals(False)

    # -- bookmarks and snapshots -------------------------------------------------------------------
    def _bookmark_time(self) -> float | None:
        return self.player.current_time if self.player.layer is not None else None

    def add_bookmark(self, note: str | None = None):
        if self.player.layer is None:
            self.window.canvas.message.emit("info", "Choose a footage layer to bookmark.")
            return None
        was_playing = self.player.playing
        self.player.pause()
        self.bookmarks_dock.show()
        bookmark = self.bookmarks.add_bookmark(note)
        if was_playing and note is not None:
            self.player.play()
        return bookmark

    def export_snapshot(self, path: str | Path | None = None) -> tuple[Path, Path] | None:
        """Write the frame on screen as PNG + GeoJSON; asks where when ``path`` is None."""
        from gis_desk.io.video import export_snapshot
        from gis_desk.qt.drone.player import format_time

        player = self.player
        if player.layer is None or player.current_rgb is None:
            self.window.canvas.message.emit("info", "There is no video frame on screen to export.")
            return None
        t = player.current_time
        if path is None:
            stem = f"{_safe(player.layer.name)}_{format_time(t).replace(':', 'm').replace('.', 's')}.png"
            start = str(Path(self.window._last_folder()) / stem) if hasattr(self.window, "_last_folder") else stem
            path, _ = QFileDialog.getSaveFileName(self.window, "Export snapshot", start, "PNG image (*.png)")
            if not path:
                return None
        try:
            written = export_snapshot(path, player.current_rgb, time_s=t, position=self.position_at(t),
                                      crs=player.layer.crs, video_path=player.decoder.reader.path,
                                      frame_index=player.current_index)
        except GisDeskError as exc:
            self._report(exc, "Snapshot")
            return None
        self.window.message_log.add("info", f"Snapshot written: {written[0]} and {written[1].name}")
        return written

    # -- photos ------------------------------------------------------------------------------------
    def photo_at_map(self, x: float, y: float, pixel_size: float):
        """Open the photo whose camera point or footprint is at (x, y) (project CRS)."""
        from gis_desk.analysis.identify import identify
        from gis_desk.qt.canvas.tools import IDENTIFY_TOLERANCE_PX

        layers = [lyr for lyr in self.window.session.project.layers if is_photo_layer(lyr) and lyr.visible]
        if not layers:
            self.window.canvas.message.emit("info", "There is no drone photo layer to pick from.")
            return None
        results = identify(self.window.session.project, x, y, IDENTIFY_TOLERANCE_PX * 2 * pixel_size, layers=layers)
        results = [r for r in results if r.feature_id is not None]
        if not results:
            self.window.canvas.message.emit("info", "No photo here: click a camera point or a footprint.")
            return None
        # a camera point beats a footprint that merely contains the click; then the nearest
        best = min(results, key=lambda r: (r.geometry is None or r.geometry.geom_type != "Point", r.distance))
        self.show_photo(best.layer, best.feature_id)
        return best

    def _identified(self, results) -> None:
        for r in results or []:
            if is_photo_layer(r.layer) and r.feature_id is not None:
                self.show_photo(r.layer, r.feature_id)
                return

    def show_photo(self, layer, row: int) -> None:
        self.photo_viewer.show_photo(layer, int(row))
        self.photo_dock.show()
        self.photo_dock.raise_()
        self._make_room(self.photo_dock)

    # -- adding data -------------------------------------------------------------------------------
    def _start(self, title: str, read, on_layers) -> Any:
        """Read datasets in the background, then add them as layers (undoable) on the GUI thread."""
        session = self.window.session

        def done(datasets) -> None:
            layers = [session.layer_for(ds) for ds in datasets]
            session.add_layers(layers)
            self.window._after_adding(layers)
            on_layers(layers)

        return self.window.tasks.start(lambda feedback: read(), title, on_done=done)

    def add_footage(self, paths, time_offset_s: float | None = None):
        """Add footage from the chosen files (see ``plan_footage``); a flight-record CSV asks for
        its time offset unless given.  Returns the background task (None when nothing starts)."""
        try:
            telemetry, video, kind = plan_footage(paths)
        except GisDeskError as exc:
            self._report(exc, "Adding drone footage")
            return None
        options: dict[str, Any] = {}
        if video is not None:
            options["video"] = str(video)
        if kind == "csv":
            if time_offset_s is None:
                value, ok = QInputDialog.getDouble(
                    self.window, "Flight record time offset",
                    "Seconds from the start of the flight record to the start of the video\n"
                    "(the flight record's time at the video's first frame):", 0.0, -86400.0, 86400.0, 2)
                if not ok:
                    return None
                time_offset_s = value
            options["time_offset_s"] = float(time_offset_s)
        session = self.window.session
        return self._start(f"Reading {telemetry.name}",
                           lambda: session.read(telemetry, reader="builtins.read_footage", **options),
                           self._footage_added)

    def _footage_added(self, layers) -> None:
        footage = [lyr for lyr in layers if is_footage_layer(lyr)]
        if footage:
            self.window.layer_tree.set_current_layer(footage[0])
            self.set_footage(footage[0])
            self.show_player()
            self.window.canvas.zoom_to_layer(footage[0])

    def add_footage_dialog(self) -> None:
        start = self.window._last_folder() if hasattr(self.window, "_last_folder") else ""
        paths, _ = QFileDialog.getOpenFileNames(
            self.window, "Add drone footage", start,
            "Drone footage (*.SRT *.srt *.gpx *.GPX *.csv *.CSV *.mp4 *.MP4 *.mov *.MOV);;All files (*)")
        if paths:
            self.add_footage(paths)

    def add_photos(self, paths):
        """Add photos as one layer: a folder, one photo, or several photos of one folder.
        Returns the background task (None when nothing starts).

        The photo reader takes a folder or a single file; several photos that are not the
        whole folder are read through its ``files`` option when it has one, otherwise the whole
        folder is read and the log says so (never one layer per photo)."""
        paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
        if not paths:
            return None
        session = self.window.session
        if len(paths) == 1:
            target, options = paths[0], {}
        else:
            folders = {p.parent for p in paths}
            if len(folders) > 1:
                self._report(DataError("Choose photos from one folder at a time",
                                       hint="or add the folder that holds them all"), "Adding drone photos")
                return None
            target = paths[0].parent
            options = {} if _is_whole_folder(target, paths) else {"files": [str(p) for p in paths]}
            if options and not _photo_reader_takes_files():
                self.window.message_log.add("info", f"All photos in {target} are added: the photo reader "
                                                    "reads whole folders or single photos")
                options = {}
        return self._start(f"Reading photos in {target.name}",
                           lambda: session.read(target, reader="builtins.read_photos", **options),
                           self._photos_added)

    def _photos_added(self, layers) -> None:
        for layer in layers:
            unplaced = list(getattr(layer.dataset, "unplaced", []) or [])
            if unplaced:
                self.window.message_log.add(
                    "warning", f"{len(unplaced)} photo(s) not placed in '{layer.name}': "
                               + "; ".join(f"{Path(str(p)).name}: {why}" for p, why in unplaced[:5]))

    def add_photos_dialog(self) -> None:
        start = self.window._last_folder() if hasattr(self.window, "_last_folder") else ""
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Add drone photos", start,
                                                "JPEG photos (*.jpg *.JPG *.jpeg *.JPEG);;All files (*)")
        if paths:
            self.add_photos(paths)

    def add_photo_folder_dialog(self) -> None:
        start = self.window._last_folder() if hasattr(self.window, "_last_folder") else ""
        folder = QFileDialog.getExistingDirectory(self.window, "Folder of drone photos", start)
        if folder:
            self.add_photos(folder)

    def import_odm(self, path: str | None = None):
        """The ODM import dialog (non-modal); "Add layers" reads the project in the background."""
        from gis_desk.qt.drone.dialogs import OdmImportDialog

        dialog = OdmImportDialog(self.window, path)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._odm_accepted(dialog.selected_path()))
        dialog.show()
        self.dialog = dialog
        return dialog

    def _odm_accepted(self, path: str) -> Any:
        session = self.window.session

        def read():
            try:
                return session.read(path, reader="builtins.read_odm")
            except KeyError as exc:  # the reader not declared in this build's manifest
                if "builtins.read_odm" not in str(exc):
                    raise
                from gis_desk.io.odm import read_odm_project

                return read_odm_project(path)

        return self._start(f"Reading {Path(path).name}", read, self._odm_added)

    def _odm_added(self, layers) -> None:
        self.window.message_log.add("info", "OpenDroneMap project added: " + ", ".join(
            f"'{layer.name}'" for layer in layers))
        self._photos_added([lyr for lyr in layers if is_photo_layer(lyr)])

    # -- flight summary ----------------------------------------------------------------------------
    def flight_summary(self):
        """Show the summary of the player's footage (else the current layer, if footage)."""
        from gis_desk.qt.drone.dialogs import FlightSummaryDialog

        try:
            from gis_desk.analysis.flight import flight_summary
        except ImportError:  # built in a later step of issue 5
            self.window.presenter.notify("info", "Flight summary", "The flight summary is not available in "
                                                                   "this version of GIS Desk.")
            return None

        layer = self.player.layer
        current = self.window.current_layer()
        if is_footage_layer(current):
            layer = current
        if layer is None:
            self.window.presenter.notify("info", "Flight summary", "Select a footage layer first.")
            return None
        try:
            summary = flight_summary(layer.dataset.telemetry)
        except GisDeskError as exc:
            self._report(exc, "Flight summary")
            return None
        dialog = FlightSummaryDialog(layer, summary, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.dialog = dialog
        return dialog

    def close(self) -> None:
        self.player.close_video()


def _qpoint(x: float, y: float):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


def _is_whole_folder(folder: Path, chosen: list[Path]) -> bool:
    from gis_desk.io.photos import list_photos

    try:
        return {p.resolve() for p in list_photos(folder)} <= {p.resolve() for p in chosen}
    except (OSError, GisDeskError):
        return False


def _photo_reader_takes_files() -> bool:
    import inspect

    from gis_desk.io.photos import read_photos

    return "files" in inspect.signature(read_photos).parameters


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "footage"


def install_drone(window) -> Drone:
    """Add the Drone menu, docks, overlay and map tools to ``window`` (a ``MainWindow``); a second
    call returns the controller already installed."""
    existing = getattr(window, "drone", None)
    if isinstance(existing, Drone):
        return existing
    window.drone = Drone(window)
    return window.drone
