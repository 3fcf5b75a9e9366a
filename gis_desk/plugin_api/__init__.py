"""What plugins import: manifest schema, the plugin manager, processing base classes."""

from gis_desk.plugin_api.manifest import Manifest, load_manifest, validate_manifest_file

__all__ = ["Manifest", "load_manifest", "validate_manifest_file"]
