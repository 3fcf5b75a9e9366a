"""A map tool to draw an application's site boundary: click the corners, double-click (or
right-click) to finish, Esc to start again.  Built on the canvas's area-measuring tool, so the
officer sees the area and perimeter while drawing."""

from __future__ import annotations

from typing import Callable

from gis_desk.qt.canvas.tools import MeasureAreaTool


class BoundaryTool(MeasureAreaTool):
    name = "planning_boundary"

    def __init__(self, canvas, on_finished: Callable[[list[tuple[float, float]]], object]) -> None:
        super().__init__(canvas)
        self.on_finished = on_finished

    def finish(self) -> None:
        was_finished = self.finished
        super().finish()
        if self.finished and not was_finished:
            vertices = list(self.band.vertices)
            self.canvas.set_tool("pan")
            self.on_finished(vertices)
