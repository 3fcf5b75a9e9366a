"""GIS Desk estates plugin: the council's land and property portfolio.

``register`` imports an asset register with an honest placement report, ``portfolio`` keeps
statuses, leases and the condition-survey history in one GeoPackage, ``brochure`` writes sale
and lease particulars and an offline bundle, ``panel`` is the Estates dock.  The plugin uses only
the public plugin contract: its manifest (``gis_desk.yaml``), the session it is handed, and the
Qt-free core.
"""
