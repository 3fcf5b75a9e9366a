"""All Qt code of GIS Desk lives under this package."""
