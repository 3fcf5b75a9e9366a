"""Command-line interface (argparse); imports no Qt."""
