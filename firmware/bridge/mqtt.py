# A small resilient MQTT 3.1.1 client for asyncio, in the spirit of Peter
# Hinch's mqtt_as: while WiFi is up it keeps one broker connection and
# reconnects with exponential back-off (1 s doubling to 30 s) when it fails;
# it holds qos 1 publishes until the broker's PUBACK and sends them again
# with DUP after a reconnect or a timeout; it subscribes its whole set again
# after every connect; PINGREQ keeps the connection alive and 1.5 keepalive
# periods of silence declare the broker dead.
#
# It reports through the bridge: app.event(type, layout, *fields) sends a
# link message (BROKER, PUBACK, SUBACK, LOG), and an incoming PUBLISH is
# read into app.link.msg from offset 3 as topic (u16 length + bytes) and
# payload, which is the link's MESSAGE layout, then sent with
# app.link.send_body: it is never copied again. One too large for the host
# is read through in buffer-sized steps and dropped.
#
# Memory: the heap is small and fragments, so the hot paths allocate little.
# Packets are parsed from a 128-byte read buffer, and a field that is already
# there is taken without a coroutine call (each call allocates its frame);
# writing is synchronous. A qos 0 publish is written straight from the
# link's receive buffer; a qos 1 one is copied into one of the MAX_INFLIGHT
# buffers handed to the client and held there until its PUBACK. Few, longer
# methods and const() numbers: on the Unix port bytecode lives in the heap,
# and every function and name costs there too.

import asyncio
import select
import socket
from errno import ECONNREFUSED, EINPROGRESS, errorcode
from micropython import const
from struct import pack_into
from time import ticks_ms, ticks_diff
from bridge.link import readable

_CONNECTED = const(2)  # states as in the BROKER message: 0 disconnected, 1 connecting
_MAX_SUBS = const(32)  # each filter costs its bytes and a dict slot
# qos 1 publishes held for the broker's PUBACK, each in a MAX_BODY buffer of
# the heap. 2 keep the line busy as long as the broker's round trip is
# shorter than one message on the line: 3 ms for 256 bytes at 921600 baud,
# 23 ms at 115200.
MAX_INFLIGHT = const(2)

_CONNECT_MS = const(10000)  # TCP connect, CONNECT and CONNACK
_SEND_MS = const(2000)  # a packet that cannot be written this long: dead connection
_RETRY_MS = const(10000)  # a qos 1 publish not acknowledged this long is sent again
_TICK_MS = const(250)  # supervision period
# The configuration is the list of CONFIG values indexed by key (config.py).
_HOST = const(3)
_PORT = const(4)
_CLIENT_ID = const(5)
_USERNAME = const(6)
_PASSWORD = const(7)
_KEEPALIVE = const(8)
_CLEAN = const(9)
_WILL_TOPIC = const(10)
_WILL_PAYLOAD = const(11)
_WILL_QOS = const(12)
_WILL_RETAIN = const(13)
# Link messages used here (firmware-protocol.md section 5).
_PUBACK = const(0x20)
_SUBACK = const(0x21)
_BROKER = const(0x24)
_LOG = const(0x25)


def check_topic(t, filter):
    # -> None when t (bytes) is a valid topic name or, with filter True, a
    # valid topic filter; else why not. Brokers close the connection of a
    # client that sends an invalid one, so it must not reach them.
    try:
        t.decode()
    except UnicodeError:
        return "not UTF-8"
    if not t or b"\x00" in t:
        return "invalid"
    if not filter:
        return "wildcard" if b"+" in t or b"#" in t else None
    t = t.split(b"/")
    for i in range(len(t)):
        if (b"#" in t[i] and (t[i] != b"#" or i < len(t) - 1)) or (b"+" in t[i] and t[i] != b"+"):
            return "invalid"  # a misplaced wildcard
    return None


