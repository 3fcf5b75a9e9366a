"""Pytest fixtures for GIS Desk and its plugins (registered as a pytest11 entry point)."""
