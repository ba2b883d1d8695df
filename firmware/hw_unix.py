# Hardware layer, Unix twin: the board esp-sim simulates around the
# MicroPython Unix port, described by environment variables (README.md):
#
#   BRIDGE_UART         ESP side of the pseudo-terminal pair: the UART
#   BRIDGE_GPIO_ROOT    fake sysfs GPIO tree; READY is gpio$BRIDGE_READY_GPIO/value
#   BRIDGE_READY_GPIO   READY line number, default 27
#   BRIDGE_STATE_DIR    the flash: holds boot_count; while a file wifi-down
#                       exists there the simulated access point is out of reach
#   BRIDGE_RESET_CAUSE  reset reason to report (0 power-on, 6 external, 2 exception)
#   BRIDGE_SIM_SSID     the simulated access point, default mqttbridge-sim
#   BRIDGE_SIM_PSK      its password; empty (default) accepts any
#   BRIDGE_HEAP_DEBUG   1: log the live heap every second
#
# The interface, the same in hw_esp8266: init() then boot_count and
# reset_reason; fatal, log, uart, wifi_connect, wifi_status; debug_heap.

from micropython import const
from os import getenv, mkdir, stat
from time import ticks_ms, ticks_diff

# The variables by index into one string: on the Unix port a string constant
# costs heap, and a short one also a slot in the interned-string pool.
_UART = const(0)
_GPIO_ROOT = const(1)
_READY_GPIO = const(2)
_STATE_DIR = const(3)
_RESET_CAUSE = const(4)
_SIM_SSID = const(5)
_SIM_PSK = const(6)
_HEAP_DEBUG = const(7)


def _env(n, default=None):
    n = "UART GPIO_ROOT READY_GPIO STATE_DIR RESET_CAUSE SIM_SSID SIM_PSK HEAP_DEBUG".split()[n]
    return getenv("BRIDGE_" + n) or default


debug_heap = _env(_HEAP_DEBUG) == "1"
reset_reason = int(_env(_RESET_CAUSE, 0))
boot_count = 1


def init():
    # Count this boot; -> True to run the bridge (no maintenance mode here).
    # Boots since power-on (HELLO): a power-on starts again at 1.
    global boot_count
    s = _env(_STATE_DIR)
    if s:
        s += "/boot_count"
        try:
            if reset_reason:
                with open(s) as f:
                    boot_count += int(f.read())
        except (OSError, ValueError):
            pass
        with open(s, "w") as f:
            f.write("%d\n" % boot_count)
    return True


def fatal(e):
    raise e  # the traceback goes to stderr, esp-sim sees the exit status


def log(s):
    # esp-sim forwards stdout to its log; the UART carries frames only.
    print("fw:", s)


def uart():
    # Open the UART and raise READY: from now on the link is served.
    import termios

    f = open(_env(_UART), "r+b", buffering=0)
    termios.setraw(f.fileno())
    s = termios.tcgetattr(f.fileno())
    # VMIN = VTIME = 0: read() returns what is there instead of blocking the
    # whole event loop until VMIN bytes arrived; readiness comes from poll.
    s[6][6] = s[6][5] = 0
    termios.tcsetattr(f.fileno(), termios.TCSANOW, s)
    s = _env(_GPIO_ROOT)
    if s:
        s = "%s/gpio%s" % (s, _env(_READY_GPIO, 27))
        try:
            mkdir(s)
        except OSError:
            pass  # there already, as a rule
        with open(s + "/value", "w") as s:
            s.write("%d\n" % 1)
    return f


# The simulated station: one access point, BRIDGE_SIM_SSID/PSK, out of reach
# while $BRIDGE_STATE_DIR/wifi-down exists; an association takes 100 ms.
_sta = [None, "", 0, False]  # ssid, password, ticks at connect, associated


def wifi_connect(s, key):
    # Connect to the network s with password key; s None disconnects.
    _sta[:] = [s, key, ticks_ms(), False]


def wifi_status():
    # -> (state, reason, rssi, address), states as in the WIFI message:
    # 0 down, 1 connecting, 2 up.
    s, key, t, up = _sta
    if s is None:
        return 0, "off", 0, ""
    if s != _env(_SIM_SSID, "mqttbridge-sim"):
        return 0, 'no AP "%s"' % s, 0, ""
    if key != _env(_SIM_PSK, key):
        return 0, "wrong password", 0, ""
    try:
        stat(_env(_STATE_DIR) + "/wifi-down")
        _sta[3] = False
        # out of reach: lost if we were on it, else still scanning for it
        return (0, "AP lost", 0, "") if up else (1, "", 0, "")
    except (OSError, TypeError):
        pass
    if not up and ticks_diff(ticks_ms(), t) < 100:
        return 1, "", 0, ""
    _sta[3] = True
    return 2, "", -55, "127.0.0.1"
