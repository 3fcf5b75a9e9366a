"""Package data shipped with GIS Desk (camera table...); read with importlib.resources."""
