# MQTT client tests (MicroPython) against a real mosquitto started by
# run.sh (MQTT_PORT; tests/broker.sh stops and restarts it), and against a
# scripted fake broker on FAKE_PORT for what mosquitto will not do on
# demand: refuse a CONNACK, fall silent, or leave a publish unacknowledged.
# The client runs in a real bridge (boot.py) whose link frames are read
# back with the host codec (App below). The host acknowledges every frame,
# unless a test holds its acks (App.hold) to see what waits for them.

import sys
import os
import socket
import asyncio
from time import ticks_ms, ticks_diff
import hostcodec as h
from t import check, eq, done

PORT = int(os.getenv("MQTT_PORT"))
FAKE = int(os.getenv("FAKE_PORT"))
CLOSED = int(os.getenv("CLOSED_PORT"))
DIR = os.getenv("TEST_DIR")
HERE = sys.path[0]
HELLO, BROKER, SUBACK, PUBACK, LOG, MESSAGE = 0x01, 0x24, 0x21, 0x20, 0x25, 0x22


class Wire:  # the UART: what the link writes
    def __init__(self):
        self.out = bytearray()

    def write(self, b):
        self.out += b
        return len(b)

    def readinto(self, b):
        return 0


class HW:  # the hardware layer boot.py and the client use: WiFi always up
    RXBUF = 1600
    MAX_BAUD = 921600
    boot_count = 1
    reset_reason = 0
    debug_heap = False

    def __init__(self):
        self.uart = Wire()

    def baud(self, s, n):
        return True

    def log(self, s):
        pass

    def wifi_connect(self, s, k):
        pass

    def wifi_status(self):
        return 2, "", -55, "127.0.0.1"


class App:
    # A real Bridge and Link (boot.py) in a session with a host that
    # acknowledges everything: the frames it sends are read back with the
    # host codec, as events (type, fields...) like the calls the client
    # made, and MESSAGE bodies joined from their fragments.
    def __init__(self, hw=None):
        import bridge.boot

        self.b = bridge.boot.start(hw or HW())
        k = self.link = self.b.link
        k.clear(127)
        k.s[28] = 512  # the host's max_body
        k.bodies = []
        self.events = []
        self.rd = h.Reader()
        self.msg = None
        self.hold = False  # True: the host's acks are withheld (ack() gives them)
        self.seqs = []  # (type, seq, flags) of every sequenced frame received
        asyncio.create_task(self.drain())

    def ack(self, n):
        # The host's ack: every frame before seq n is delivered.
        self.link.done(n & 255, 127, 0)

    async def drain(self):
        k = self.link
        w = k.stream
        while True:
            await asyncio.sleep_ms(10)
            k.s[17] = ticks_ms()  # the host is heard (its acks)
            for f in self.rd.feed_frames(bytes(w.out)):
                if f.seq is not None:
                    self.seqs.append((f.type, f.seq, f.flags))
                    if not self.hold:
                        k.done((f.seq + 1) & 255, 127, 0)
                p = f.payload
                if f.type == MESSAGE:
                    if self.msg is not None:
                        self.msg[1] += p
                    else:
                        self.msg = [h.parse(f.type, p), bytearray(h.parse(f.type, p)["payload"])]
                    if not f.flags & h.MORE:
                        d = self.msg[0]
                        d["payload"] = bytes(self.msg[1])
                        k.bodies.append(d)
                        self.msg = None
                    continue
                d = h.parse(f.type, p)
                if f.type == BROKER:
                    self.events.append((BROKER, d["state"], d["return_code"], d["session_present"], d["reason"]))
                elif f.type == PUBACK:
                    self.events.append((PUBACK, d["message_id"], d["result"]))
                elif f.type == SUBACK:
                    self.events.append((SUBACK, d["granted"], d["filter"].encode()))
                elif f.type == LOG:
                    self.events.append((LOG, d["level"], d["text"]))
                elif f.type == HELLO:
                    self.events.append((HELLO, d["free_heap"]))
            w.out = bytearray()

    def of(self, t):
        return [e[1:] for e in self.events if e[0] == t]


