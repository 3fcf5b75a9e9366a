"""GIS Desk planning plugin (features arrive with the planning issue)."""
