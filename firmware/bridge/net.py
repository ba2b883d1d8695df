# Getting connected, for the MQTT client's task (mqtt.py): loaded only while
# the client is not connected, when the most heap is free, and dropped
# again once it is (app.py's poll). WiFi (connect, and a failed attempt's
# back-off), the broker's TCP connection and CONNECT.

import asyncio
import select
import socket
from errno import EINPROGRESS
from micropython import const
from time import ticks_ms, ticks_diff
from bridge.mqtt import backoff_ms

_WIFI_POLL_MS = const(500)
_WIFI_MS = const(20000)  # a WiFi connection attempt gives up after this long
_CONNECT_MS = const(10000)  # the TCP connection, and then CONNACK (mqtt.py)


async def wifi(q, c):
    # WiFi for client q and the configuration c. -> its status when up,
    # else None: it did not come up (its back-off is done) or the
    # configuration changed. WIFI states reported by app.state(): 0 down, 1
    # connecting, 2 up; a failed attempt backs off 1 s doubling to 30 s
    # (q.t[6]), each wait between half of that and all of it.
    app = q.app
    hw = app.hw
    t = q.t
    v = hw.wifi_status()
    if v[0] != 2 or t[7] is not c:
        t[7] = c  # the configuration WiFi is on
        hw.wifi_connect(c[1], c[2])
        app.state(1, "", 0, "")
        n = ticks_ms()
        v = hw.wifi_status()
        while v[0] == 1 and ticks_diff(ticks_ms(), n) < _WIFI_MS and q.cfg is c:
            await asyncio.sleep_ms(_WIFI_POLL_MS)
            v = hw.wifi_status()
        if q.cfg is not c:
            return None
        if v[0] != 2:
            t[7] = None
            if v[0] == 1:
                v = (0, "timed out")
                hw.wifi_connect(None, None)
            app.state(0, v[1], 0, "")
            await asyncio.sleep_ms(backoff_ms(t[6]))  # jittered, as the broker's
            t[6] = min(t[6] * 2, 30)
            return None
    t[6] = 1
    return v


async def up(q, c):
    # Connect client q for the configuration c. -> True: the socket is
    # connected and CONNECT sent (the reader is still to start); False:
    # WiFi did not come up or the configuration changed. Raises on a
    # broker connection that fails (mqtt.py reports it).
    app = q.app
    t = q.t
    v = await wifi(q, c)
    if not v:
        return False
    app.state(*v)
    q.down = None
    t[3] = 0
    q.state = 1
    app.send(0x24, "BBBs", 1, 0, 0, "")  # BROKER connecting
    await tcp(q, c)
    return True


async def tcp(q, c):
    # The broker's TCP connection for client q, then CONNECT.
    t = q.t
    try:
        n = socket.getaddrinfo(c[3], c[4], 0, socket.SOCK_STREAM)[0]
    except OSError:
        raise ValueError("DNS: " + c[3])
    s = q.sock = socket.socket(n[0], n[1], n[2])
    s.setblocking(False)
    try:
        s.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY: packets are written in parts
    except Exception:
        pass
    p = q.poll = select.poll()
    p.register(s, select.POLLOUT)
    try:
        s.connect(n[-1])
    except OSError as e:
        if e.args[0] != EINPROGRESS:
            raise e  # not a bare raise: native code (build.sh) lacks it
    # The TCP handshake: polled, as the poller of asyncio has no timeout. A
    # refused connection fails the first write.
    t[0] = ticks_ms()
    while not p.poll(0):
        if ticks_diff(ticks_ms(), t[0]) > _CONNECT_MS:
            raise ValueError("connect timeout")
        await asyncio.sleep_ms(20)
    q.start = q.end = 0
    q.write(c[0])  # CONNECT, made by config.py
