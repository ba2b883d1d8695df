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
#   BRIDGE_DNS          the DNS server, a.b.c.d[:port]; esp-sim passes the
#                       host's, default 127.0.0.53
#
# The interface, the same in hw_esp8266. Importing the module starts the
# board: it counts the boot, opens the UART and raises READY; then run
# (False: maintenance, leave the REPL alone), boot_count, reset_reason and
# uart are set. Then log, baud, wifi_connect, wifi_status, dns; debug_heap,
# RXBUF, MAX_BAUD; and on the ESP8266 fatal (here an uncaught exception
# ends the process: esp-sim sees the traceback and the exit status). The start-up is module-level code, which
# leaves the heap once it ran (a function would stay).

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
_DNS = const(8)


def _env(n, v):
    n = "UART GPIO_ROOT READY_GPIO STATE_DIR RESET_CAUSE SIM_SSID SIM_PSK HEAP_DEBUG DNS".split()[n]
    return getenv("BRIDGE_" + n) or v


run = True  # no maintenance mode here
debug_heap = _env(_HEAP_DEBUG, None) == "1"
reset_reason = int(_env(_RESET_CAUSE, 0))
# The UART receive buffer of the board (hw_esp8266.RXBUF), for the credit
# the link grants: the pty buffers more, but the simulation stays true.
RXBUF = const(1600)
# The highest rate BAUD may ask for (8.8): the board's. The pty takes the
# standard termios rates up to it; esp-sim follows the speed set on it.
MAX_BAUD = const(921600)

# Count this boot: boots since power-on (HELLO), a power-on starts again at 1.
boot_count = 1
_s = _env(_STATE_DIR, None)
if _s:
    _s += "/boot_count"
    try:
        if reset_reason:
            with open(_s) as _f:
                boot_count += int(_f.read())
    except (OSError, ValueError):
        pass
    with open(_s, "w") as _f:
        _f.write("%d\n" % boot_count)

# Open the UART and raise READY: from now on the link is served.
import termios

uart = open(_env(_UART, None), "r+b", buffering=0)
termios.setraw(uart.fileno())
_s = termios.tcgetattr(uart.fileno())
# VMIN = VTIME = 0: read() returns what is there instead of blocking the
# whole event loop until VMIN bytes arrived; readiness comes from poll.
_s[6][6] = _s[6][5] = 0
_s[4] = _s[5] = termios.B115200  # the start rate (section 1)
termios.tcsetattr(uart.fileno(), termios.TCSANOW, _s)
_s = _env(_GPIO_ROOT, None)
if _s:
    _s = "%s/gpio%s" % (_s, _env(_READY_GPIO, 27))
    try:
        mkdir(_s)
    except OSError:
        pass  # there already, as a rule
    with open(_s + "/value", "w") as _f:
        _f.write("%d\n" % 1)
_s = _f = None


def log(s):
    # esp-sim forwards stdout to its log; the UART carries frames only.
    print("fw:", s)


def baud(f, n):
    # Set the pty's speed to n baud once what was written has drained
    # (TCSADRAIN, 1 on Linux); -> False for a rate termios does not have.
    import termios

    v = getattr(termios, "B%d" % n, None)
    if v is None:
        return False
    n = termios.tcgetattr(f.fileno())
    n[4] = n[5] = v
    termios.tcsetattr(f.fileno(), 1, n)
    return True


# The simulated station: one access point, BRIDGE_SIM_SSID/PSK, out of reach
# while $BRIDGE_STATE_DIR/wifi-down exists; an association takes 100 ms.
_sta = [None, "", 0, False]  # ssid, password, ticks at connect, associated


def wifi_connect(s, key):
    # Connect to the network s with password key; s None disconnects.
    _sta[:] = [s, key, ticks_ms(), False]


def wifi_status():
    # -> (state, reason, rssi, address), states as in the WIFI message:
    # 0 down, 1 connecting, 2 up.
    s, key, t, v = _sta
    if s is None:
        return 0, "off", 0, ""
    if s != _env(_SIM_SSID, "mqttbridge-sim"):
        return 0, 'no AP "%s"' % s, 0, ""
    if key != _env(_SIM_PSK, key):
        return 0, "wrong password", 0, ""
    try:
        stat(_env(_STATE_DIR, None) + "/wifi-down")
        _sta[3] = False
        # out of reach: lost if we were on it, else still scanning for it
        return (0, "AP lost", 0, "") if v else (1, "", 0, "")
    except (OSError, TypeError):
        pass
    if not v and ticks_diff(ticks_ms(), t) < 100:
        return 1, "", 0, ""
    _sta[3] = True
    return 2, "", -55, "127.0.0.1"


def dns():
    # -> (address, port) of the DNS server, as the board's DHCP lease gives
    # it one: BRIDGE_DNS (esp-sim passes the host's), else the resolver
    # systemd-resolved has on loopback.
    s = _env(_DNS, "127.0.0.53").split(":")
    return s[0], int(s[1]) if len(s) > 1 else 53
