#!/usr/bin/env bash
# Open GIS Desk (from .venv) on the bundled sample survey, or on the files given as arguments.
#
#   scripts/run_app.sh [PROJECT_OR_FILE...]     what `make run` calls after bootstrap.sh
#
# Without a display it says so and how to proceed, instead of letting Qt abort with
# "could not connect to display". QT_QPA_PLATFORM=offscreen (or vnc, minimal...) is respected.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
SAMPLE="$ROOT/sample_surveys/trafford/trafford.gdesk"

no_display() {
    cat >&2 <<MSG
run_app: $1
GIS Desk is a desktop application and needs a screen. Either
  - run it from a desktop session (or 'ssh -X' with an X server on your side), or
  - run it on a virtual screen:      xvfb-run -a make run
  - or draw the sample map headless: .venv/bin/gis-desk render $SAMPLE --out map.png
MSG
    exit 2
}

# An X display ':N' is reachable when its socket exists; remote ones (host:N) are trusted.
display_is_usable() {
    case "${QT_QPA_PLATFORM:-}" in
        offscreen*|minimal*|vnc*|eglfs*|linuxfb*) return 0 ;;
        wayland*) [ -n "${WAYLAND_DISPLAY:-}" ] && return 0; no_display "QT_QPA_PLATFORM=wayland but WAYLAND_DISPLAY is not set." ;;
    esac
    [ -n "${WAYLAND_DISPLAY:-}" ] && return 0
    [ -n "${DISPLAY:-}" ] || no_display "no display: the DISPLAY environment variable is not set."
    if [[ "$DISPLAY" =~ ^(unix)?:([0-9]+)(\.[0-9]+)?$ ]]; then
        local n="${BASH_REMATCH[2]}"
        [ -S "/tmp/.X11-unix/X$n" ] || no_display "DISPLAY=$DISPLAY but no X server is listening on it (/tmp/.X11-unix/X$n is missing)."
    fi
    return 0
}

if [ "$(uname -s)" = "Linux" ]; then
    display_is_usable
fi

[ -x "$VENV/bin/python" ] || { echo "run_app: $VENV is missing: run 'make run' (it creates it)" >&2; exit 1; }
if [ "$#" -eq 0 ]; then
    [ -f "$SAMPLE" ] || { echo "run_app: the sample project $SAMPLE is missing: run 'make samples'" >&2; exit 1; }
    set -- "$SAMPLE"
fi
exec "$VENV/bin/python" -m gis_desk "$@"
