"""The main window's actions, menus and toolbars, with QGIS-like names and shortcuts.

``build_actions(window)`` creates every ``QAction`` (attributes of the returned
``Actions``), ``build_menus`` and ``build_toolbars`` lay them out.  Slots are methods of
``MainWindow``; this module only wires them.
"""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import QSize
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolBar

from gis_desk.qt.icons import icon

MAP_TOOLS = (  # (tool name, action attribute, label, icon, shortcut)
    ("pan", "pan", "Pan Map", "pan", "P"),
    ("zoom_in_box", "zoom_box", "Zoom In (drag a box)", "zoom_in", "Z"),
    ("identify", "identify", "Identify Features", "identify", "Ctrl+Shift+I"),
    ("measure_distance", "measure_line", "Measure Line", "measure_line", "Ctrl+Shift+M"),
    ("measure_area", "measure_area", "Measure Area", "measure_area", "Ctrl+Shift+J"),
    ("select", "select", "Select Features", "select", "S"),
)


def build_actions(w) -> SimpleNamespace:
    def act(text, slot=None, icon_name=None, shortcut=None, tip=None, checkable=False) -> QAction:
        a = QAction(text, w)
        if icon_name:
            a.setIcon(icon(icon_name))
        if shortcut:
            keys = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            a.setShortcuts([QKeySequence(k) for k in keys])
        tip = tip or text.replace("…", "").replace("&", "")
        if shortcut:
            tip += f" ({QKeySequence(keys[0]).toString(QKeySequence.SequenceFormat.NativeText)})"
        a.setToolTip(tip)
        a.setStatusTip(tip)
        a.setCheckable(checkable)
        if slot is not None:
            a.triggered.connect(lambda _checked=False: slot())
        w.addAction(a)  # shortcuts work even when the toolbar is hidden
        return a

    a = SimpleNamespace()
    # Project
    a.new = act("&New", w.new_project, "new_project", "Ctrl+N")
    a.open = act("&Open…", w.open_project_dialog, "open_project", "Ctrl+O")
    a.save = act("&Save", w.save, "save_project", "Ctrl+S")
    a.save_as = act("Save &As…", w.save_as, "save_as", "Ctrl+Shift+S")
    a.add_data = act("Add &Data…", w.add_data_dialog, "add_data", "Ctrl+Shift+A",
                     tip="Add vector, raster or basemap data")
    a.export_image = act("&Export Map to Image…", w.export_map_image, "export_image")
    a.quit = act("E&xit GIS Desk", w.close, "quit", "Ctrl+Q")
    # Edit
    a.undo = act("&Undo", w.session.undo_stack.undo, "undo", "Ctrl+Z")
    a.redo = act("&Redo", w.session.undo_stack.redo, "redo", ["Ctrl+Shift+Z", "Ctrl+Y"])
    a.remove_layer = act("&Remove Layer", w.layer_tree.remove_selected, "remove_layer", "Del",
                         tip="Remove the selected layers")
    a.rename_layer = act("Re&name Layer", w.layer_tree.rename_current, None, "F2")
    a.attribute_table = act("Open &Attribute Table", w.open_attribute_table_current, "attribute_table", "F6")
    a.style = act("Layer &Style…", w.style_current_layer, "style")
    # View
    a.tools = QActionGroup(w)
    a.tools.setExclusive(True)
    a.tool_actions = {}
    for tool, attr, label, icon_name, shortcut in MAP_TOOLS:
        tool_action = act(label, lambda t=tool: w.canvas.set_tool(t), icon_name, shortcut, checkable=True)
        a.tools.addAction(tool_action)
        a.tool_actions[tool] = tool_action
        setattr(a, attr, tool_action)
    a.pan.setChecked(True)
    a.zoom_in = act("Zoom &In", w.canvas.zoom_in, "zoom_in", ["Ctrl++", "Ctrl+="])
    a.zoom_out = act("Zoom &Out", w.canvas.zoom_out, "zoom_out", "Ctrl+-")
    a.zoom_full = act("Zoom &Full", w.canvas.zoom_full, "zoom_full", "Ctrl+Shift+F")
    a.zoom_layer = act("Zoom to &Layer", w.zoom_to_current_layer, "zoom_layer")
    a.zoom_selection = act("Zoom to &Selection", w.zoom_to_selection, "zoom_selection", "Ctrl+J")
    a.refresh = act("&Refresh", w.canvas.refresh, "refresh", "F5")
    a.bookmark_new = act("&New Spatial Bookmark…", w.new_bookmark, "bookmark_new", "Ctrl+B")
    a.bookmark_list = act("Show Spatial &Bookmarks…", w.show_bookmarks, "bookmarks", "Ctrl+Shift+B")
    # Processing, plugins, help
    a.toolbox = act("&Toolbox", None, "toolbox", "Ctrl+Alt+T")
    a.plugin_manager = act("&Manage Plugins…", w.show_plugin_manager, "plugins")
    a.about = act("&About GIS Desk", w.show_about, "app")
    a.formats = act("&Supported Formats", w.show_formats, "info")
    a.project_crs = act("Project &CRS…", w.choose_project_crs, "crs")
    return a


