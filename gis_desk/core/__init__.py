"""Qt-free core: project model, layers, styles, CRS helpers, undo commands."""
