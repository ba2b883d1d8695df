# CONFIG handling on a running bridge (MicroPython): a real Bridge and Link
# (boot.py) reading their "UART" from a loopback TCP connection, driven by
# a host written here with the host codec. A CONFIG frame is acknowledged
# on the link only once CONFIG_ACK went out; when its modules find no heap
# (apply.py replaced for one CONFIG by a stand-in that raises MemoryError)
# nothing acknowledges it, nothing half applies it, and the host's
# retransmission of the same frame is applied and acknowledged once.

import os
import sys
import socket
import asyncio
from time import ticks_ms, ticks_diff
import hostcodec as h
from t import check, eq, done

PORT = int(os.getenv("LINE_PORT"))
HELLO, CONFIG, CONFIG_ACK = 0x01, 0x02, 0x03


class HW:  # the hardware layer: the UART given, WiFi never up
    RXBUF = 1600
    MAX_BAUD = 921600
    boot_count = 1
    reset_reason = 0
    debug_heap = False

    def __init__(self, uart):
        self.uart = uart
        self.wifi = []  # the networks asked for

    def baud(self, s, n):
        return True

    def log(self, s):
        pass

    def wifi_connect(self, s, k):
        self.wifi.append(s)

    def wifi_status(self):
        return 0, "off", 0, ""


class NoHeap:  # apply.py's stand-in: its modules found no heap
    calls = 0

    @staticmethod
    def run(app, d):
        NoHeap.calls += 1
        raise MemoryError


def line():
    # A connected pair of loopback TCP sockets on LINE_PORT (run.sh): the
    # bridge's end, ours.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(socket.getaddrinfo("127.0.0.1", PORT)[0][-1])
    s.listen(1)
    a = socket.socket()
    a.connect(socket.getaddrinfo("127.0.0.1", PORT)[0][-1])
    b = s.accept()[0]
    s.close()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


class Host:
    def __init__(self, sock):
        self.s = sock
        self.rd = h.Reader()
        self.frames = []  # every frame received

    def write(self, f):
        self.s.write(f)

    async def read(self, ms):
        # Collect what arrives for ms milliseconds.
        t = ticks_ms()
        while ticks_diff(ticks_ms(), t) < ms:
            try:
                d = self.s.read(4096)
            except OSError:
                d = None
            if d:
                self.frames += self.rd.feed_frames(d)
            await asyncio.sleep_ms(10)

    def of(self, typ):
        return [f for f in self.frames if f.type == typ]


async def main():
    import bridge
    import bridge.boot
    import bridge.app  # noqa: F401  (boot.start imports it; loaded before the stand-in)

    esp, ours = line()
    hw = HW(esp)
    b = bridge.boot.start(hw)
    asyncio.create_task(b.run())
    host = Host(ours)
    await host.read(100)

    # The session, then a CONFIG (seq 0) while apply.py finds no heap.
    host.write(h.frame(HELLO, h.hello(window=8)))
    await host.read(200)
    check("HELLO answered: a session", [f for f in host.of(HELLO) if f.payload[0] == 2], host.frames)
    items = h.config([(1, b"net"), (2, b"pw"), (3, b"127.0.0.1"), (5, b"id")])
    sys.modules["bridge.apply"] = NoHeap
    bridge.apply = NoHeap
    host.frames = []
    host.write(h.frame(CONFIG, items, seq=0, ack=0, credit=8))
    await host.read(1500)  # beyond the bridge's 0.9 s heartbeat ACK
    eq("no heap: apply.py was tried once", NoHeap.calls, 1)
    check("no CONFIG_ACK", not host.of(CONFIG_ACK), host.frames)
    acks = [f.ack for f in host.frames if f.ack is not None]
    check("the CONFIG frame is not acknowledged (heartbeat ACKs say 0)", acks and all(a == 0 for a in acks), acks)
    check("nothing applied: not configured, WiFi not asked for", b.cfg is None and not hw.wifi, (b.cfg, hw.wifi))
    check("the stand-in dropped after use", "bridge.apply" not in sys.modules, list(sys.modules))

    # The host's retransmission of the same frame: applied, acknowledged.
    host.frames = []
    host.write(h.frame(CONFIG, items, seq=0, ack=0, credit=8))
    await host.read(500)
    a = host.of(CONFIG_ACK)
    eq("retransmitted: one CONFIG_ACK, accepted", [(f.seq, f.payload[0]) for f in a], [(0, 0)])
    acks = [f.ack for f in host.frames if f.ack is not None]
    check("the CONFIG frame acknowledged once CONFIG_ACK went out", acks and acks[-1] == 1, acks)
    check("configured", b.cfg is not None and b.cfg[1] == "net", b.cfg)

    # A duplicate of it (our ACK lost, say) is not applied again.
    host.frames = []
    host.write(h.frame(CONFIG, items, seq=0, ack=1, credit=8))
    await host.read(300)
    check("a duplicate: no second CONFIG_ACK", not host.of(CONFIG_ACK), host.frames)
    done()


asyncio.run(main())
