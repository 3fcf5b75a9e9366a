"""Help > About GIS Desk and Help > Supported Formats (from the active reader contributions)."""

from __future__ import annotations

import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout)

import gis_desk
from gis_desk.qt.icons import icon


def reader_formats(plugins) -> list[tuple[str, list[str], str]]:
    """(title, filename patterns, plugin) of every active reader."""
    out = []
    for c in plugins.contributions("readers"):
        info = plugins.plugins[c.plugin]
        try:
            title = info.manifest.command(c.data["command"]).get("title") or c.data["command"]
        except KeyError:
            title = c.data["command"]
        out.append((str(title), list(c.data.get("filename_patterns", [])), info.display_name))
    return out


def file_filters(plugins) -> str:
    """A file-dialog filter string: all supported, one entry per reader, all files."""
    rows = reader_formats(plugins)
    every = sorted({p for _, pats, _ in rows for p in pats})
    parts = [f"All supported files ({' '.join(every)} *.gdesk)"] if every else []
    parts += [f"{title.split('(')[0].strip()} ({' '.join(pats)})" for title, pats, _ in rows]
    parts += ["GIS Desk projects (*.gdesk)", "All files (*)"]
    return ";;".join(parts)


class AboutDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About GIS Desk")
        layout = QVBoxLayout(self)
        logo = QLabel()
        logo.setPixmap(icon("app").pixmap(72, 72))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            f"<h2>GIS Desk {gis_desk.__version__}</h2>"
            "<p>Offline desktop GIS and drone-survey analysis for UK councils.</p>"
            f"<p>Python {platform.python_version()} · Qt for Python {pyside_version}</p>"
            "<p>Contains OS data © Crown copyright and database right; ONS and council open data "
            "under the Open Government Licence where sample data is used.</p>")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(logo)
        layout.addWidget(text)
        layout.addWidget(buttons)


class FormatsDialog(QDialog):
    def __init__(self, plugins, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Supported Formats")
        self.resize(640, 320)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Format", "File names", "Provided by"])
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 300)
        for title, patterns, plugin in reader_formats(plugins):
            self.tree.addTopLevelItem(QTreeWidgetItem([title, " ".join(patterns), plugin]))
        self.tree.addTopLevelItem(QTreeWidgetItem(["GIS Desk project", "*.gdesk", "GIS Desk"]))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
