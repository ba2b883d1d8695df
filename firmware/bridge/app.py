# The bridge: glue between the link to the host, the hardware layer (UART,
# WiFi, flash) and the MQTT client, following the life cycle of
# firmware-protocol.md section 6.
#
# Tasks: run() reads the link and handles each host message in order;
# poll() runs the link's timers every 20 ms (retransmission, heartbeat) and
# an NTP attempt under way (ntp.py), and once a second sends HELLO until
# configured, every 10 s STATS and link error reports, and starts an NTP
# attempt when one is due;
# each configuration adds the MQTT client's task, which keeps WiFi up too. Sending to the host never yields (link.py), nor does publishing
# (mqtt.py): handlers call them without awaiting, which also spares a
# coroutine frame per message.
#
# The messages the host sends in normal operation are handled here; the
# rare ones (BAUD, ERROR, a HELLO of another version, unknown types) and
# the rare LOG lines are hello.py's, and CONFIG is config.py's, then
# apply.py's: modules loaded when needed and dropped after, so that their
# code is not in the heap the rest of the time. The clock is ntp.py's, loaded when first
# needed and kept (ntp.py says why). The heap of a running bridge is fragmented
# into holes of a few hundred bytes: before a module loads the bridge
# frees the room it keeps for it (buf, _ROOM bytes in one piece), and
# before config.py loads the broker connection is closed. Should the heap
# still lack room, a sequenced frame is not acknowledged (its rcv_nxt
# taken back) and the host's retransmission brings it again.
#
# The Bridge is made by boot.start(). Its attributes (names MicroPython
# already interns, see link.py): hw, link, cfg (the accepted
# configuration), mqtt (the MQTT client, made once), time (ticks when
# hello.py was last used, None when not loaded), done (a CONFIG
# was accepted since boot: HELLOs stop), on (False after a host HELLO of
# another version), flags (MORE of the last PUBLISH frame: a fragment
# follows), mode (the last WIFI state and reason sent), count (uptime in
# seconds), buffer (the MQTT client's buffers for held publishes, kept
# across clients), buf (the room kept for modules, None while they are in),
# clock (the time from NTP and the state of its synchronisation, ntp.py).

import asyncio
from asyncio.core import _io_queue
import gc
import select
import sys
from micropython import const
from time import ticks_ms, ticks_diff, ticks_add
from bridge.link import wait, MAX_BODY, START_RATE, HTOP
from bridge.mqtt import MAX_INFLIGHT

_STATS_S = const(10)
_TICK_MS = const(20)  # the link's timers: the RTO is 50 ms at least
_CTL_MS = const(2000)  # hello.py is dropped after this long unused
# The room kept free for them (and config.py, boot.py): the heap of a
# running bridge is fragmented into holes of a few hundred bytes, and a
# module needs one as large as its largest function. Taken back from the
# heap while one is loaded.
_ROOM = const(640)

# Link message types and codes (firmware-protocol.md sections 5, 7 and 8).
_HELLO = const(0x01)
_CONFIG = const(0x02)
_ERROR = const(0x04)
_PING = const(0x05)
_PONG = const(0x06)
_PUBLISH = const(0x10)
_SUBSCRIBE = const(0x11)
_REGISTER = const(0x13)
_PUBACK = const(0x20)
_SUBACK = const(0x21)
_WIFI = const(0x23)
_BROKER = const(0x24)
_LOG = const(0x25)
_WARNING = const(2)
# link.py's indexes in Link.s: rcv_nxt, an ACK due, when the host was last
# heard, the UART's rate, where next()'s frame starts.
_RCV = const(6)
_NEED = const(7)
_HEARD = const(17)
_RATE = const(27)
_PMAX = const(28)
_WIN = const(29)
_BODY = const(33)
# ntp.py's indexes in Bridge.clock: the time (Unix seconds, milliseconds,
# at ticks), the last sync, failures, the last outcome, when the next
# attempt is due, the back-off, the socket of the one under way, the
# server's address.
_SEC = const(0)
_MS = const(1)
_TK = const(2)
_LAST = const(3)
_FAIL = const(4)
_WHY = const(5)
_NEXT = const(6)
_WAIT = const(7)
_SOCK = const(8)
_ADDR = const(10)
_NTP = const(15)  # CONFIG key ntp_server: the configuration's index


def _drop(n):
    # Unload bridge.n, so that its code leaves the heap.
    sys.modules.pop("bridge." + n, None)
    try:
        delattr(sys.modules["bridge"], n)
    except Exception:  # not loaded (KeyError on the Unix port)
        pass


