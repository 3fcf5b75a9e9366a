"""The built-in plugin: GIS Desk's own readers, writers and algorithms, declared in
``gis_desk.yaml`` and registered through the same ``gis_desk.plugins`` entry point as any plugin."""
