# A small resilient MQTT 3.1.1 client for asyncio, in the spirit of Peter
# Hinch's mqtt_as: while WiFi is up it keeps one broker connection and
# reconnects with exponential back-off (1 s doubling to 30 s, with jitter) when it fails;
# it holds qos 1 publishes until the broker's PUBACK and sends them again
# with DUP after a reconnect or a timeout; it subscribes its whole set again
# after every connect; PINGREQ keeps the connection alive and 1.5 keepalive
# periods of silence declare the broker dead.
#
# It reports through the bridge: app.send(type, layout, *fields) sends a
# link message (BROKER, PUBACK, SUBACK, LOG). An incoming PUBLISH is read
# straight into the link's send queue as MESSAGE frames (link.open and
# link.close), in fragments when it is larger than a frame (section 8.6):
# a message is never held whole, whatever its size.
#
# A PUBLISH from the host larger than a frame arrives in fragments; its
# MQTT packet is written to the socket as they come (send, then put for
# each fragment), its fixed header first from total_length. Until it is
# complete no other packet may be written: PINGREQ and re-sends wait, and so
# does the reader's PUBACK for an incoming message. Such a publish, and any
# whose packet does not fit a held buffer, is not held: if the connection
# fails before the broker's PUBACK, the host gets PUBACK offline and sends
# it again.
#
# Memory: the heap is small and fragments, so the hot paths allocate little.
# Packets are parsed from a 64-byte read buffer, and a field that is already
# there is taken without a coroutine call (each call allocates its frame);
# writing is synchronous. A qos 1 publish is copied into one of the
# MAX_INFLIGHT buffers handed to the client and held there until its PUBACK
# (a qos 0 one borrows a free one to go out in one write). Few, longer
# methods, names MicroPython already interns, const() numbers: on the Unix
# port bytecode and identifiers live in the heap (link.py says more).
#
# The client is made by config.connect(), which also makes the CONNECT
# packet (code needed once per CONFIG). Its attributes: cfg (the CONFIG
# values by key, cfg[0] the CONNECT packet), app, buffer (the free buffers),
# state (as in the BROKER message), subs (filter -> qos), held (qos 1 in
# send order: [packet id, message id, buffer, ticks sent, length; 0: not
# held]), pending (packet id -> filter of a SUBSCRIBE, None: UNSUBSCRIBE),
# id (the last packet id), sock, poll (a poller to write it), rb, start,
# end (unread bytes in rb), buf (0-3: what the reader reads and its PUBACK;
# 4-12: a publish's fixed header, topic length and packet id), down (why
# the connection failed), t: ticks of the last receive, send and PINGREQ,
# the CONNACK return code of a refusal, the payload bytes still to come of
# a fragmented PUBLISH being written (-1: none) and its held entry, the
# WiFi back-off (s) and the configuration WiFi is on (net.py).

import asyncio
from errno import ECONNREFUSED, errorcode
from micropython import const
from struct import pack_into
from time import ticks_ms, ticks_diff, ticks_us
from bridge.link import wait

_CONNECTED = const(2)  # states as in the BROKER message: 0 disconnected, 1 connecting
_MAX_SUBS = const(32)  # each filter costs its bytes and a dict slot
# qos 1 publishes in flight at the broker (HELLO max_inflight). The host
# keeps each until its PUBACK delivered, so the line stays busy only while
# this many cover the round trip host -> ESP -> broker -> host: measured
# 2 held 256-byte messages at 921600 baud to 62 % of the line, because one
# message is 3 ms on the line and that round trip about 9 ms. Each entry
# costs a small list, not a buffer.
MAX_INFLIGHT = const(8)
# COPIES of them at a time are copied into buffers of MAX_HELD bytes, to be
# sent again with DUP after a reconnect (MQTT 4.4). The others, and a
# publish whose MQTT packet is larger (a 256-byte payload fits with a topic
# of up to 58 bytes), are written without a copy: should the connection
# fail before the broker's PUBACK, the host gets PUBACK offline and sends
# it again. Buffers of MAX_BODY would not fit in the heap with the rest of
# version 2.
COPIES = const(2)
MAX_HELD = const(320)

