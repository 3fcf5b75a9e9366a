"""Helpers for plugin dock panels (Qt): the parts every data-keeping panel needs.

``follow_layers`` lets a panel pick up its own kind of data however it enters the project (a
saved project reopening, Add Data, drag and drop) and drop it when the layer goes;
``select_row`` selects a table row whatever keyboard modifiers happen to be held (``selectRow``
toggles under Ctrl).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QTableView


def follow_layers(session, reader_id: str, added: Callable, removed: Callable) -> None:
    """Call ``added(layer)`` for each project layer read by ``reader_id`` (those present now and
    any added later) and ``removed(layer)`` for every layer removed."""
    layers = session.project.layers

    def on_inserted(_index, layer) -> None:
        source = getattr(layer, "source", None)
        if source is not None and source.reader == reader_id:
            added(layer)

    layers.events.inserted.connect(on_inserted)
    layers.events.removed.connect(lambda _index, layer: removed(layer))
    for layer in list(layers):
        on_inserted(None, layer)


def select_row(table: QTableView, row: int) -> None:
    index = table.model().index(row, 0)
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    table.selectionModel().setCurrentIndex(index, flags)