def build_menus(w, a: SimpleNamespace) -> dict:
    bar = w.menuBar()
    menus = {}
    m = menus["Project"] = bar.addMenu("&Project")
    m.addActions([a.new, a.open])
    w.recent_menu = m.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(w.fill_recent_menu)
    m.addSeparator()
    m.addActions([a.save, a.save_as])
    m.addSeparator()
    m.addAction(a.add_data)
    m.addAction(a.export_image)
    m.addSeparator()
    m.addAction(a.project_crs)
    m.addSeparator()
    m.addAction(a.quit)

    m = menus["Edit"] = bar.addMenu("&Edit")
    m.addActions([a.undo, a.redo])
    m.addSeparator()
    m.addActions([a.rename_layer, a.remove_layer])

    m = menus["View"] = bar.addMenu("&View")
    m.addActions(list(a.tool_actions.values()))
    m.addSeparator()
    m.addActions([a.zoom_in, a.zoom_out, a.zoom_full, a.zoom_layer, a.zoom_selection])
    m.addSeparator()
    b = m.addMenu(icon("bookmarks"), "&Bookmarks")
    b.addActions([a.bookmark_new, a.bookmark_list])
    w.bookmarks_menu = b.addMenu("&Go to")
    w.bookmarks_menu.aboutToShow.connect(w.fill_bookmarks_menu)
    m.addSeparator()
    w.panels_menu = m.addMenu("&Panels")
    w.toolbars_menu = m.addMenu("&Toolbars")
    m.addSeparator()
    m.addAction(a.refresh)

    m = menus["Layer"] = bar.addMenu("&Layer")
    m.addAction(a.add_data)
    m.addSeparator()
    m.addActions([a.attribute_table, a.style, a.zoom_layer, a.remove_layer])

    m = menus["Processing"] = bar.addMenu("Pro&cessing")
    m.addAction(a.toolbox)
    m = menus["Plugins"] = bar.addMenu("Plu&gins")
    m.addAction(a.plugin_manager)
    m.addSeparator()
    m = menus["Help"] = bar.addMenu("&Help")
    m.addActions([a.formats, a.about])
    return menus


def build_toolbars(w, a: SimpleNamespace) -> dict:
    bars = {}

    def bar(name: str, title: str, actions) -> QToolBar:
        tb = QToolBar(title, w)
        tb.setObjectName(name)
        tb.setIconSize(QSize(22, 22))
        for item in actions:
            if item is None:
                tb.addSeparator()
            else:
                tb.addAction(item)
        w.addToolBar(tb)
        w.toolbars_menu.addAction(tb.toggleViewAction())
        bars[name] = tb
        return tb

    bar("project_toolbar", "Project", [a.new, a.open, a.save, a.save_as, None, a.add_data, None, a.undo, a.redo])
    bar("navigation_toolbar", "Map Navigation",
        [a.pan, a.zoom_box, a.zoom_in, a.zoom_out, a.zoom_full, a.zoom_layer, a.zoom_selection, None,
         a.bookmark_new, a.bookmark_list, a.refresh])
    bar("attributes_toolbar", "Attributes",
        [a.identify, a.select, a.attribute_table, None, a.measure_line, a.measure_area, None, a.style, a.toolbox])
    return bars