class Stop:  # what the tests did with the client's task: stop it
    def __init__(self, c):
        self.c = c

    def cancel(self):
        self.c.cfg = None
        self.c.stop("stopped")


class NoWiFi(HW):  # an access point that is not there: every attempt fails at once
    def __init__(self):
        super().__init__()
        self.attempts = []  # ticks_ms() of each connection attempt

    def wifi_connect(self, s, k):
        if s is not None:
            self.attempts.append(ticks_ms())

    def wifi_status(self):
        return 0, 'no AP "net"', 0, ""


def start(cid, port=PORT, keepalive=60, will=None, clean=1, hw=None):
    from bridge import apply

    v = [None, "net", "", "127.0.0.1", port, cid.encode(), None, None, keepalive, clean, None, b"", 0, 0, 0, None]
    if will:
        v[10], v[11], v[12], v[13] = will
    apply._connect(v)
    app = App(hw)
    c = app.b.mqtt
    app.b.cfg = c.cfg = v
    return app, c, Stop(c)


def pub(c, f, n, data):
    # Publish as the link's PUBLISH would: data is topic (str16) + payload.
    data = memoryview(data)
    k = 2 + (data[0] << 8 | data[1])
    return c.send(f, n, data[2:k], data[k:], len(data) - k)


async def until(cond, ms=5000):
    t = ticks_ms()
    while not cond():
        if ticks_diff(ticks_ms(), t) > ms:
            return False
        await asyncio.sleep_ms(20)
    return True


def connected(app, n=1):
    return lambda: len([e for e in app.of(BROKER) if e[0] == 2]) >= n


def sh(cmd):
    return os.system(cmd) == 0


class Sub:  # mosquitto_sub in the background, its output in a file
    def __init__(self, topic, name):
        self.f = "%s/%s.out" % (DIR, name)
        sh("mosquitto_sub -p %d -v -t '%s' > %s 2>&1 & echo $! > %s.pid" % (PORT, topic, self.f, self.f))

    def text(self):
        try:
            with open(self.f) as f:
                return f.read()
        except OSError:
            return ""

    async def ready(self, c, topic):
        # mosquitto_sub gives no sign that it has subscribed: publish until
        # a message shows up.
        for i in range(50):
            pub(c, 0, 0, h.s16(topic) + b"sync")
            if await until(lambda: "sync" in self.text(), 100):
                return True
        return False

    def stop(self):
        sh("kill $(cat %s.pid)" % self.f)


class Fake:  # a scripted broker: one connection at a time, polled
    def __init__(self):
        s = self.s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(socket.getaddrinfo("127.0.0.1", FAKE)[0][-1])
        s.listen(2)
        s.setblocking(False)
        self.c = None
        self.buf = b""

    async def accept(self, ms=8000):
        t = ticks_ms()
        while ticks_diff(ticks_ms(), t) < ms:
            try:
                self.c = self.s.accept()[0]
                self.c.setblocking(False)
                self.buf = b""
                return True
            except OSError:
                await asyncio.sleep_ms(20)
        return False

    async def packet(self, ms=3000):
        # -> (first byte, rest after the fixed header) or None
        t = ticks_ms()
        while ticks_diff(ticks_ms(), t) < ms:
            b = self.buf
            if len(b) >= 2:
                n, i, k = 0, 1, 0
                while i < len(b) and b[i] & 0x80:
                    n |= (b[i] & 0x7F) << k
                    i += 1
                    k += 7
                if i < len(b):
                    n |= b[i] << k
                    if len(b) >= i + 1 + n:
                        self.buf = b[i + 1 + n :]
                        return b[0], b[i + 1 : i + 1 + n]
            try:
                d = self.c.recv(512)
                if not d:
                    return None
                self.buf += d
            except OSError:
                await asyncio.sleep_ms(10)
        return None

    def send(self, b):
        self.c.write(b)

    def drop(self):
        self.c.close()