def _room(app, v):
    # Free the room kept for a module to load (v False), or take it back
    # (v True) once the modules are gone, if the heap has it in one piece.
    app.buf = None
    gc.collect()
    if v:
        try:
            app.buf = bytearray(_ROOM)
        except MemoryError:
            pass  # poll() tries again


def check_topic(t, f):
    # -> None when t (bytes) is a valid topic name or, with f, a valid
    # topic filter; else why not. Brokers close the connection of a client
    # that sends an invalid one, so it must not reach them.
    try:
        t.decode()
    except UnicodeError:
        return "not UTF-8"
    if not t or b"\x00" in t:
        return "invalid"
    if not f:
        return "wildcard" if b"+" in t or b"#" in t else None
    t = t.split(b"/")
    for f in range(len(t)):
        if (b"#" in t[f] and (t[f] != b"#" or f < len(t) - 1)) or (b"+" in t[f] and t[f] != b"+"):
            return "invalid"  # a misplaced wildcard
    return None


class Bridge:
    def hello(self):
        # Our HELLO (5.1, 8.9). The free heap is counted after a collection:
        # without one, garbage not yet collected counts as used.
        hw = self.hw
        gc.collect()
        self.link.send(
            _HELLO, "BHBBHIBsIBI", 2, MAX_BODY, self.link.s[_WIN], MAX_INFLIGHT, 2,  # NTP, no TLS
            hw.boot_count, hw.reset_reason, "mqttbridge-fw 0.2.0", gc.mem_free(), HTOP, hw.MAX_BAUD,
        )

    def send(self, t, f, *args):
        # Send a message to the host; status events also go to the local
        # log. Never raises MemoryError: a task must not die of one.
        try:
            if t == _ERROR or _WIFI <= t <= _LOG:  # ERROR, WIFI, BROKER, LOG
                self.hw.log("%02x %r" % (t, args))
        except MemoryError:
            pass
        self.link.send(t, f, *args)

    def get(self, n):
        # -> the module bridge.n (hello, net, ntp), loaded if need be; poll()
        # drops it when unused (but ntp). Never kept in a variable: that
        # would keep it in the heap.
        if self.buf:
            _room(self, 0)
        __import__("bridge." + n)
        self.time = ticks_ms()
        return getattr(sys.modules["bridge"], n)

    def drop(self):
        # Unload the modules get() loaded (a running function of one stays
        # until it returns), but ntp.py: once loaded it stays (ntp.py says
        # why).
        self.time = None
        _drop("hello")
        _drop("net")
        gc.collect()

    async def run(self):
        _room(self, 1)
        asyncio.create_task(self.poll())
        link = self.link
        rb = link.rb
        s = link.s
        send = link.send
        while True:
            t = mid = 0
            try:
                e = link.next()
                if e < 0:
                    link.flush(0)  # acknowledge the batch at once
                    self.mqtt.flush()  # the broker's PUBACKs the host's acks allow
                    await wait(link.stream)
                    link.read()
                    continue
                n = s[_BODY]
                t = rb[n]
                m = rb[n + 1]
                data = memoryview(rb)[n + 2 + (m & 3) : e]  # valid until the next read: copy to keep
                m &= 4  # MORE
                if self.flags and t != _PUBLISH and t != _ERROR and not _PING <= t <= _PONG:
                    # A fragmented PUBLISH cut short (8.6: fragments are
                    # consecutive), or a new session: the half-written
                    # packet ends the broker connection.
                    self.flags = 0
                    if self.mqtt.t[4] >= 0:
                        self.mqtt.stop("fragments cut short")
                if e + 4 - n > MAX_BODY:
                    self.send(_ERROR, "Bs", 5, "%d bytes" % (e + 4 - n))  # too-large
                elif t == _PUBLISH:
                    if self.flags:  # the next fragment
                        self.flags = m
                        self.mqtt.put(data, m)
                        continue
                    self.flags = m
                    # flags, message id, topic (str16, or an id with bit 3),
                    # total_length (with bit 4), payload.
                    if len(data) < 5:
                        raise ValueError("PUBLISH: payload too short")
                    f = data[0]
                    mid = data[1] << 8 | data[2]
                    n = data[3] << 8 | data[4]
                    e = 5 if f & 8 else 5 + n
                    v = link.get(n) if f & 8 else data[5:e]
                    r = int.from_bytes(data[e : e + 4], "big") if f & 16 else -1
                    e += f >> 2 & 4
                    if len(data) < e:
                        raise ValueError("PUBLISH: payload too short")
                    data = data[e:]
                    e = len(data) if r < 0 else r
                    # Why it is rejected (hello.reject words it), if it is.
                    r = None
                    if f & 0xE0 or f & 3 > 1:
                        r = 0  # invalid flags
                    elif f & 3 and not mid:
                        r = 1  # message id 0
                    elif v is None:
                        r = 2  # unknown topic id
                    elif (e > len(data)) != bool(m) or e < len(data):
                        r = 3  # total_length
                        n = e
                    elif not f & 8:
                        # A topic name: UTF-8, no wildcard, no NUL (registered
                        # ones were checked). A broker closes the connection
                        # of a client that sends an invalid one.
                        r = check_topic(bytes(v), 0) and 4
                    if r is not None:
                        send(_PUBACK, "HB", mid, 2)  # rejected
                        t = 0  # the LOG line comes from hello.py, if it loads
                        self.get("hello").reject(self, mid, r, n)
                    elif not self.cfg:
                        send(_PUBACK, "HB", mid, 1)  # offline
                    else:
                        r = self.mqtt.send(f, mid, v, data, e)
                        if r is not None:
                            send(_PUBACK, "HB", mid, r)
                elif t == _PING:
                    send(_PONG, "r", data)
                elif _SUBSCRIBE <= t <= _REGISTER:
                    # SUBSCRIBE: qos, filter; UNSUBSCRIBE: filter; REGISTER:
                    # topic_id, topic (8.7). The str16 at n.
                    n = 2 if t == _REGISTER else t == _SUBSCRIBE
                    e = n + 2 + (data[n] << 8 | data[n + 1]) if len(data) >= n + 2 else 1 << 20
                    if e > len(data):
                        raise ValueError("type %d: payload too short" % t)
                    f = bytes(data[n + 2 : e])
                    if t == _REGISTER:
                        v = data[0] << 8 | data[1]
                        r = check_topic(f, 0)
                        r = link.set(v, b"" if r else f) or r  # an invalid one forgets the id
                        if r:
                            raise ValueError("REGISTER %d: %s" % (v, r))
                    else:
                        v = data[0] if t == _SUBSCRIBE else None
                        if v is not None and v > 1:
                            raise ValueError("qos %d" % v)
                        if self.cfg:  # else ignored: the host replays after CONFIG_ACK
                            r = check_topic(f, 1)
                            if r is None and not self.mqtt.sub(f, v):
                                r = "table full"  # mqtt.py: _MAX_SUBS filters
                            if r and v is not None:
                                self.send(_LOG, "Br", _WARNING, "SUBSCRIBE %s refused: %s" % (f, r))
                                send(_SUBACK, "BS", 0x80, f)
                elif t == _HELLO and len(data) and data[0] == 2:
                    # A session (8.1): max_body (never below what all
                    # accept, never above our buffers) and window; the
                    # host's max_topics and max_baud do not matter here.
                    if len(data) < 4:
                        raise ValueError("HELLO: payload too short")
                    self.on = True
                    s[_PMAX] = min(max(data[1] << 8 | data[2], 512), MAX_BODY)
                    link.clear(min(max(data[3], 1), 127))
                    self.hello()
                elif t == _CONFIG and self.on:
                    # Acknowledged on the link only once handled (CONFIG_ACK
                    # sent): taken back until then. Its handling yields,
                    # while any frame we send carries an ack, and may find
                    # no heap for its modules, when the host must send it
                    # again.
                    s[_RCV] = s[_RCV] - 1 & 255
                    # Room for config.py: the broker connection closed first
                    # (the client's task does it, then waits for the next
                    # configuration), the other modules gone.
                    # The NTP server may change: an attempt under way
                    # ends, the next one comes as soon as WiFi is up (if
                    # the CONFIG is accepted), with the address looked up
                    # again. The time itself stays.
                    c = self.clock
                    if c[_SOCK] is not None:
                        c[_SOCK].close()
                    c[_SOCK] = c[_ADDR] = None
                    c[_WHY] = 0
                    c[_NEXT] = ticks_ms()
                    c[_WAIT] = 10
                    c = self.mqtt
                    self.cfg = c.cfg = None
                    c.stop("reconfigured")
                    while c.sock:
                        await asyncio.sleep_ms(20)
                    self.drop()
                    _room(self, 0)
                    # Decoded by config.py, applied by apply.py (which
                    # sends CONFIG_ACK): one after the other, never both in
                    # the heap.
                    try:
                        import bridge.config

                        try:
                            data = bridge.config.decode(data)
                        finally:
                            _drop("config")
                        gc.collect()
                        import bridge.apply

                        try:
                            bridge.apply.run(self, data)
                        finally:
                            _drop("apply")
                        s[_RCV] = s[_RCV] + 1 & 255  # handled
                        s[_NEED] |= 1  # an ACK that covers it (CONFIG_ACK's did not)
                    except MemoryError:
                        gc.collect()  # the host sends it again
                    _room(self, 1)
                else:
                    if t == _HELLO:
                        self.on = False
                    v = t
                    t = -rb[n + 1] & 1  # -1 for a sequenced one, which can be taken back
                    self.get("hello")
                    t = 0
                    self.get("hello").get(self, v, data)
            except ValueError as x:
                self.send(_ERROR, "Bs", 3, str(x))  # malformed
            except MemoryError:
                # The heap is too fragmented for this frame now. A PUBLISH
                # is answered busy, for the host to send it again; a frame
                # that found no room for its module is taken back, for the
                # host to send again; anything else is lost, as if the line
                # had dropped it.
                gc.collect()
                if t < 0:
                    s[_RCV] = s[_RCV] - 1 & 255
                    continue
                self.send(_LOG, "Br", _WARNING, "out of memory")
                if t == _PUBLISH and mid and not self.flags:
                    send(_PUBACK, "HB", mid, 3)

    def state(self, v, r, n, e):
        # WIFI state v (0 down, 1 connecting, 2 up), reason r, rssi n,
        # address e: sent on a change.
        if (v, r) != self.mode:
            self.mode = (v, r)
            self.send(_WIFI, "Bbss", v, n, e, r)

    async def poll(self):
        # The timers: the link's every 20 ms, the rest every second.
        link = self.link
        s = link.s
        c = self.clock
        t = f = ticks_ms()
        n = e = 0  # e: link errors reported so far
        r = 0  # uptime of the next STATS
        # A hung-up UART (the simulator's end of the pty closed) wakes no
        # reader in asyncio, which then spins: look for it once a second,
        # with asyncio's own poller (the UART is registered there while
        # run() waits for input).
        o = _io_queue.poller
        while True:
            await asyncio.sleep_ms(_TICK_MS)
            try:
                link.poll()
                if c[_SOCK] is not None and self.get("ntp").poll(self, c):
                    r = 0  # the attempt is over: STATS at once, for the host to know
                v = ticks_ms()
                if s[_RATE] != START_RATE and ticks_diff(v, s[_HEARD]) > 2000:
                    # No good frame for 2 s at the rate BAUD set: back to
                    # the start rate (8.8).
                    if self.get("hello").set(link, START_RATE):
                        self.send(_LOG, "Br", _WARNING, "no frame for 2 s: back to %d baud" % START_RATE)
                if self.time is not None and ticks_diff(v, self.time) > _CTL_MS:
                    self.drop()
                    _room(self, 1)
                if ticks_diff(v, f) < 1000:
                    continue
                f = v
                if self.buf is None and self.time is None:
                    _room(self, 1)
                for x in o.poll(0):
                    if x[0] is link.stream and x[1] & (select.POLLHUP | select.POLLERR):
                        raise SystemExit("UART hung up")
                n += ticks_diff(v, t)
                t = v
                self.count += n // 1000
                n %= 1000
                if not self.done:
                    self.hello()
                x = self.cfg
                if (
                    x and x[_NTP] and c[_SOCK] is None and ticks_diff(v, c[_NEXT]) >= 0
                    and self.mode and self.mode[0] == 2 and self.time is None
                ):
                    # An NTP attempt is due and WiFi is up; none of the
                    # other modules is in, so that ntp.py finds room. If it
                    # does not, it is tried again in 10 s (ntp.py sets the
                    # next one when the attempt ends).
                    c[_NEXT] = ticks_add(v, 10000)
                    self.get("ntp").start(self, c)
                if self.count >= r:
                    r = self.count + _STATS_S
                    if sum(link.errors) != e:
                        e = sum(link.errors)
                        self.get("hello").errors(self)  # LOG
                    if c[_SEC]:
                        # The time now, which becomes the reference: ticks
                        # differences stay small (ticks_ms wraps after 12
                        # days on the board).
                        k = ticks_diff(v, c[_TK]) + c[_MS]
                        c[_SEC] += k // 1000
                        c[_MS] = k % 1000
                        c[_TK] = v
                    if x:
                        # STATS: heap (after a collection, as in HELLO),
                        # uptime, the time (0 until known), the last sync,
                        # failures, the last outcome.
                        gc.collect()
                        link.send(
                            0x26, "IIIHIIB", gc.mem_free(), self.count, c[_SEC], c[_MS], c[_LAST], c[_FAIL], c[_WHY]
                        )
                if self.hw.debug_heap:
                    gc.collect()
                    self.hw.log("heap %d" % gc.mem_alloc())
            except MemoryError:
                gc.collect()  # the next tick tries again
