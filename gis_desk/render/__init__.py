"""Qt-free map rendering (skia): the canvas and ``gis-desk render`` share this renderer."""