def publish(topic, pid, payload):
    # A qos 1 PUBLISH packet from the broker.
    body = h.s16(topic) + bytes([pid >> 8, pid & 255]) + payload
    n = len(body)
    head = bytearray([0x32])
    while True:
        head.append(n & 0x7F | (0x80 if n > 127 else 0))
        n >>= 7
        if not n:
            return bytes(head) + body


async def fake_client(fake, cid, clean):
    # A client connected to the scripted broker, the host holding its acks.
    app, c, task = start(cid, port=FAKE, clean=clean)
    app.hold = True
    ok = await fake.accept()
    p = await fake.packet() if ok else None
    ok = p and p[0] == 0x10 and p[1][7] & 2 == (2 if clean else 0)
    fake.send(b"\x20\x02\x00\x00")
    ok = await until(connected(app)) and ok
    await asyncio.sleep_ms(100)
    app.ack(app.seqs[-1][1] + 1)  # WIFI, BROKER: the queue empty for a largest frame
    return app, c, task, ok


def last_message_seq(app):
    # seq of the last frame of the last complete MESSAGE, or None.
    m = [s for t, s, f in app.seqs if t == MESSAGE and not f & h.MORE]
    return m[-1] if m else None


async def inbound_qos1():
    # The broker's PUBACK for an inbound qos 1 message waits until the host
    # holds it: until the host's ack covers the MESSAGE's last frame.
    fake = Fake()
    app, c, task, ok = await fake_client(fake, "test-in1", 1)
    check("inbound qos 1: connected to the scripted broker", ok, app.events)
    fake.send(publish(b"t/in", 0x1234, b"y" * 600))  # two MESSAGE fragments
    ok = await until(lambda: any(t == MESSAGE for t, s, f in app.seqs))
    first = [s for t, s, f in app.seqs if t == MESSAGE]
    check("inbound qos 1: the first MESSAGE fragment", ok and len(first) == 1, app.seqs)
    p = await fake.packet(1000)
    check("inbound qos 1: no PUBACK while the host has acknowledged nothing", p is None, p)
    app.ack(first[0] + 1)  # room in the queue for the second fragment
    ok = await until(lambda: last_message_seq(app) is not None)
    check("inbound qos 1: the last fragment", ok and len([t for t, s, f in app.seqs if t == MESSAGE]) == 2, app.seqs)
    p = await fake.packet(1000)
    check("inbound qos 1: no PUBACK while the host's ack covers only the first fragment", p is None, p)
    app.ack(last_message_seq(app) + 1)
    p = await fake.packet()
    check("inbound qos 1: PUBACK once the host's ack covers the last fragment", p == (0x40, b"\x12\x34"), p)
    eq("inbound qos 1: nothing waits any more", c.t[10], 0)

    # At most AWAIT wait: the reader then stops reading from the broker.
    from bridge.mqtt import AWAIT

    n = len(app.link.bodies)
    for i in range(AWAIT + 2):
        fake.send(publish(b"t/many", 100 + i, b"m%d" % i))
    await until(lambda: len(app.link.bodies) >= n + AWAIT + 1)
    await asyncio.sleep_ms(1000)
    eq("inbound qos 1: with AWAIT waiting for the host, the reader stops after the next", len(app.link.bodies) - n, AWAIT + 1)
    p = await fake.packet(300)
    check("... and no PUBACK goes", p is None, p)
    app.hold = False
    app.ack(last_message_seq(app) + 1)
    ok = await until(lambda: len(app.link.bodies) - n == AWAIT + 2)
    check("inbound qos 1: the host's ack lets the rest in", ok, len(app.link.bodies) - n)
    got = []
    while len(got) < AWAIT + 2:
        p = await fake.packet()
        if not p:
            break
        got.append(p)
    eq("inbound qos 1: every one acknowledged to the broker, in order",
       got, [(0x40, bytes([0, 100 + i])) for i in range(AWAIT + 2)])

    # A new link session loses what the host did not acknowledge. Clean
    # session: acknowledged all the same (the broker would not send it again).
    app.hold = True
    fake.send(publish(b"t/lost", 0x0505, b"lost"))
    ok = await until(lambda: any(b["topic"] == "t/lost" for b in app.link.bodies))
    app.link.clear(127)  # a host HELLO
    p = await fake.packet()
    check("clean session: a qos 1 message lost by a new link session is acknowledged", ok and p == (0x40, b"\x05\x05"), p)
    task.cancel()
    fake.drop()
    await asyncio.sleep_ms(300)

    # Persistent session: not acknowledged; once the host is back, a clean
    # reconnect (DISCONNECT: no will) makes the broker send it again.
    app, c, task, ok = await fake_client(fake, "test-in2", 0)
    check("persistent session: connected to the scripted broker", ok, app.events)
    fake.send(publish(b"t/lost", 0x0606, b"lost"))
    ok = await until(lambda: any(b["topic"] == "t/lost" for b in app.link.bodies))
    app.link.clear(127)  # a host HELLO; the host is heard (App.drain)
    p = await fake.packet()
    check("persistent session: a lost qos 1 message is not acknowledged; DISCONNECT instead", ok and p and p[0] == 0xE0, p)
    check("... and the client connects again", await fake.accept())
    p = await fake.packet()
    check("... CONNECT with clean session 0", p and p[0] == 0x10 and not p[1][7] & 2, p)
    fake.send(b"\x20\x02\x01\x00")  # session present
    check("... connected", await until(connected(app, 2)), app.events)
    n = len(app.link.bodies)
    app.hold = False
    fake.send(b"\x3a" + publish(b"t/lost", 0x0606, b"lost")[1:])  # DUP
    ok = await until(lambda: len(app.link.bodies) > n)
    p = await fake.packet()
    check("... the broker's resend reaches the host and is acknowledged", ok and p == (0x40, b"\x06\x06"), (app.link.bodies[n:], p))
    task.cancel()
    fake.drop()
    fake.s.close()