_CONNECT_MS = const(10000)  # TCP connect, CONNECT and CONNACK
_SEND_MS = const(2000)  # a packet that cannot be written this long: dead connection
_RETRY_MS = const(10000)  # a qos 1 publish not acknowledged this long is sent again
_TICK_MS = const(250)  # supervision period
_STALL_MS = const(5000)  # a fragmented PUBLISH with no fragment for this long is given up


def backoff_ms(d):
    # A back-off of d s with jitter: between half of it and all of it, so
    # that bridges that lost the same broker or access point do not all
    # come back at the same moment. The microsecond clock's low digits
    # differ from one board and one failure to the next: jitter enough,
    # without the heap a random module would take.
    return d * 500 + ticks_us() % (d * 500 + 1)

# Inbound qos 1 messages the host has not yet acknowledged (5.11): the
# broker's PUBACK waits for the host's link ack of the MESSAGE's last frame.
# When this many wait, the reader stops reading and the broker's in-flight
# window throttles it. Each costs 5 bytes of one table (t[_WT]).
AWAIT = const(8)
_SILENT_MS = const(3000)  # as link.py's: a host this long silent may never ack
_REDO = "qos 1 messages lost by the host: redelivery"
# Indexes of t (boot.py makes it) for the inbound qos 1 messages: lost by
# the host and not acknowledged to the broker; the session of the table;
# how many wait; the table: AWAIT PUBACK packets, then the seq of each
# message's last frame.
_LOST = const(8)
_WG = const(9)
_NW = const(10)
_WT = const(11)
# link.py's indexes in Link.s: session, snd_una, entries queued, the host's
# ack, when it was last heard, the session of the MESSAGE being read.
_GEN = const(0)
_UNA = const(1)
_N = const(3)
_ACKD = const(4)
_HEARD = const(17)
_CG = const(25)
# The configuration is the list of CONFIG values indexed by key (config.py).
_KEEPALIVE = const(8)
_CLEAN = const(9)
# Link messages used here (firmware-protocol.md section 5).
_PUBACK = const(0x20)
_SUBACK = const(0x21)
_BROKER = const(0x24)
_LOG = const(0x25)
_PMAX = const(28)  # link.py's index of the host's max_body in Link.s


