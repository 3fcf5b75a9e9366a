"""User settings kept outside any project (platformdirs config dir, JSON).

``GIS_DESK_CONFIG_DIR`` overrides the location (tests use a temporary folder).  Holds
disabled plugins, recent projects and other per-user state; secrets such as the
pseudonymisation key live here too, never in a project.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gis_desk.io.atomic import atomic_write_text


def config_dir() -> Path:
    override = os.environ.get("GIS_DESK_CONFIG_DIR")
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_config_dir("gis-desk", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings() -> dict[str, Any]:
    """Current settings; a damaged file is set aside (``settings.json.bad``) rather than fatal."""
    path = settings_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        try:
            path.replace(path.with_suffix(".json.bad"))
        except OSError:
            pass
        return {}


def save_settings(data: dict[str, Any]) -> None:
    atomic_write_text(settings_path(), json.dumps(data, indent=2, sort_keys=True))


def get_setting(key: str, default: Any = None) -> Any:
    return load_settings().get(key, default)


def set_setting(key: str, value: Any) -> None:
    data = load_settings()
    data[key] = value
    save_settings(data)


MAX_RECENT = 10


def add_recent_project(path: str | Path) -> list[str]:
    path = str(Path(path).resolve())
    recent = [p for p in get_setting("recent_projects", []) if p != path]
    recent.insert(0, path)
    del recent[MAX_RECENT:]
    set_setting("recent_projects", recent)
    return recent


def recent_projects() -> list[str]:
    return list(get_setting("recent_projects", []))
