# Hardware layer, ESP8266 twin (the interface is hw_unix's: importing the
# module starts the board).
#
# Wiring: UART0 (GPIO1 TX, GPIO3 RX) is the link to the host; READY is
# GPIO5 (D1 on NodeMCU and Wemos D1 mini), high while the bridge serves the
# link. Maintenance: hold the FLASH button (GPIO0 low) during the first
# second after a reset and the bridge does not start: UART0 keeps the REPL
# for inspection and mpremote. (GPIO0 held low *through* the reset enters
# the ROM bootloader instead, which is how esptool flashes.)

import machine
import network
import time

READY_PIN = 5
MAINT_PIN = 0
# UART0 receive ring buffer. The UART write blocks (45 ms for a 512-byte
# frame at 115200 baud), a garbage collection for a few ms, a socket write
# to a slow broker longer; the host keeps sending what our credit allows
# meanwhile. With the link's own receive buffer this holds 4 whole frames
# of 512 bytes, the credit the link grants (window 4 in HELLO).
RXBUF = 1600
# The highest rate the host may switch the link to (BAUD, section 8.8).
MAX_BAUD = 921600
debug_heap = False
# machine.reset_cause() is the SDK's rst_info.reason, whose codes HELLO
# uses: 0 power-on ... 6 external reset.
reset_reason = machine.reset_cause()
reset_reason = reset_reason if 0 <= reset_reason <= 6 else 255
boot_count = 1

_ready = machine.Pin(READY_PIN, machine.Pin.OUT, value=0)
_sta = network.WLAN(network.STA_IF)
_ssid = ["", 0]  # the network asked for, ticks_ms when

# Start-up, as module-level code (it leaves the heap once it ran): the
# maintenance pin, the boot count, UART0 taken from the REPL, READY.
run = True
_p = machine.Pin(MAINT_PIN, machine.Pin.IN, machine.Pin.PULL_UP)
for _i in range(20):
    if not _p.value():
        print("mqttbridge: maintenance mode, REPL stays on UART0")
        run = False
        break
    time.sleep_ms(50)
if run:
    # Boots since power-on, in a small file: a power-on starts again at 1.
    try:
        if reset_reason:
            with open("boot_count") as _f:
                boot_count += int(_f.read())
    except (OSError, ValueError):
        pass
    with open("boot_count", "w") as _f:
        _f.write("%d\n" % boot_count)
    import esp
    import micropython
    import os

    esp.osdebug(None)  # no SDK debug output on UART0
    network.WLAN(network.AP_IF).active(False)  # station only
    os.dupterm(None, 1)  # detach the REPL from UART0
    micropython.kbd_intr(-1)  # a 0x03 inside a frame must not raise KeyboardInterrupt
    uart = machine.UART(0, 115200, rxbuf=RXBUF, timeout=0, timeout_char=0)
    _ready.value(1)
_p = _f = None


def fatal(e):
    # Keep the traceback for the maintenance REPL, then restart: the host
    # sees a new HELLO (reset reason 4, software restart) and replays.
    try:
        import sys

        with open("crash.txt", "w") as f:
            sys.print_exception(e, f)
    except Exception:
        pass
    time.sleep_ms(1000)
    machine.reset()


def log(text):
    pass  # nowhere to print: UART0 is the link. The app sends LOG frames.


def baud(u, n):
    # Switch UART0 to n baud once the frame written last has left: the write
    # returns while up to 128 bytes still wait in the transmit FIFO.
    t = time.ticks_ms()
    while not u.txdone() and time.ticks_diff(time.ticks_ms(), t) < 100:
        pass
    u.init(baudrate=n)
    return True


def wifi_connect(ssid, psk):
    # Start connecting; ssid None disconnects.
    if ssid is None:
        _sta.disconnect()
        return
    _sta.active(True)
    _ssid[:] = [ssid, time.ticks_ms()]
    if not (_sta.isconnected() and _sta.config("essid") == ssid):
        _sta.connect(ssid, psk)  # else keep it: a new CONFIG, same network


def wifi_status():
    # -> (state, reason, rssi, address), states as in the WIFI message
    s = _sta.status()
    if s == network.STAT_GOT_IP:
        try:
            r = max(-128, min(127, _sta.status("rssi")))
        except Exception:
            r = 0
        return 2, "", r, _sta.ifconfig()[0]
    if s == network.STAT_CONNECTING or (
        s == network.STAT_IDLE and time.ticks_diff(time.ticks_ms(), _ssid[1]) < 3000
    ):
        return 1, "", 0, ""  # (idle for a moment right after connect())
    if s == network.STAT_WRONG_PASSWORD:
        why = "wrong password"
    elif s == network.STAT_NO_AP_FOUND:
        why = 'no AP "%s"' % _ssid[0]
    elif s == network.STAT_CONNECT_FAIL:
        why = "connection failed"
    else:
        why = "disconnected"
    return 0, why, 0, ""


def dns():
    # -> (address, port) of the DNS server of the DHCP lease (ntp.py looks
    # names up itself: socket.getaddrinfo() would block).
    return _sta.ifconfig()[3], 53
