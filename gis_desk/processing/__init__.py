"""Processing algorithms declared once, run by the GUI, the CLI and tests alike."""
