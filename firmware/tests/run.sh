#!/bin/sh
# Runs every firmware test and prints "N passed, M failed" last; the exit
# status is non-zero if anything failed.
#
#   (d) every module compiles with mpy-cross -march=xtensa (the ESP8266)
#   (a) test_link.py  link codec and the reliable delivery of section 8
#                     with a manual clock             MicroPython
#   (b) test_mqtt.py  MQTT client, real mosquitto     MicroPython
#   (e) test_clock.py the NTP client (ntp.py) against SNTP and DNS servers
#                     played on loopback UDP          MicroPython
#   (h) test_config.py a CONFIG on a running bridge: acknowledged on the link
#                     only once CONFIG_ACK went out; without heap for its
#                     modules, left for the host to send again  MicroPython
#   (g) test_reload.py the modules the bridge drops after use leave no heap
#                     behind when loaded again and again (build.sh unix)
#                                                     MicroPython
#   (c) test_e2e.py   whole firmware over a pty, under -X heapsize=36k
#                     (FW_HEAP), real mosquitto, a CPython host of
#                     section 8 (v2host.py)           CPython drives it
#   (f) test_e2e_clock.py  the same, with SNTP and DNS servers played on
#                     loopback UDP: the clock in STATS  CPython drives it
#
# Each test program prints one line per check, "ok ..." or "FAIL ...". The
# unit tests (a, b) compile their own source at start, which needs more heap
# than the firmware does; they get 512k. The firmware itself (c) runs in
# 36k, as under esp-sim.
#
# Needs: micropython and mpy-cross (the project's .venv, or PATH, or
# MICROPYTHON / MPY_CROSS), mosquitto, mosquitto_pub, mosquitto_sub, python3.
set -u
here=$(cd "$(dirname "$0")" && pwd)
fw=$(dirname "$here")
venv=$(dirname "$fw")/.venv/bin
MICROPYTHON=${MICROPYTHON:-$(command -v micropython || echo "$venv/micropython")}
MPY_CROSS=${MPY_CROSS:-$(command -v mpy-cross || echo "$venv/mpy-cross")}
export MICROPYTHON MPY_CROSS
tmp=$(mktemp -d /tmp/mqttbridge-fw-test.XXXXXX)
results=$tmp/results
: >"$results"

ports=$(python3 -c '
import socket
s = [socket.socket() for i in range(4)] + [socket.socket(type=socket.SOCK_DGRAM) for i in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $ports
MQTT_PORT=$1 FAKE_PORT=$2 CLOSED_PORT=$3 LINE_PORT=$4 NTP_PORT=$5 DNS_PORT=$6
export MQTT_PORT FAKE_PORT CLOSED_PORT LINE_PORT NTP_PORT DNS_PORT TEST_DIR="$tmp"

cleanup() {
    sh "$here/broker.sh" stop "$tmp" "$MQTT_PORT"
    for f in "$tmp"/*.pid; do  # mosquitto_sub left by a test that stopped early
        [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# run NAME COMMAND...: the program's check lines go to the results; a
# program that fails without saying why counts as one failure.
run() {
    name=$1
    shift
    echo "== $name"
    "$@" >"$tmp/out" 2>&1
    rc=$?
    cat "$tmp/out"
    grep -E '^(ok|FAIL) ' "$tmp/out" >>"$results"
    if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$tmp/out"; then
        echo "FAIL $name exited with status $rc" | tee -a "$results"
    fi
}

compile_all() {
    cd "$fw" || return 1
    for f in main.py hw_unix.py hw_esp8266.py bridge/*.py; do
        if "$MPY_CROSS" -march=xtensa -o "$tmp/x.mpy" "$f"; then
            echo "ok mpy-cross -march=xtensa $f ($(wc -c <"$tmp/x.mpy") bytes)"
        else
            echo "FAIL mpy-cross -march=xtensa $f"
        fi
    done
}

run "compile for the ESP8266" compile_all
run "build for the ESP8266" sh "$fw/build.sh" esp8266
run "build for the Unix twin" sh "$fw/build.sh" unix
sh "$here/broker.sh" start "$tmp" "$MQTT_PORT" || echo "FAIL mosquitto did not start" >>"$results"
cd "$fw" || exit 1
export MICROPYPATH="$fw/build/unix:.frozen"
run "link codec" "$MICROPYTHON" -X heapsize=512k "$here/test_link.py"
run "MQTT client" "$MICROPYTHON" -X heapsize=512k "$here/test_mqtt.py"
run "clock" "$MICROPYTHON" -X heapsize=512k "$here/test_clock.py"
run "CONFIG on a running bridge" "$MICROPYTHON" -X heapsize=512k "$here/test_config.py"
run "modules loaded again and again" "$MICROPYTHON" -X heapsize=64k "$here/test_reload.py"
unset MICROPYPATH
run "end to end" python3 "$here/test_e2e.py"
run "end to end: the clock" python3 "$here/test_e2e_clock.py"

passed=$(grep -c '^ok ' "$results")
failed=$(grep -c '^FAIL ' "$results")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
