#!/usr/bin/env bash
# Check that the Qt libraries and plugins GIS Desk uses find every system library they link.
#
#   scripts/check_qt_libs.sh        (`make doctor`)   exit 0 when all resolve, 1 otherwise
#
# Runs ldd on the PySide6 wheel's X11/offscreen platform plugins, the xcb GL integrations,
# image format and icon engine plugins, and the libQt6*.so modules GIS Desk imports; prints each
# library reported "not found" and which Qt file needs it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
QT="$("$VENV/bin/python" -c 'import PySide6, os; print(os.path.join(os.path.dirname(PySide6.__file__), "Qt"))')"

files=()
for f in "$QT"/plugins/platforms/libq{xcb,offscreen}.so "$QT"/plugins/xcbglintegrations/*.so \
         "$QT"/plugins/imageformats/*.so "$QT"/plugins/iconengines/*.so \
         "$QT"/lib/libQt6{Core,Gui,Widgets,OpenGL,OpenGLWidgets,Svg,SvgWidgets,XcbQpa,DBus,Network,Concurrent,PrintSupport}.so.6 \
         "$QT"/lib/libQt6Multimedia*.so.6 "$QT"/plugins/multimedia/*.so; do
    [ -e "$f" ] && files+=("$f")
done
# Modules of the wheel that need libraries of optional Qt add-ons are not ours to check (pdf).
missing="$(for f in "${files[@]}"; do ldd "$f" 2>/dev/null | awk -v f="${f#"$QT"/}" '/not found/ {print $1 "\t" f}'; done \
           | grep -v -E '^libQt6(Pdf)\.so' | sort -u || true)"
echo "checked ${#files[@]} Qt libraries and plugins under $QT"
if [ -z "$missing" ]; then
    echo "doctor: every system library Qt needs is present"
    exit 0
fi
echo "doctor: system libraries not found (library, needed by):"
echo "$missing" | sed 's/^/    /'
echo "install the packages in scripts/debian-packages.txt (make run or make test does it on Debian/Ubuntu)"
exit 1
