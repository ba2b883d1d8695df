#!/bin/sh
# Compile the firmware modules to .mpy bytecode with mpy-cross -march=xtensa
# -O3 (no line numbers in tracebacks: they cost heap on the board).
# The ESP8266 runs these files (copy them and main.py to its flash, README.md);
# the Unix port loads the very same files, and main.py runs this script under
# esp-sim to refresh them. Only modules older than their source are rebuilt;
# each file is written under a temporary name and renamed, so that boards
# started in parallel never load a half-written module.
#
#   build.sh [OUTDIR]        default: firmware/build
#   MPY_CROSS=path build.sh  the compiler; else mpy-cross from $BIN (main.py
#                            passes the micropython executable's directory),
#                            PATH, or the project's .venv
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
mpy=${MPY_CROSS:-}
[ -n "$mpy" ] || { [ -n "${BIN:-}" ] && [ -x "$BIN/mpy-cross" ] && mpy=$BIN/mpy-cross; } || true
[ -n "$mpy" ] || mpy=$(command -v mpy-cross || echo "$here/../.venv/bin/mpy-cross")
mkdir -p "$out/bridge"
cd "$here"
for dst in "$out"/*.mpy "$out"/bridge/*.mpy; do  # modules whose source is gone
    src=${dst#"$out"/}
    [ -e "$dst" ] && [ ! -e "${src%.mpy}.py" ] && rm -f "$dst"
done
for src in hw_unix.py hw_esp8266.py bridge/*.py; do
    dst=$out/${src%.py}.mpy
    if [ ! -e "$dst" ] || [ "$src" -nt "$dst" ]; then
        "$mpy" -march=xtensa -O3 -o "$dst.$$" "$src"
        mv -f "$dst.$$" "$dst"
    fi
done
