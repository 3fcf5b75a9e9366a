"""GIS Desk planning plugin: town planning (development management).

``applications`` imports application lists and keeps the register (boundaries, notes, key
frames) and checks constraints; ``review`` gathers a site's footage and photos from the project;
``committee`` writes committee packs and the offline clip bundle; ``panel`` is the Planning dock.
It uses only the plugin contract: its manifest, the session it is handed, the Qt-free core, and
the map canvas's public extension points for drawing a boundary.
"""