async def main():
    # --- a real broker
    app, c, task = start("test-a")
    check("connect: BROKER connecting then connected", await until(connected(app)) and app.of(BROKER)[0][0] == 1, app.events)
    sub = Sub("test/out/#", "out")
    check("mosquitto_sub is listening", await sub.ready(c, b"test/out/sync"))
    r = pub(c, 0, 0, h.s16(b"test/out/q0") + b"zero")
    check("publish qos 0: sent, no answer", r is None, r)
    r = pub(c, 1, 42, h.s16(b"test/out/q1") + b"one")
    check("publish qos 1: held", r is None and len(c.held) == 1, r)
    check("publish qos 1: PUBACK delivered", await until(lambda: (42, 0) in app.of(PUBACK)), app.events)
    check("mosquitto_sub got qos 0 and qos 1", await until(lambda: "test/out/q0 zero" in sub.text() and "test/out/q1 one" in sub.text()), sub.text())
    r = pub(c, 5, 43, h.s16(b"test/out/retained") + b"kept")  # qos 1, retain
    check("publish qos 1 retained: PUBACK", await until(lambda: (43, 0) in app.of(PUBACK)), app.events)
    sub.stop()
    c.held.append([60000, 44, c.buffer.pop(), ticks_ms(), 2])  # held, never acknowledged
    r = pub(c, 1, 44, h.s16(b"test/out/dup") + b"x")
    check("a PUBLISH whose message id is held is answered by that one's PUBACK", r is None and len(c.held) == 1, c.held)
    c.buffer.append(c.held.pop()[2])
    for i in range(2):
        c.held.append([60000 + i, 900 + i, c.buffer.pop(), ticks_ms(), 2])  # fake held, never acknowledged
    sub = Sub("test/out/#", "nocopy")
    check("mosquitto_sub is listening again", await sub.ready(c, b"test/out/sync2"))
    r = pub(c, 1, 98, h.s16(b"test/out/nocopy") + b"beyond the copies")
    check("publish qos 1 with every copy buffer taken: in flight without a copy", r is None and c.held[-1][2] is None
          and c.held[-1][4] == 0, c.held)
    check("... PUBACK delivered", await until(lambda: (98, 0) in app.of(PUBACK)), app.events)
    check("... at the broker", await until(lambda: "test/out/nocopy beyond the copies" in sub.text()), sub.text())
    sub.stop()
    check("... and no buffer lost or made up", len(c.buffer) == 0 and len(c.held) == 2, (c.buffer, c.held))
    from bridge.mqtt import MAX_INFLIGHT

    for i in range(2, MAX_INFLIGHT):
        c.held.append([60000 + i, 900 + i, None, ticks_ms(), 0])  # fake in flight, never acknowledged
    eq("publish qos 1 when max_inflight are in flight: busy", pub(c, 1, 99, h.s16(b"test/out/x") + b"x"), 3)
    while c.held:
        v = c.held.pop()[2]
        if v:
            c.buffer.append(v)

    c.sub(b"test/in/#", 1)
    check("subscribe: SUBACK granted 1", await until(lambda: (1, b"test/in/#") in app.of(SUBACK)), app.events)
    c.sub(b"test/q0/+", 0)
    check("subscribe qos 0: SUBACK granted 0", await until(lambda: (0, b"test/q0/+") in app.of(SUBACK)), app.events)
    sh("mosquitto_pub -p %d -q 1 -t test/in/a -m hello" % PORT)
    sh("mosquitto_pub -p %d -q 0 -t test/q0/b -m world" % PORT)
    ok = await until(lambda: len(app.link.bodies) >= 2)
    m = {b["topic"]: b for b in app.link.bodies}
    check("incoming qos 1 PUBLISH: MESSAGE", ok and m.get("test/in/a", {}).get("payload") == b"hello" and m["test/in/a"]["qos"] == 1, app.link.bodies)
    check("incoming qos 0 PUBLISH: MESSAGE", ok and m.get("test/q0/b", {}).get("payload") == b"world" and m["test/q0/b"]["qos"] == 0, app.link.bodies)
    sh("mosquitto_pub -p %d -q 1 -t test/in/big -m %s" % (PORT, "x" * 600))
    sh("mosquitto_pub -p %d -q 1 -t test/in/after -m small" % PORT)
    ok = await until(lambda: any(b["topic"] == "test/in/after" for b in app.link.bodies))
    m = [b for b in app.link.bodies if b["topic"] == "test/in/big"]
    check("larger than a frame: MESSAGE fragments, joined", m and m[0]["payload"] == b"x" * 600 and m[0]["total"] == 600, m)
    check("and the next message arrives", ok, app.link.bodies)
    sh("mosquitto_pub -p %d -q 1 -r -t test/in/ret -m r1" % PORT)
    await until(lambda: any(b["topic"] == "test/in/ret" for b in app.link.bodies))
    c.sub(b"test/in/ret", 1)
    ok = await until(lambda: any(b["topic"] == "test/in/ret" and b["retain"] for b in app.link.bodies))
    check("retained message: MESSAGE retain flag", ok, app.link.bodies)
    sh("mosquitto_pub -p %d -r -t test/in/ret -n" % PORT)  # clears it, and we get that too
    await until(lambda: any(b["topic"] == "test/in/ret" and not b["payload"] for b in app.link.bodies))
    c.sub(b"test/in/#", None)
    n = len(app.link.bodies)
    sh("mosquitto_pub -p %d -q 1 -t test/in/gone -m x" % PORT)
    await asyncio.sleep_ms(500)
    check("unsubscribe: no more messages", len(app.link.bodies) == n and b"test/in/#" not in c.subs, app.link.bodies[n:])

    # --- the will, on an abrupt drop
    wsub = Sub("test/will", "will")
    wapp, w, wtask = start("test-will", will=(b"test/will", b"gone", 1, 0))
    check("client with a will connects", await until(connected(wapp)), wapp.events)
    check("will subscriber ready", await wsub.ready(c, b"test/will"))
    w.sock.close()  # the TCP connection goes, no DISCONNECT
    check("will delivered on an abrupt drop", await until(lambda: "test/will gone" in wsub.text()), wsub.text())
    wtask.cancel()
    wsub.stop()

    # --- broker killed and restarted
    n = len(app.of(BROKER))
    sh("sh %s/broker.sh stop %s %d" % (HERE, DIR, PORT))
    ok = await until(lambda: [e for e in app.of(BROKER)[n:] if e[0] == 0])
    check("broker killed: BROKER disconnected with a reason", ok and app.of(BROKER)[-1][3], app.of(BROKER))
    eq("publish while disconnected: offline", pub(c, 1, 77, h.s16(b"test/out/x") + b"x"), 1)
    n = len(app.of(SUBACK))
    sh("sh %s/broker.sh start %s %d" % (HERE, DIR, PORT))
    check("broker restarted: reconnected", await until(lambda: app.of(BROKER)[-1][0] == 2, 20000), app.of(BROKER))
    check("resubscribed after the reconnect", await until(lambda: len(app.of(SUBACK)) > n), app.of(SUBACK))
    n = len(app.link.bodies)
    sh("mosquitto_pub -p %d -q 1 -t test/q0/again -m back" % PORT)
    check("messages flow again", await until(lambda: len(app.link.bodies) > n), app.link.bodies[n:])
    task.cancel()

    # --- HELLO's free heap: what is free after a collection, garbage not counted as used
    import gc

    junk = [bytearray(200) for _ in range(50)]
    junk = None  # 10 KB of garbage
    app.b.hello()
    ok = await until(lambda: app.of(HELLO))
    gc.collect()
    free = gc.mem_free()
    check("HELLO's free heap is counted after a collection (within 1 KB of gc.mem_free() after one)",
          ok and abs(app.of(HELLO)[-1][0] - free) < 1024, (app.of(HELLO), free))

    # --- connection refused, and the back-off
    rapp, r, rtask = start("test-refused", port=CLOSED)
    await asyncio.sleep_ms(7500)
    rtask.cancel()
    down = [e for e in rapp.of(BROKER) if e[0] == 0]
    check("connection refused: the reason says so", down and down[0][3] == "connection refused", rapp.events)
    # Jittered: each wait is between half and all of 1 s, 2 s, 4 s.
    check("back-off 1 s, 2 s, 4 s with jitter: 4 or 5 attempts in 7.5 s", 4 <= len(down) <= 5, len(down))
    from bridge.mqtt import backoff_ms
    waits = []
    for _ in range(200):
        waits.append(backoff_ms(4))
        await asyncio.sleep_ms(1)
    check("jitter: 4 s back-offs between 2 and 4 s, and spread", min(waits) >= 2000 and max(waits) <= 4000
          and len(set(waits)) > 50, (min(waits), max(waits), len(set(waits))))

    # --- WiFi that does not come up: the same jittered back-off (net.py), seen through a
    # backoff_ms that records what it is asked and answers 0.3 s a second of back-off.
    import bridge.mqtt as M
    from bridge.app import _drop

    _drop("net")  # loaded again below, taking the recording backoff_ms
    asked = []
    M.backoff_ms = lambda d: asked.append(d) or d * 300
    hw = NoWiFi()
    wapp, w, wtask = start("test-nowifi", hw=hw)
    await asyncio.sleep_ms(2500)
    wtask.cancel()
    M.backoff_ms = backoff_ms
    _drop("net")
    eq("WiFi that fails: back-off of 1 s, 2 s, 4 s, each through the jittered backoff_ms", asked[:3], [1, 2, 4])
    gaps = [ticks_diff(b, a) for a, b in zip(hw.attempts, hw.attempts[1:])][:3]
    check("and the next attempt comes when that wait is over (0.3, 0.6, 1.2 s here)",
          len(gaps) == 3 and all(abs(g - 300 * d) < 150 for g, d in zip(gaps, (1, 2, 4))), gaps)
    check("no MQTT connection attempted without WiFi", not [e for e in wapp.of(BROKER) if e[0] == 1], wapp.events)

    # --- no heap for net.py: the client's task waits a tick and tries again. It used to try
    # again at once, never yielding: the link and every other task starved (a firmware that
    # answered nothing until the host reset it). A stand-in for net.py fails three times (then
    # drops itself); a ticker task counts how often the others got to run.
    import bridge

    ran = [0]

    async def ticker():
        while True:
            ran[0] += 1
            await asyncio.sleep_ms(10)

    class NoRoom:  # net.py's stand-in
        seen = []  # ran[0] at each attempt

        def up(q, c):
            NoRoom.seen.append(ran[0])
            if len(NoRoom.seen) == 3:
                _drop("net")
            raise MemoryError

    tt = asyncio.create_task(ticker())
    _drop("net")
    sys.modules["bridge.net"] = bridge.net = NoRoom
    napp, n, ntask = start("test-noroom", hw=NoWiFi())
    await until(lambda: len(NoRoom.seen) >= 3, 3000)
    ntask.cancel()
    tt.cancel()
    _drop("net")
    s = NoRoom.seen
    check("no heap for net.py: tried again, other tasks running in between", len(s) == 3 and s[0] < s[1] < s[2], s)

    # --- a scripted broker
    fake = Fake()
    fapp, f, ftask = start("test-fake", port=FAKE, keepalive=1)
    check("fake broker: connection", await fake.accept())
    p = await fake.packet()
    check("CONNECT: client id, keepalive, clean session", p and p[0] == 0x10 and b"test-fake" in p[1] and p[1][7] == 2 and p[1][9] == 1, p)
    fake.send(b"\x20\x02\x00\x05")  # refused: not authorized
    ok = await until(lambda: [e for e in fapp.of(BROKER) if e[0] == 0])
    check("CONNACK refused: return code 5 in BROKER", ok and fapp.of(BROKER)[-1][1:3] == (5, 0), fapp.of(BROKER))
    fake.drop()
    check("fake broker: reconnection after the back-off", await fake.accept())
    await fake.packet()
    fake.send(b"\x20\x02\x00\x00")
    check("connected to the fake broker", await until(connected(fapp)), fapp.events)
    pub(f, 1, 500, h.s16(b"t/dup") + b"payload")
    p = await fake.packet()
    check("qos 1 PUBLISH received", p and p[0] == 0x32, p)
    pid = p[1][7:9] if p else b""
    p = await fake.packet(1200)
    check("PINGREQ when idle (keepalive 1 s)", p and p[0] == 0xC0, p)
    ok = await until(lambda: "keepalive timeout" in [e[3] for e in fapp.of(BROKER)], 3000)
    check("no PINGRESP: keepalive timeout", ok, fapp.of(BROKER))
    fake.drop()
    check("fake broker: reconnection", await fake.accept())
    await fake.packet()
    fake.send(b"\x20\x02\x00\x00")
    # The host publishes as soon as it hears of the connection: the held
    # publish must still go first, or the broker gets them out of order.
    while f.state != 2:
        await asyncio.sleep_ms(1)
    pub(f, 1, 501, h.s16(b"t/dup") + b"newer")
    p = await fake.packet()
    check("held publish sent again after the reconnect, with DUP", p and p[0] == 0x3A and p[1][7:9] == pid, p)
    q = await fake.packet()
    check("... before a newer publish", q and q[0] == 0x32 and q[1].endswith(b"newer"), q)
    fake.send(b"\x40\x02" + pid)
    check("its PUBACK delivered", await until(lambda: (500, 0) in fapp.of(PUBACK)), fapp.events)
    if q:
        fake.send(b"\x40\x02" + q[1][7:9])
    check("the newer one's PUBACK delivered", await until(lambda: (501, 0) in fapp.of(PUBACK)), fapp.events)
    ftask.cancel()
    fake.drop()
    fake.s.close()
    await asyncio.sleep_ms(300)
    await inbound_qos1()


asyncio.run(main())
done()
