#!/usr/bin/env bash
# The libserialport path of mqttbridged, against a pseudo-terminal, for CI.
#
# libserialport cannot open a PTY: it needs /sys/class/tty/NAME/device and its open calls TIOCMGET.
# This runner compiles modemshim.c (an LD_PRELOAD library answering the modem-line ioctls on PTYs
# and logging DTR/RTS), then runs check.py in a private mount namespace where a tmpfs over
# /sys/class/tty holds a fake entry for the PTY. It checks that mqttbridged opens the PTY through
# libserialport (as a UART), that the baud rate reaches the tty, that bytes flow both ways, that
# --reset-method modem-lines pulses DTR/RTS as esptool's hard reset does, and that a missing
# --device lists the ports libserialport enumerates.
#
# Needs root (unshare --mount, mount) and util-linux's unshare; skips, exit 0, without them.
# Binaries: $MQTTBRIDGE_BIN (the `swift build --show-bin-path` directory), else it builds.
# The last line is "N passed, M failed"; the exit status is non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

skip() {
    echo "0 passed, 0 failed (libserialport tests SKIPPED: $1)"
    exit 0
}
[ "${EUID:-$(id -u)}" = 0 ] || skip "not root; they need 'unshare --mount' and mount to fake /sys/class/tty (CI runs as root)"
command -v unshare >/dev/null || skip "'unshare' (util-linux) is not installed"

work=$(mktemp -d /tmp/mqttbridge-lsp-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
output="$work/output"

run_checks() {
    local cc=${CC:-}
    if [ -z "$cc" ]; then
        for candidate in cc gcc clang; do
            if command -v "$candidate" >/dev/null; then cc=$candidate; break; fi
        done
    fi
    if [ -z "$cc" ] || ! "$cc" -shared -fPIC -O2 -Wall -Wextra -Werror -o "$work/modemshim.so" \
        "$here/modemshim.c" -ldl 2>"$work/cc.log"; then
        echo "FAIL - compile modemshim.c with '${cc:-no C compiler found}'"
        sed 's/^/    /' "$work/cc.log"
        return 1
    fi
    echo "ok - modemshim.so compiled with $cc"

    local bin=${MQTTBRIDGE_BIN:-}
    if [ -z "$bin" ]; then
        if ! (cd "$root" && swift build >"$work/build.log" 2>&1); then
            echo "FAIL - swift build"
            tail -n 30 "$work/build.log" | sed 's/^/    /'
            return 1
        fi
        bin=$(cd "$root" && swift build --show-bin-path)
    fi
    if [ ! -x "$bin/mqttbridged" ] || [ ! -x "$bin/mqttbridge" ]; then
        echo "FAIL - mqttbridged and mqttbridge in $bin"
        return 1
    fi
    unshare --mount --propagation private -- python3 "$here/check.py" "$bin" "$work/modemshim.so"
}

run_checks 2>&1 | tee "$output"
status=${PIPESTATUS[0]}
passed=$(grep -c '^ok - ' "$output")
failed=$(grep -c '^FAIL - ' "$output")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    # e.g. unshare refused (a container without CAP_SYS_ADMIN): that is a failure, not a skip.
    echo "FAIL - the checks did not run to the end (exit status $status; see above)"
    failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
