"""PyInstaller hook for ``gis_desk``.

Plugins and their contributions (readers, algorithms, widgets) are found at run time through the
``gis_desk.plugins`` entry points and imported by name from their manifests, which PyInstaller's
import analysis cannot see: so every submodule is bundled, with the YAML manifests, JSON and SVG
package data and the distribution metadata that holds the entry points.
"""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

hiddenimports = collect_submodules("gis_desk", filter=lambda name: not name.startswith("gis_desk.testing"))
datas = collect_data_files("gis_desk", includes=["**/*.yaml", "**/*.json", "**/*.svg", "**/*.qss"])
datas += copy_metadata("gis-desk")
