#!/usr/bin/env bash
# Prepare a checkout to run GIS Desk: system libraries, a virtual environment, the package.
#
#   scripts/bootstrap.sh                 what `make run` and `make test` call first
#   scripts/bootstrap.sh --system-only   only steps 1 and 2 (`make system-packages`)
#
# 1. Python >= 3.11 (PYTHON=python3.12 to choose another interpreter).
# 2. Debian/Ubuntu packages listed in scripts/debian-packages.txt that dpkg says are missing
#    are installed with apt-get (through sudo when not root; `apt-get update` once, only when
#    something is missing). On other systems it names the packages to install and goes on.
#    GIS_DESK_SKIP_SYSTEM_PACKAGES=1 skips this step.
# 3. .venv is created if absent and reused otherwise; `pip install -e ".[test]"` runs only when
#    pyproject.toml changed since the last install (its hash is kept in .venv/.gis-desk-installed).
# Runs without a terminal (CI=true, no stdin): apt and pip never ask questions.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"
STAMP="$VENV/.gis-desk-installed"
PACKAGE_LIST="$ROOT/scripts/debian-packages.txt"
SYSTEM_ONLY=0
case "${1:-}" in
    --system-only) SYSTEM_ONLY=1 ;;
    "") ;;
    *) echo "usage: $0 [--system-only]" >&2; exit 2 ;;
esac

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

# --- 1. Python ---------------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 \
    || die "$PYTHON not found. GIS Desk needs Python 3.11 or newer: install it (Debian/Ubuntu: sudo apt-get install python3 python3-venv) or run 'make PYTHON=/path/to/python3.11 ...'."
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    die "$("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])') is too old: GIS Desk needs Python 3.11 or newer. Install a newer Python and run 'make PYTHON=python3.11 ...'."
fi

# --- 2. system packages ------------------------------------------------------------------------
wanted_packages() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$PACKAGE_LIST" | grep -v '^$'
    # python3 -m venv needs ensurepip, which Debian ships separately (python3.X-venv).
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 && [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}-venv")'
    fi
}

missing_packages() {
    # dpkg-query prints one status line per known package; unknown ones go to stderr.
    local pkgs; pkgs="$(wanted_packages)"
    local installed
    installed="$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null \
                 | awk '$NF == "installed" {print $1}')" || true
    for p in $pkgs; do
        grep -qxF "$p" <<<"$installed" || echo "$p"
    done
}

install_system_packages() {
    if [ "${GIS_DESK_SKIP_SYSTEM_PACKAGES:-0}" = "1" ]; then
        say "skipping system packages (GIS_DESK_SKIP_SYSTEM_PACKAGES=1)"
        return
    fi
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        say "warning: this is not a Debian/Ubuntu system, so system libraries are not installed automatically."
        say "GIS Desk needs the equivalents of these Debian packages (Qt's X11/OpenGL libraries, fonts,"
        say "OpenMP, libusb, Xvfb, poppler):"
        wanted_packages | tr '\n' ' ' | fold -s -w 96 | sed 's/^/    /'; echo
        say "install them with your package manager, then set GIS_DESK_SKIP_SYSTEM_PACKAGES=1 to silence this."
        return
    fi
    local missing; missing="$(missing_packages | tr '\n' ' ')"
    missing="${missing% }"
    [ -z "$missing" ] && return
    say "installing missing system packages: $missing"
    local -a sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 \
            || die "not root and sudo is not installed. As root, run: apt-get install $missing"
        # Without a terminal (CI) sudo must not wait for a password that nobody can type.
        if [ -t 0 ]; then sudo_cmd=(sudo); else sudo_cmd=(sudo -n); fi
    fi
    local -a apt=("${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
                  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    "${apt[@]}" update \
        || die "apt-get update failed. Run it yourself, then: sudo apt-get install $missing"
    # shellcheck disable=SC2086
    "${apt[@]}" install --no-install-recommends $missing \
        || die "apt-get could not install: $missing (run: sudo apt-get install $missing)"
}

install_system_packages
[ "$SYSTEM_ONLY" = 1 ] && exit 0

# --- 3. virtual environment and the package ----------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment $VENV"
    "$PYTHON" -m venv "$VENV" \
        || die "could not create $VENV (Debian/Ubuntu: sudo apt-get install python3-venv)"
fi
"$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || die "$VENV uses a Python older than 3.11: remove it (rm -rf $VENV) and run again."

want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    say "installing gis-desk and its test tools into $VENV (pyproject.toml changed or first run)"
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    "$VENV/bin/python" -m pip install -q -e ".[test]"
    echo "$want" > "$STAMP"
fi
