"""Pure analysis functions on arrays and geometries (no I/O, no Qt)."""
