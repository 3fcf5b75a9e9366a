"""GIS Desk estates plugin (features arrive with the estates issue)."""
