"""Printable reports (PDF, reportlab).  ``change_report.build_change_report`` writes the
structural change report of a two-epoch point-cloud comparison."""
