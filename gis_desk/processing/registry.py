"""Find and instantiate the processing algorithms that active plugins declare.

Algorithms are declared in plugin manifests (``algorithms: [{id, python_name}]``); the class
is imported only when first asked for (``PluginManager.resolve_python_name``), and a plugin
whose code fails to import is disabled and reported by the manager.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

from gis_desk.errors import GisDeskError, ParameterError, PluginError
from gis_desk.processing.algorithm import Algorithm

log = logging.getLogger(__name__)


def resolve_algorithm_id(plugins, algorithm_id: str) -> str:
    """The declared id for ``algorithm_id``, which may omit its plugin prefix when that is
    unambiguous ('buffer' -> 'builtins.buffer').

    Raises ``ParameterError`` naming close matches when no active plugin declares it.
    """
    declared = plugins.algorithm_classes()
    if algorithm_id in declared:
        return algorithm_id
    by_suffix = [aid for aid in declared if aid.split(".", 1)[-1] == algorithm_id]
    if len(by_suffix) == 1:
        return by_suffix[0]
    if by_suffix:
        raise ParameterError(f"Algorithm name {algorithm_id!r} is ambiguous: {', '.join(sorted(by_suffix))}",
                             hint="give the full id")
    by_short_name = {aid.split(".", 1)[-1]: aid for aid in declared}
    close = difflib.get_close_matches(algorithm_id, list(declared), n=3, cutoff=0.6)
    for short in difflib.get_close_matches(algorithm_id, list(by_short_name), n=3, cutoff=0.6):
        if by_short_name[short] not in close:
            close.append(by_short_name[short])
    hint = (f"did you mean {' or '.join(close)}?" if close
            else "run 'gis-desk algorithms list' to see the available algorithms")
    raise ParameterError(f"Unknown algorithm {algorithm_id!r}", hint=hint)


def algorithm_class(plugins, algorithm_id: str) -> tuple[type[Algorithm], str, str]:
    """(class, declared id, plugin name) for ``algorithm_id``.

    Raises ``ParameterError`` (unknown id) or ``PluginError`` (the plugin's code fails to
    load, or the declared object is not an ``Algorithm`` subclass).
    """
    algorithm_id = resolve_algorithm_id(plugins, algorithm_id)
    plugin, python_name = plugins.algorithm_classes()[algorithm_id]
    klass = plugins.resolve_python_name(plugin, python_name)
    if not (isinstance(klass, type) and issubclass(klass, Algorithm)):
        raise PluginError(f"Plugin {plugin!r} declares algorithm {algorithm_id!r} as {python_name}, "
                          "which is not an Algorithm subclass",
                          hint="fix the plugin's manifest or code")
    return klass, algorithm_id, plugin


def create_algorithm(plugins, algorithm_id: str) -> Algorithm:
    """A new instance of the algorithm declared as ``algorithm_id`` by an active plugin.

    The instance's ``id`` is the manifest's id.  Raises ``ParameterError`` for an unknown id
    (listing close matches) and ``PluginError`` when the plugin's code cannot be loaded or the
    constructor raises.
    """
    klass, declared_id, plugin = algorithm_class(plugins, algorithm_id)
    try:
        algorithm = klass()
    except GisDeskError:
        raise
    except Exception as exc:
        plugins.report_failure(plugin, exc)
        raise PluginError(f"Algorithm {declared_id!r} of plugin {plugin!r} could not be created: {exc}",
                          hint="the plugin has been disabled") from exc
    algorithm.id = declared_id
    return algorithm


def list_algorithms(plugins) -> list[tuple[str, str, str, str]]:
    """(id, display name, group, plugin) of every algorithm of the active plugins, sorted by
    group then id.  Algorithms whose plugin fails to load are left out (and the plugin is
    disabled by the manager, which reports it)."""
    rows: list[tuple[str, str, str, str]] = []
    for algorithm_id in plugins.algorithm_classes():
        try:
            klass, _, plugin = algorithm_class(plugins, algorithm_id)
        except GisDeskError as exc:
            log.warning("algorithm %s unavailable: %s", algorithm_id, exc)
            continue
        rows.append((algorithm_id, klass.display_name or algorithm_id, klass.group or "", plugin))
    return sorted(rows, key=lambda row: (row[2].lower(), row[0]))


def algorithm_summaries(plugins) -> list[dict[str, Any]]:
    """``list_algorithms`` as dicts (for JSON output)."""
    return [{"id": a, "display_name": d, "group": g, "plugin": p} for a, d, g, p in list_algorithms(plugins)]