class MQTTClient:
    def send(self, f, n, t, data, e):
        # Publish with flags f and message id n as in the link's PUBLISH, to
        # topic t (bytes-like), payload data; e: the payload's whole length,
        # more than len(data) when the rest follows in fragments (put). -> a
        # PUBACK result to answer at once, or None: qos 0 sent, or qos 1
        # held until the broker's PUBACK (reported with n).
        q = f & 3
        if self.state != _CONNECTED:
            return 1  # offline
        k = 2 + len(t) + 2 * q + e  # remaining length
        if k >> 28:
            return 2  # rejected: over MQTT's 256 MB
        if q:
            for v in self.held:
                if v[1] == n:
                    return None  # already held: one PUBACK answers both
            if len(self.held) >= MAX_INFLIGHT:
                return 3  # busy
        # buf[4:i]: fixed header, topic length; then the packet id.
        h = self.buf
        h[4] = 0x30 | q << 1 | f >> 2 & 1
        i = 5
        while k >> 7:
            h[i] = k & 0x7F | 0x80
            k >>= 7
            i += 1
        h[i] = k
        pack_into(">H", h, i + 1, len(t))
        i += 3
        self.id = self.id % 65535 + 1
        pack_into(">H", h, i, self.id)
        # The held entry first: should an allocation fail, no buffer is lost.
        v = [self.id, n, None, ticks_ms(), 0]
        if q:
            self.held.append(v)
        b = v[2] = self.buffer.pop() if self.buffer else None
        k = i - 4 + len(t) + 2 * q + len(data)  # the packet's length
        hm = memoryview(h)
        if b and e == len(data) and k <= len(b):
            # One write, from a copy that a qos 1 publish keeps until its
            # PUBACK, to send again with DUP if need be.
            m = memoryview(b)
            f = i - 4
            m[:f] = hm[4:i]
            m[f : f + len(t)] = t
            f += len(t)
            if q:
                pack_into(">H", b, f, self.id)
            m[f + 2 * q : k] = data
            if q:
                v[4] = k
            else:
                self.buffer.append(b)
            return None if self.write(m[:k]) or q else 1
        # Written in parts and not held: fragments follow, or the packet is
        # larger than a buffer.
        if b and not q:
            self.buffer.append(b)
        if not self.write(hm[4:i], t, hm[i : i + 2 * q], data) and not q:
            return 1
        if e > len(data):
            t = self.t
            t[4] = e - len(data)
            t[5] = v if q else None
            t[1] = ticks_ms()
        return None

    def put(self, data, v):
        # The next fragment of the PUBLISH being written; v: another one
        # follows. Ignored when none is being written (refused, or its
        # connection failed).
        k = self.t[4] - len(data)
        if self.t[4] < 0:
            return
        if k < 0 or (k and not v):
            # Not the total_length announced: the packet on the socket can
            # never be finished, so the connection goes.
            v = self.t[5]
            if v:
                self.held.remove(v)
                if v[2]:
                    self.buffer.append(v[2])
            self.app.send(_PUBACK, "HB", v[1] if v else 0, 2)  # rejected
            self.t[4] = -1
            self.stop("fragment lengths")
            return
        self.write(data)
        self.t[4] = k if v else -1

    def sub(self, t, v):
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
            n = 4 + len(t) + (v is not None)  # remaining length, < 16384
            k = 2 if n > 127 else 1
            b = bytearray(1 + k + n)
            b[0] = 0xA2 if v is None else 0x82
            b[1] = n & 0x7F | (0x80 if k > 1 else 0)
            b[2] |= n >> 7 if k > 1 else 0
            pack_into(">HH", b, 1 + k, e, len(t))
            b[k + 5 : k + 5 + len(t)] = t
            if v is not None:
                b[-1] = v
            self.write(b)
        return True

    def flush(self):
        # PUBACK to the broker for the inbound qos 1 messages the host now
        # holds: those whose last MESSAGE frame its ack covers (5.11).
        # Called after each batch the link reads and every supervision tick.
        # Messages the host lost (a new link session, or silent for 3 s:
        # their frames may never be acknowledged) are acknowledged too with
        # a clean session, whose broker would not send them again anyway;
        # with a persistent one they stay with the broker, and run()
        # reconnects once the host is back so that it sends them again.
        t = self.t
        n = t[_NW]
        if not n:
            return
        s = self.app.link.s
        b = t[_WT]
        k = 0
        if s[_GEN] != t[_WG] or ticks_diff(ticks_ms(), s[_HEARD]) >= _SILENT_MS:
            if not (self.cfg and self.cfg[_CLEAN]):
                t[_LOST] = 1
                t[_NW] = 0
                return
            k = n
        while k < n and (s[_ACKD] - 1 - b[4 * AWAIT + k]) & 255 < 128:
            k += 1
        if not k or t[4] >= 0 or self.state != _CONNECTED:
            return  # nothing covered yet, or a fragmented PUBLISH is being written
        m = memoryview(b)
        self.write(m[: 4 * k])
        n -= k
        m[: 4 * n] = m[4 * k : 4 * (k + n)]
        m[4 * AWAIT : 4 * AWAIT + n] = m[4 * AWAIT + k : 4 * AWAIT + k + n]
        t[_NW] = n

    def stop(self, e):
        # The connection is failing (e: text or exception): run() closes it.
        if self.down is None:
            self.down = e

    def write(self, *args):
        # Write the parts of one packet; -> False (the connection is then
        # failing) on error. Writing never yields, so packets never mix:
        # while the socket's send buffer is full it blocks, for at most
        # _SEND_MS, which then fails the connection. Yielding instead would
        # cost a coroutine frame and a lock in the small heap for every
        # packet, and the buffer is full only when the broker falls behind.
        try:
            for b in args:
                e = 0
                while e < len(b) and self.down is None:
                    n = self.sock.write(memoryview(b)[e:] if e else b)
                    if n:
                        e += n
                    elif not self.poll.poll(_SEND_MS):
                        self.stop("send timeout")
            self.t[1] = ticks_ms()
        except Exception as e:
            self.stop(e)
        return self.down is None

    async def run(self):
        # The client's task, for ever: while configured (cfg), keep WiFi up
        # (a lost connection reconnected at once), connect to the broker
        # whenever it is (net.py, loaded for it), supervise, reconnect
        # (back-off 1 s doubling to 30 s, jittered). A new configuration (app.py)
        # stops the connection with DISCONNECT (no will) and starts over.
        app = self.app
        ev = app.send
        hw = app.hw
        t = self.t
        d = 1
        while True:
            try:
                c = self.cfg
                if not c:
                    t[7] = None
                    await asyncio.sleep_ms(_TICK_MS)
                    continue
                rx = None
                try:
                    if not await app.get("net").up(self, c):
                        continue
                    app.drop()  # net.py: room for the reader's coroutine
                    rx = asyncio.create_task(self.recv())  # it handles the CONNACK
                    t0 = t[0]
                    # Supervise: WiFi, CONNACK timeout, keepalive,
                    # unacknowledged publishes.
                    ka = c[_KEEPALIVE] * 1000
                    t[0] = t[1] = t[2] = t0
                    while self.down is None:
                        await asyncio.sleep_ms(_TICK_MS)
                        now = ticks_ms()
                        v = hw.wifi_status()
                        if v[0] != 2:
                            app.state(0, v[1] or "WiFi down", 0, "")
                            self.stop("WiFi down")
                            break
                        if self.state != _CONNECTED:
                            if ticks_diff(now, t0) > _CONNECT_MS:
                                self.stop("connect timeout")
                            continue
                        if ka and ticks_diff(now, t[0]) > ka * 3 // 2:
                            self.stop("keepalive timeout")  # nothing heard for 1.5 periods
                        self.flush()
                        s = app.link.s
                        if t[_LOST] and t[4] < 0 and s[_GEN] and ticks_diff(now, s[_HEARD]) < _SILENT_MS:
                            # The host is back: a clean reconnect (no will)
                            # makes the broker send what it lost again.
                            self.stop(_REDO)
                        if t[4] >= 0:
                            # A fragmented PUBLISH is being written: nothing
                            # else may go, unless it stalls.
                            if ticks_diff(now, t[1]) > _STALL_MS:
                                self.stop("fragments stalled")
                            continue
                        if ka and ticks_diff(now, t[2]) >= ka // 2 and (
                            ticks_diff(now, t[0]) >= ka // 2 or ticks_diff(now, t[1]) >= ka // 2
                        ):
                            # Either direction quiet for half a period: PINGREQ
                            # feeds the broker's timer and asks for a PINGRESP.
                            t[2] = now
                            self.write(b"\xc0\x00")
                        # Held publishes unacknowledged for too long, oldest first
                        # (MQTT 4.6).
                        for e in self.held:
                            if e[4] and ticks_diff(now, e[3]) > _RETRY_MS and self.down is None:
                                e[2][0] |= 0x08  # DUP
                                e[3] = now
                                self.write(memoryview(e[2])[: e[4]])
                except Exception as e:
                    self.stop(e)
                    if not self.state:
                        # Before a broker connection was tried (no heap
                        # for net.py, say), perhaps before anything
                        # awaited: without a wait this task would spin and
                        # starve every other one, the link's too. A tick,
                        # then again.
                        await asyncio.sleep_ms(_TICK_MS)
                finally:
                    if self.state == _CONNECTED and (self.down is None or self.down == "reconfigured" or self.down == _REDO):
                        try:
                            self.sock.write(b"\xe0\x00")  # DISCONNECT
                        except OSError:
                            pass
                    if rx:
                        rx.cancel()  # also takes the reader out of the poller
                    if self.sock:
                        self.sock.close()
                    self.sock = self.poll = None
                    self.pending = {}  # the whole set is subscribed again on connect
                    # Publishes not held cannot be sent again: the host does.
                    for e in self.held[:]:
                        if not e[4]:
                            self.held.remove(e)
                            if e[2]:
                                self.buffer.append(e[2])
                            ev(_PUBACK, "HB", e[1], 1)  # offline
                    if t[4] >= 0 and not t[5]:
                        ev(_PUBACK, "HB", 0, 1)  # a qos 0 one cut short
                    t[4] = -1
                    # Inbound qos 1 messages not acknowledged: the broker
                    # sends them again after the reconnect (persistent
                    # session) or has dropped them (clean session).
                    t[_NW] = t[_LOST] = 0
                if not self.state:
                    continue  # no broker connection was tried
                if self.state == _CONNECTED:
                    d = 1
                self.state = 0
                e = self.down
                if isinstance(e, OSError) and e.args:
                    e = "connection refused" if e.args[0] == ECONNREFUSED else errorcode.get(e.args[0], e)
                ev(_BROKER, "BBBs", 0, t[3], 0, str(e))
                # The back-off, unless WiFi went (that comes first) or the
                # configuration changed.
                for e in range(backoff_ms(d) // _TICK_MS):
                    if hw.wifi_status()[0] != 2 or self.cfg is not c:
                        break
                    await asyncio.sleep_ms(_TICK_MS)
                else:
                    d = min(d * 2, 30)
            except MemoryError:
                # Never let it end this task: the bridge would stay offline.
                self.stop("out of memory")
                await asyncio.sleep_ms(_TICK_MS)

    def get(self, b, e):
        # Copy buffered input into the memoryview b from offset e, or skip
        # input if b is a count; -> the new offset. Used first for each
        # field: no awaiting, no allocation when the bytes are there.
        k = min((b if isinstance(b, int) else len(b)) - e, self.end - self.start)
        if not isinstance(b, int):
            b[e : e + k] = memoryview(self.rb)[self.start : self.start + k]
        self.start += k
        return e + k

    async def read(self, b, e):
        # Finish what get() began: fill b from offset e from the socket.
        while e < (b if isinstance(b, int) else len(b)):
            await wait(self.sock)
            k = self.sock.readinto(self.rb)
            if k == 0:
                raise ValueError("closed by the broker")
            if k:
                self.start = 0
                self.end = k
                self.t[0] = ticks_ms()
                e = self.get(b, e)

    async def recv(self):
        # The reader task. Each field: e = self.get(f, 0); if short, await
        # self.read(f, e).
        app = self.app
        h = self.buf
        hm = memoryview(h)
        L = app.link
        try:
            while True:
                # Fixed header: type and flags, remaining length (1-4 bytes).
                f = hm[0:2]
                e = self.get(f, 0)
                if e < 2:
                    await self.read(f, e)
                t = h[0]
                n = h[1] & 0x7F
                i = 7
                while h[1] & 0x80:
                    if i > 21:
                        raise ValueError("bad packet")
                    f = hm[1:2]
                    if not self.get(f, 0):
                        await self.read(f, 0)
                    n |= (h[1] & 0x7F) << i
                    i += 7
                k = t >> 4
                if k != 3:
                    # CONNACK, PUBACK, SUBACK, UNSUBACK, PINGRESP: 0-4 bytes
                    # kept, the rest skipped.
                    f = hm[0 : min(n, 4)]
                    e = self.get(f, 0)
                    if e < len(f):
                        await self.read(f, e)
                    e = self.get(n - len(f), 0)
                    if e < n - len(f):
                        await self.read(n - len(f), e)
                    i = h[0] << 8 | h[1]  # packet id
                    if k == 2 and self.state != _CONNECTED:  # CONNACK
                        if h[1]:
                            # The BROKER event carries the return code: 1 protocol
                            # version, 2 client id, 3 server unavailable, 4 user
                            # name or password, 5 not authorized.
                            self.t[3] = h[1]
                            self.stop("CONNACK refused")
                            return
                        self.state = _CONNECTED
                        # The held publishes again, with DUP, at once: the
                        # host publishes as soon as it hears of the
                        # connection, and a newer publish must not overtake
                        # them (MQTT 4.6: re-sent in their original order).
                        for e in self.held:
                            e[2][0] |= 0x08
                            e[3] = ticks_ms()
                            self.write(memoryview(e[2])[: e[4]])
                        app.send(_BROKER, "BBBs", _CONNECTED, 0, h[0] & 1, "")
                        for t in list(self.subs):
                            if t in self.subs:
                                self.sub(t, self.subs[t])
                    elif k == 4:  # PUBACK
                        for e in self.held:
                            if e[0] == i:
                                self.held.remove(e)
                                if e[2]:
                                    self.buffer.append(e[2])
                                app.send(_PUBACK, "HB", e[1], 0)  # delivered
                                break
                    elif k == 9 or k == 11:  # SUBACK (one filter per SUBSCRIBE), UNSUBACK
                        t = self.pending.pop(i, None)
                        if t is not None:
                            app.send(_SUBACK, "BS", h[2], t)
                    continue  # PINGRESP: its arrival is all that counts
                # PUBLISH: MESSAGE frames to the host, read from the socket
                # straight into the link's send queue (link.open, link.close):
                # fragments with total_length when it is larger than a
                # frame (8.6).
                q = t >> 1 & 3
                f = hm[0:2]
                e = self.get(f, 0)
                if e < 2:
                    await self.read(f, e)
                i = h[0] << 8 | h[1]  # topic length
                n -= 2 + i + 2 * q  # payload length
                if q > 1 or n < 0:
                    raise ValueError("bad packet")  # we subscribe with qos 1 at most
                v = L.s[_PMAX]
                w = -1  # the session and seq of its last frame once queued
                # The first frame holds the topic and total_length at least;
                # room for it as a whole, or as large a frame as can be.
                c = await L.open(2 + min(v, 16 + i + n), 1) if i + 16 <= v else -2
                b = L.q
                m = memoryview(b)
                # The topic (where a str16 topic goes), the packet id.
                for f in (m[c + 10 : c + 10 + i] if c >= 0 else i, hm[2 : 2 * q + 2]):
                    k = self.get(f, 0)
                    if k < (f if isinstance(f, int) else len(f)):
                        await self.read(f, k)
                if c >= 0:
                    pack_into(">H", b, c + 8, i)
                    e = c + 10 + i
                    # MESSAGE flags: qos, retain, total_length. Neither dup
                    # (bit 3, which 8.7 gives to TOPIC_ID) nor topic ids:
                    # this firmware registers none with the host.
                    b[c + 7] = q | (t & 1) << 2
                    if e + n + 4 > c + 2 + v:
                        b[c + 7] |= 16
                        pack_into(">I", b, e, n)
                        e += 4
                    while True:
                        k = min(n, c + v - 2 - e)  # payload bytes in this frame
                        f = m[e : e + k]
                        i = self.get(f, 0)
                        if i < k:
                            await self.read(f, i)
                        n -= k
                        i = L.s
                        if not n and i[_CG] == i[_GEN]:
                            # close() queues it as the next entry.
                            w = i[_GEN] << 8 | (i[_UNA] + i[_N]) & 255
                        L.close(e + k, 4 if n else 0)  # MORE while some is left
                        if not n:
                            break
                        c = await L.open(2 + min(v, 9 + n), 0)
                        if c < 0:
                            L.close(-1, 0)  # no host any more: cut short
                            break
                        e = c + 7
                if c < 0:
                    # Dropped (or the rest of it): no host listens, or the
                    # topic does not fit in a frame.
                    if c == -2:
                        app.send(_LOG, "Br", 2, "topic of %d bytes: dropped" % i)
                    L.errors[4] += 1
                    k = self.get(n, 0)
                    if k < n:
                        await self.read(n, k)
                if q:
                    # Acknowledged to the broker once the host holds it:
                    # its packet id waits in the table for the host's ack
                    # (flush), AWAIT at most, the reader waiting for room.
                    f = self.t
                    self.flush()
                    while w >= 0 and f[_NW] >= AWAIT:
                        await asyncio.sleep_ms(5)
                        self.flush()
                    k = f[_NW]
                    i = L.s
                    if w >> 8 == i[_GEN] and ticks_diff(ticks_ms(), i[_HEARD]) < _SILENT_MS:
                        if not k:
                            f[_WG] = i[_GEN]
                        b = f[_WT]
                        b[4 * k] = 0x40
                        b[4 * k + 1] = 2
                        b[4 * k + 2] = h[2]
                        b[4 * k + 3] = h[3]
                        b[4 * AWAIT + k] = w & 255
                        f[_NW] = k + 1
                    elif c == -2 or (self.cfg and self.cfg[_CLEAN]):
                        # Dropped for good (a topic too long for a frame),
                        # or lost by the host with a clean session, where
                        # the broker would not send it again: acknowledged
                        # now, but never in the middle of a fragmented
                        # PUBLISH being written.
                        while f[4] >= 0:
                            await asyncio.sleep_ms(10)
                        h[0] = 0x40
                        h[1] = 2
                        self.write(hm[0:4])
                    else:
                        f[_LOST] = 1  # the broker keeps it: run() reconnects for it
        except Exception as e:
            self.stop(e)
        finally:
            L.close(-1, 0)  # a MESSAGE being read is cut short