def _packet(t, n, s=b""):
    # -> (packet of remaining length n with its fixed header, offset after
    # it); s, if given, is written there as a u16-prefixed string.
    k = 1 if n < 0x80 else 2 if n < 0x4000 else 3
    p = bytearray(1 + k + n)
    p[0] = t
    for i in range(1, k + 1):
        p[i] = n & 0x7F | (0x80 if i < k else 0)
        n >>= 7
    return p, _s16(p, k + 1, s) if s else k + 1


def _s16(buf, n, s):
    pack_into(">H", buf, n, len(s))
    memoryview(buf)[n + 2 : n + 2 + len(s)] = s
    return n + 2 + len(s)


class MQTTClient:
    def __init__(self, cfg, app, free):
        # free: MAX_INFLIGHT buffers of MAX_BODY bytes for held publishes,
        # allocated once by the caller: allocated per client, or per
        # message, they would fragment the small heap until one fails.
        self.cfg = cfg  # CONFIG values by key
        self.app = app
        self.free = free
        self.up = False  # WiFi, set by the application: connect only while up
        self.state = 0
        self.subs = {}  # filter (bytes) -> qos
        self.held = []  # qos 1 in send order: [packet id, message id, buffer, ticks sent, length]
        self.pending = {}  # packet id -> filter of a SUBSCRIBE (None: UNSUBSCRIBE)
        # The last packet id. Ours, not the host's message ids: SUBSCRIBE and
        # UNSUBSCRIBE share the id space with PUBLISH. An id comes back after
        # 65535 others; nothing stays unanswered that long, as at most
        # MAX_INFLIGHT publishes are held.
        self.id = 0
        self.sock = self.poll = None  # the socket, and a poller to write it
        self.rb = bytearray(128)
        self.start = self.end = 0  # unread bytes in rb
        # 0-3: what the reader reads (fixed headers, packet ids) and its
        # PUBACK; 4-6: the fixed header of a publish. Apart: a publish
        # comes from another task while the reader waits mid-field.
        self.buf = bytearray(7)
        self.down = None  # why the current connection failed
        self.t = [0, 0, 0]  # ticks of the last receive, send, PINGREQ

    def publish(self, flags, n, data):
        # Publish with flags and message id n as in the link's PUBLISH; data
        # is the rest of it, topic (u16 length + bytes) and payload: MQTT's
        # layout too. -> a PUBACK result to answer at once, or None: qos 0
        # sent, or qos 1 held until the broker's PUBACK (reported with n).
        q = flags & 3
        if self.state != _CONNECTED:
            return 1  # offline
        h = memoryview(self.buf)[4:]
        k = len(data) + 2 * q  # remaining length, < 16384
        h[0] = 0x30 | q << 1 | flags >> 2 & 1
        h[1] = k & 0x7F | (0x80 if k > 0x7F else 0)
        h[2] = k >> 7
        i = 2 + (k > 0x7F)
        if not q:
            # Written straight from the link's receive buffer: no copy.
            return None if self._send(h[:i], data) else 1
        for e in self.held:
            if e[1] == n:
                return None  # already held: one PUBACK answers both
        if not self.free:
            return 3  # busy: MAX_INFLIGHT held
        # Copied into a preallocated buffer, with the packet id after the
        # topic, and held there to be sent again if need be.
        b = self.free.pop()
        m = memoryview(b)
        m[:i] = h[:i]
        k = 2 + (data[0] << 8 | data[1])  # the topic field
        m[i : i + k] = data[:k]
        i += k
        self.id = self.id % 65535 + 1
        e = [self.id, n, b, ticks_ms(), i + 2 + len(data) - k]
        pack_into(">H", b, i, e[0])
        m[i + 2 : e[4]] = data[k:]
        self.held.append(e)
        self._send(m[: e[4]])
        return None

    def subscribe(self, t, v):
        # Add filter t (bytes) with qos v to the set and subscribe if
        # connected; v None removes it and unsubscribes. -> False when the
        # set is full.
        if v is None:
            if self.subs.pop(t, None) is None:
                return True
        elif t in self.subs or len(self.subs) < _MAX_SUBS:
            self.subs[t] = v
        else:
            return False
        if self.state == _CONNECTED:
            e = self.id = self.id % 65535 + 1
            self.pending[e] = t if v is not None else None
            b, n = _packet(0xA2 if v is None else 0x82, 4 + len(t) + (v is not None))
            pack_into(">H", b, n, e)
            n = _s16(b, n + 2, t)
            if v is not None:
                b[n] = v
            self._send(b)
        return True

    def fail(self, reason):
        # The connection is failing (reason: text or exception): run() closes it.
        if self.down is None:
            self.down = reason

    def _send(self, *parts):
        # Write the parts of one packet; -> False (the connection is then
        # failing) on error. Writing never yields, so packets never mix:
        # while the socket's send buffer is full it blocks, for at most
        # _SEND_MS, which then fails the connection. Yielding instead would
        # cost a coroutine frame and a lock in the small heap for every
        # packet, and the buffer is full only when the broker falls behind.
        try:
            for b in parts:
                e = 0
                while e < len(b) and self.down is None:
                    n = self.sock.write(memoryview(b)[e:] if e else b)
                    if n:
                        e += n
                    elif not self.poll.poll(_SEND_MS):
                        self.fail("send timeout")
            self.t[1] = ticks_ms()
        except Exception as e:
            self.fail(e)
        return self.down is None

    async def run(self):
        # Until cancelled: connect whenever WiFi is up, supervise, reconnect.
        # Cancelled, it leaves the broker cleanly (DISCONNECT: no will).
        ev = self.app.event
        c = self.cfg
        delay = 1
        while True:
            try:
                while not self.up:
                    await asyncio.sleep_ms(_TICK_MS)
                self.down = None
                self.rc = 0
                self.state = 1
                ev(_BROKER, "BBBs", 1, 0, 0, "")
                rx = None
                try:
                    try:
                        ai = socket.getaddrinfo(c[_HOST], c[_PORT], 0, socket.SOCK_STREAM)[0]
                    except OSError:
                        raise ValueError("DNS: " + c[_HOST])
                    s = self.sock = socket.socket(ai[0], ai[1], ai[2])
                    s.setblocking(False)
                    p = self.poll = select.poll()
                    p.register(s, select.POLLOUT)
                    try:
                        s.connect(ai[-1])
                    except OSError as e:
                        if e.args[0] != EINPROGRESS:
                            raise
                    # The TCP handshake: polled, as the poller of asyncio has no
                    # timeout. A refused connection fails the first write.
                    t0 = ticks_ms()
                    while not p.poll(0):
                        if ticks_diff(ticks_ms(), t0) > _CONNECT_MS:
                            raise ValueError("connect timeout")
                        await asyncio.sleep_ms(20)
                    self.start = self.end = 0
                    rx = asyncio.create_task(self._reader())  # it handles the CONNACK
                    # CONNECT: protocol name and level, flags, keepalive, client
                    # id, will topic and message, user name, password.
                    w = c[_WILL_TOPIC] is not None
                    n = 12 + len(c[_CLIENT_ID]) + (4 + len(c[_WILL_TOPIC]) + len(c[_WILL_PAYLOAD]) if w else 0)
                    for v in c[_USERNAME : _PASSWORD + 1]:
                        n += 2 + len(v) if v is not None else 0
                    b, n = _packet(0x10, n, b"MQTT")
                    b[n] = 4
                    b[n + 1] = (
                        (2 if c[_CLEAN] else 0)
                        | (4 | c[_WILL_QOS] << 3 | c[_WILL_RETAIN] << 5 if w else 0)
                        | (0x80 if c[_USERNAME] is not None else 0)
                        | (0x40 if c[_PASSWORD] is not None else 0)
                    )
                    pack_into(">H", b, n + 2, c[_KEEPALIVE])
                    n = _s16(b, n + 4, c[_CLIENT_ID])
                    if w:
                        n = _s16(b, _s16(b, n, c[_WILL_TOPIC]), c[_WILL_PAYLOAD])
                    for v in c[_USERNAME : _PASSWORD + 1]:
                        if v is not None:
                            n = _s16(b, n, v)
                    self._send(b)
                    b = None
                    # Supervise: CONNACK timeout, keepalive, unacknowledged publishes.
                    ka = c[_KEEPALIVE] * 1000
                    t = self.t
                    t[0] = t[1] = t[2] = t0
                    while self.down is None:
                        await asyncio.sleep_ms(_TICK_MS)
                        now = ticks_ms()
                        if self.state != _CONNECTED:
                            if ticks_diff(now, t0) > _CONNECT_MS:
                                self.fail("connect timeout")
                            continue
                        if ka and ticks_diff(now, t[0]) > ka * 3 // 2:
                            self.fail("keepalive timeout")  # nothing heard for 1.5 periods
                        elif ka and ticks_diff(now, t[2]) >= ka // 2 and (
                            ticks_diff(now, t[0]) >= ka // 2 or ticks_diff(now, t[1]) >= ka // 2
                        ):
                            # Either direction quiet for half a period: PINGREQ
                            # feeds the broker's timer and asks for a PINGRESP.
                            t[2] = now
                            self._send(b"\xc0\x00")
                        # Held publishes unacknowledged for too long, oldest first
                        # (MQTT 4.6); right after a connect that is all of them.
                        for e in self.held:
                            if ticks_diff(now, e[3]) > _RETRY_MS and self.down is None:
                                e[2][0] |= 0x08  # DUP
                                e[3] = now
                                self._send(memoryview(e[2])[: e[4]])
                except Exception as e:
                    self.fail(e)
                finally:
                    if self.down is None and self.state == _CONNECTED:
                        try:
                            self.sock.write(b"\xe0\x00")  # cancelled: DISCONNECT
                        except OSError:
                            pass
                    if rx:
                        rx.cancel()  # also takes the reader out of the poller
                    if self.sock:
                        self.sock.close()
                    self.sock = self.poll = None
                    self.pending = {}  # the whole set is subscribed again on connect
                if self.state == _CONNECTED:
                    delay = 1
                self.state = 0
                e = self.down
                if isinstance(e, OSError) and e.args:
                    e = "connection refused" if e.args[0] == ECONNREFUSED else errorcode.get(e.args[0], e)
                ev(_BROKER, "BBBs", 0, self.rc, 0, str(e))
                if self.up:
                    await asyncio.sleep_ms(delay * 1000)
                    delay = min(delay * 2, 30)
            except MemoryError:
                # Never let it end this task: the bridge would stay offline.
                self.fail("out of memory")
                await asyncio.sleep_ms(_TICK_MS)

    def _take(self, b, e=0):
        # Copy buffered input into the memoryview b from offset e, or skip
        # input if b is a count; -> the new offset. Used first for each
        # field: no awaiting, no allocation when the bytes are there.
        k = min((b if isinstance(b, int) else len(b)) - e, self.end - self.start)
        if not isinstance(b, int):
            b[e : e + k] = memoryview(self.rb)[self.start : self.start + k]
        self.start += k
        return e + k

    async def _read(self, b, e):
        # Finish what _take() began: fill b from offset e from the socket.
        while e < (b if isinstance(b, int) else len(b)):
            await readable(self.sock)
            k = self.sock.readinto(self.rb)
            if k == 0:
                raise ValueError("connection closed by the broker")
            if k:
                self.start = 0
                self.end = k
                self.t[0] = ticks_ms()
                e = self._take(b, e)

    async def _reader(self):
        # Each field: e = self._take(f); if short, await self._read(f, e).
        app = self.app
        h = self.buf
        hm = memoryview(h)
        try:
            while True:
                # Fixed header: type and flags, remaining length (1-4 bytes).
                f = hm[0:2]
                e = self._take(f)
                if e < 2:
                    await self._read(f, e)
                t = h[0]
                n = h[1] & 0x7F
                i = 7
                while h[1] & 0x80:
                    if i > 21:
                        raise ValueError("bad packet")
                    f = hm[1:2]
                    if not self._take(f):
                        await self._read(f, 0)
                    n |= (h[1] & 0x7F) << i
                    i += 7
                k = t >> 4
                if k != 3:
                    # CONNACK, PUBACK, SUBACK, UNSUBACK, PINGRESP: 0-4 bytes
                    # kept, the rest skipped.
                    f = hm[0 : min(n, 4)]
                    e = self._take(f)
                    if e < len(f):
                        await self._read(f, e)
                    e = self._take(n - len(f), 0)
                    if e < n - len(f):
                        await self._read(n - len(f), e)
                    i = h[0] << 8 | h[1]  # packet id
                    if k == 2 and self.state != _CONNECTED:  # CONNACK
                        if h[1]:
                            # The BROKER event carries the return code: 1 protocol
                            # version, 2 client id, 3 server unavailable, 4 user
                            # name or password, 5 not authorized.
                            self.rc = h[1]
                            self.fail("CONNACK refused")
                            return
                        self.state = _CONNECTED
                        app.event(_BROKER, "BBBs", _CONNECTED, 0, h[0] & 1, "")
                        for t in list(self.subs):
                            if t in self.subs:
                                self.subscribe(t, self.subs[t])
                        for e in self.held:
                            e[3] = ticks_ms() - _RETRY_MS - 1  # run() sends them again
                    elif k == 4:  # PUBACK
                        for e in self.held:
                            if e[0] == i:
                                self.held.remove(e)
                                self.free.append(e[2])
                                app.event(_PUBACK, "HB", e[1], 0)  # delivered
                                break
                    elif k == 9 or k == 11:  # SUBACK (one filter per SUBSCRIBE), UNSUBACK
                        t = self.pending.pop(i, None)
                        if t is not None:
                            app.event(_SUBACK, "BS", h[2], t)
                    continue  # PINGRESP: its arrival is all that counts
                # PUBLISH: into link.msg as a MESSAGE body.
                qos = t >> 1 & 3
                f = hm[0:2]
                e = self._take(f)
                if e < 2:
                    await self._read(f, e)
                i = h[0] << 8 | h[1]  # topic length
                n -= 2 + i + 2 * qos  # payload length
                if qos > 1 or n < 0:
                    raise ValueError("bad packet")  # we subscribe with qos 1 at most
                b = app.link.msg
                m = memoryview(b)
                e = 5 + i + n
                keep = e + 4 <= app.link.peer_max
                pack_into(">H", b, 3, i)
                # The topic (if it fits, for the log line at least), the
                # packet id, the payload (or as many bytes skipped).
                for f in (m[5 : 5 + i] if 5 + i <= len(b) else i, hm[2 : 2 * qos + 2], m[5 + i : e] if keep else n):
                    k = self._take(f)
                    if k < (f if isinstance(f, int) else len(f)):
                        await self._read(f, k)
                if keep:
                    b[2] = qos | (t & 1) << 2 | (t & 8)  # MESSAGE flags: qos, retain, dup
                    app.link.send_body(b, 0, e)
                else:
                    app.event(
                        _LOG, "Br", 2,
                        "dropped a %d-byte message on %s: larger than the host's max_body"
                        % (n, bytes(m[5 : 5 + i]).decode() if 5 + i <= len(b) else "?"),
                    )
                if qos:
                    # Acknowledged once the MESSAGE frame is on the line (or
                    # dropped for good: it could never succeed).
                    h[0] = 0x40
                    h[1] = 2
                    self._send(hm[0:4])
        except Exception as e:
            self.fail(e)
