"""Undoable commands and the undo stack (Qt-free; the GUI binds Ctrl+Z / Ctrl+Shift+Z to it)."""

from __future__ import annotations

from typing import Any

from psygnal import Signal

from gis_desk.core.layer import Layer


class Command:
    text: str = ""

    def redo(self) -> None:  # also the first "do"
        ...

    def undo(self) -> None:
        ...


class UndoStack:
    """Linear undo history; pushing a command runs it.  ``changed()`` fires after any move."""

    changed = Signal()

    def __init__(self, limit: int = 200) -> None:
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self.limit = limit

    def push(self, command: Command) -> None:
        command.redo()
        self._done.append(command)
        del self._done[: -self.limit]
        self._undone.clear()
        self.changed.emit()

    def undo(self) -> str | None:
        if not self._done:
            return None
        cmd = self._done.pop()
        cmd.undo()
        self._undone.append(cmd)
        self.changed.emit()
        return cmd.text

    def redo(self) -> str | None:
        if not self._undone:
            return None
        cmd = self._undone.pop()
        cmd.redo()
        self._done.append(cmd)
        self.changed.emit()
        return cmd.text

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self.changed.emit()


class AddLayers(Command):
    def __init__(self, layers_list, layers: list[Layer], index: int | None = None) -> None:
        self.target, self.layers, self.index = layers_list, list(layers), index
        self.text = f"Add {len(layers)} layer(s)" if len(layers) != 1 else f"Add layer {layers[0].name}"

    def redo(self) -> None:
        at = len(self.target) if self.index is None else self.index
        for offset, layer in enumerate(self.layers):
            self.target.insert(at + offset, layer)

    def undo(self) -> None:
        for layer in self.layers:
            self.target.remove(layer)


class RemoveLayers(Command):
    def __init__(self, layers_list, layers: list[Layer]) -> None:
        self.target = layers_list
        self.entries = sorted(((layers_list.index(l), l) for l in layers), key=lambda e: e[0])
        self.text = f"Remove layer {layers[0].name}" if len(layers) == 1 else f"Remove {len(layers)} layers"

    def redo(self) -> None:
        for _, layer in reversed(self.entries):
            self.target.remove(layer)

    def undo(self) -> None:
        for index, layer in self.entries:
            self.target.insert(index, layer)


class MoveLayer(Command):
    def __init__(self, layers_list, src: int, dst: int) -> None:
        self.target, self.src, self.dst = layers_list, src, dst
        self.text = f"Move layer {layers_list[src].name}"

    def redo(self) -> None:
        self.target.move(self.src, self.dst if self.dst <= self.src else self.dst + 1)

    def undo(self) -> None:
        self.target.move(self.dst, self.src if self.src <= self.dst else self.src + 1)


class SetLayerProperty(Command):
    """Change name, visible, opacity or style of one layer."""

    def __init__(self, layer: Layer, prop: str, value: Any) -> None:
        self.layer, self.prop, self.value = layer, prop, value
        self.old = getattr(layer, prop)
        self.text = f"Change {prop} of {layer.name}"

    def redo(self) -> None:
        setattr(self.layer, self.prop, self.value)

    def undo(self) -> None:
        setattr(self.layer, self.prop, self.old)
