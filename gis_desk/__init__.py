"""GIS Desk: offline desktop GIS and drone-survey analysis for UK councils.

Importing this package stays cheap: heavy libraries load lazily where used.
"""

__version__ = "0.1.0"
