#!/bin/sh
# Compile the firmware modules ahead of time, for one of two targets:
#
#   build.sh esp8266   build/esp8266/: .mpy bytecode for -march=xtensa, to
#                      flash next to main.py or to freeze (README.md)
#   build.sh unix      build/unix/: what the Unix twin runs under esp-sim.
#                      On x86-64 the modules are native machine code
#                      (-march=x64 -X emit=native), which the Unix port keeps
#                      in executable pages outside the MicroPython heap: the
#                      twin's counterpart of bytecode frozen in the board's
#                      flash (design: "code should be frozen bytecode"), so
#                      that -X heapsize=36k measures the firmware's data, not
#                      its code. Elsewhere, plain bytecode (needs a larger
#                      heap, README.md "Memory").
#                      The modules the bridge loads and drops again and again
#                      (hello, net, config, apply: $dropped) are bytecode on every
#                      machine: each load of a native module leaves some heap
#                      for good under the Unix port (README.md "Memory"), which
#                      would run a long-lived twin out of heap; bytecode leaves
#                      nothing, and is what the board runs too.
#
# -O3: no line numbers in tracebacks (they cost heap on the board). Each module
# gets its own name as the embedded source name (-s): it is interned anyway, a
# path would be one more string in the heap; tracebacks read File "link".
# Only modules older than their source are rebuilt; each file is written under
# a temporary name and renamed, so that boards started in parallel never load
# a half-written module.
#
#   MPY_CROSS=path build.sh ...  the compiler; else mpy-cross from $BIN (main.py
#                                passes the micropython executable's directory),
#                                PATH, or the project's .venv
#   MPY_MARCH="-march=..."       override the unix target's code generation
set -e
here=$(cd "$(dirname "$0")" && pwd)
target=${1:-esp8266}
case $target in
esp8266)
    march="-march=xtensa"
    sources="hw_esp8266.py bridge/*.py"
    ;;
unix)
    case $(uname -m) in
    x86_64) march=${MPY_MARCH:-"-march=x64 -X emit=native"} ;;
    *) march=${MPY_MARCH:-} ;;
    esac
    sources="hw_unix.py bridge/*.py"
    dropped="bridge/hello.py bridge/net.py bridge/config.py bridge/apply.py"
    ;;
*)
    echo "usage: build.sh [esp8266|unix]" >&2
    exit 2
    ;;
esac
out=$here/build/$target
mpy=${MPY_CROSS:-}
[ -n "$mpy" ] || { [ -n "${BIN:-}" ] && [ -x "$BIN/mpy-cross" ] && mpy=$BIN/mpy-cross; } || true
[ -n "$mpy" ] || mpy=$(command -v mpy-cross || echo "$here/../.venv/bin/mpy-cross")
mkdir -p "$out/bridge"
cd "$here"
# The code generation used is recorded: a change rebuilds everything.
if [ "$(cat "$out/.march" 2>/dev/null)" != "$march; bytecode: ${dropped:-}" ]; then
    rm -f "$out"/*.mpy "$out"/bridge/*.mpy
    echo "$march; bytecode: ${dropped:-}" >"$out/.march"
fi
for dst in "$out"/*.mpy "$out"/bridge/*.mpy; do # modules whose source is gone
    src=${dst#"$out"/}
    [ -e "$dst" ] && [ ! -e "${src%.mpy}.py" ] && rm -f "$dst"
done
for src in $sources; do
    dst=$out/${src%.py}.mpy
    if [ ! -e "$dst" ] || [ "$src" -nt "$dst" ]; then
        name=${src##*/}
        m=$march
        case " ${dropped:-} " in *" $src "*) m= ;; esac
        # shellcheck disable=SC2086 # $m is a list of options
        "$mpy" $m -O3 -s "${name%.py}" -o "$dst.$$" "$src"
        mv -f "$dst.$$" "$dst"
    fi
done
