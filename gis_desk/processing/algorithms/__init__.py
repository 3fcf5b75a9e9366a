"""Built-in processing algorithms, declared in ``gis_desk/builtins/gis_desk.yaml``."""
