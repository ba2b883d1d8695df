# The bridge: glue between the link to the host, the hardware layer (UART,
# WiFi, flash) and the MQTT client, following the life cycle of
# firmware-protocol.md section 6.
#
# Tasks: run() reads the link and handles each host message in order; a 1 s
# ticker sends HELLO until configured, STATS and link error reports; each
# configuration adds a WiFi task and the MQTT client's task. Sending to the
# host never yields (link.py), nor does publishing (mqtt.py): handlers call
# them without awaiting, which also spares a coroutine frame per message.

import asyncio
import gc
import select
import sys
from micropython import const
from time import ticks_ms, ticks_diff
from bridge.link import readable, unpack, MAX_BODY
from bridge.mqtt import MQTTClient, check_topic, MAX_INFLIGHT

_CAPABILITIES = const(0)  # no TLS, no NTP
_WIFI_POLL_MS = const(500)
_WIFI_ATTEMPT_S = const(20)  # a WiFi connection attempt gives up after this long
_STATS_S = const(10)

# Link message types and codes (firmware-protocol.md sections 5 and 7).
_HELLO = const(0x01)
_CONFIG = const(0x02)
_CONFIG_ACK = const(0x03)
_ERROR = const(0x04)
_PING = const(0x05)
_PONG = const(0x06)
_PUBLISH = const(0x10)
_SUBSCRIBE = const(0x11)
_UNSUBSCRIBE = const(0x12)
_PUBACK = const(0x20)
_SUBACK = const(0x21)
_MESSAGE = const(0x22)
_WIFI = const(0x23)
_BROKER = const(0x24)
_LOG = const(0x25)
_STATS = const(0x26)
_E_VERSION = const(1)
_E_UNKNOWN_TYPE = const(2)
_E_MALFORMED = const(3)
_E_TOO_LARGE = const(5)
_INFO = const(1)
_WARNING = const(2)
_ERR = const(3)


class Bridge:
    def __init__(self, hw, link):
        self.hw = hw
        self.link = link
        self.cfg = self.mqtt = None  # the accepted configuration, its client
        self.tasks = ()
        self.accepted = False  # a CONFIG was accepted since boot: HELLOs stop
        self.version_ok = True  # False after a host HELLO of another version
        # Incoming MQTT messages are read straight into link.msg, laid out as
        # a MESSAGE body: type, flags, MESSAGE flags, topic, payload.
        link.msg[0] = _MESSAGE
        self.wifi = None  # last WIFI (state, reason) sent
        self.uptime = 0  # seconds, summed from ticks_ms (which wraps)
        # The MQTT client's buffers for held publishes, kept across clients.
        self.slots = [bytearray(MAX_BODY) for i in range(MAX_INFLIGHT)]

    def event(self, t, f, *args):
        # Send a message to the host; status events also go to the local
        # log. Never raises MemoryError: a task must not die of one.
        try:
            if t in (_LOG, _BROKER, _ERROR, _WIFI):
                self.hw.log("%02x %r" % (t, args))
        except MemoryError:
            pass
        self.link.send(t, f, *args)

    def hello(self):
        hw = self.hw
        self.link.send(
            _HELLO, "BHBBHIBsI", 1, MAX_BODY, 1, MAX_INFLIGHT, _CAPABILITIES,
            hw.boot_count, hw.reset_reason, "mqttbridge-fw 0.1.0", gc.mem_free(),
        )

    async def run(self):
        asyncio.create_task(self._ticker())
        link = self.link
        send = link.send
        while True:
            t = 0
            try:
                e = link.next()
                if e < 0:
                    await readable(link.stream)
                    link.read()
                    continue
                n = link.body
                t = link.rb[n]
                data = memoryview(link.rb)[n + 2 : e - 4]  # valid until the next read: copy to keep
                if e - n > MAX_BODY:
                    self.event(_ERROR, "Bs", _E_TOO_LARGE, "%d bytes" % (e - n))
                elif t == _PUBLISH:
                    flags, mid, topic, payload = unpack(data, "BHSr", t)
                    r = None
                    if not self.mqtt:
                        r = 1  # offline
                    elif flags & 0xF8 or flags & 3 > 1:
                        r = "invalid"  # flags
                    elif flags & 3 and not mid:
                        r = "invalid"  # message id 0
                    else:
                        r = check_topic(bytes(topic), False)
                    if isinstance(r, str):
                        self.event(_LOG, "Br", _WARNING, "PUBLISH %d rejected: %s" % (mid, r))
                        r = 2  # rejected
                    elif r is None:
                        r = self.mqtt.publish(flags, mid, data[3:])
                    if r is not None:
                        send(_PUBACK, "HB", mid, r)
                elif t == _PING:
                    send(_PONG, "r", data)
                elif t == _SUBSCRIBE or t == _UNSUBSCRIBE:
                    v = unpack(data, "BS" if t == _SUBSCRIBE else "S", t)
                    f = bytes(v[-1])
                    v = v[0] if t == _SUBSCRIBE else None
                    if v is not None and v > 1:
                        raise ValueError("invalid")  # qos
                    if self.mqtt:  # else ignored: the host replays after CONFIG_ACK
                        r = check_topic(f, True)
                        if r is None and not self.mqtt.subscribe(f, v):
                            r = "table full"  # mqtt.py: _MAX_SUBS filters
                        if r and v is not None:
                            self.event(_LOG, "Br", _WARNING, "SUBSCRIBE %s refused: %s" % (f, r))
                            send(_SUBACK, "BS", 0x80, f)
                elif t == _HELLO:
                    v = unpack(data, "B", t)[0]
                    self.version_ok = v == 1
                    if self.version_ok:
                        # Never below what all accept, never above our buffers.
                        link.peer_max = min(max(unpack(data, "BHBBHIBsI", t)[1], 512), MAX_BODY)
                    else:
                        self.event(
                            _ERROR, "Bs", _E_VERSION,
                            "firmware speaks link protocol 1, host speaks %d:"
                            " update mqttbridged or flash a matching firmware" % v,
                        )
                    self.hello()
                elif t == _CONFIG:
                    await self._config(data)
                elif t == _ERROR:
                    v = unpack(data, "Bs", t)
                    self.hw.log("ERROR %d %s" % (v[0], bytes(v[1])))
                elif t != _PONG:
                    self.event(_ERROR, "Bs", _E_UNKNOWN_TYPE, "type %d" % t)
            except ValueError as x:
                self.event(_ERROR, "Bs", _E_MALFORMED, str(x))
            except MemoryError:
                # The heap is too fragmented for this frame now. A PUBLISH
                # is answered busy, for the host to send it again; anything
                # else is lost, as if the line had dropped it.
                gc.collect()
                self.event(_LOG, "Br", _WARNING, "out of memory")
                if t == _PUBLISH and len(data) > 2:
                    send(_PUBACK, "HB", data[1] << 8 | data[2], 3)

    async def _config(self, data):
        if not self.version_ok:
            self.event(_LOG, "Br", _WARNING, "CONFIG ignored: host speaks another protocol version")
            return
        # CONFIG replaces the whole state (section 5.2): the broker connection
        # is closed (cancelling the client's task does it), subscriptions and
        # held publishes are forgotten; the latter are answered PUBACK
        # `offline` so that the host sends them again. All of it goes before
        # config.py is loaded, to make room for it.
        q = self.mqtt
        for t in self.tasks:
            t.cancel()
        self.tasks = ()
        self.cfg = self.mqtt = t = None
        if q:
            for t in range(3):
                await asyncio.sleep_ms(0)  # let the cancelled tasks finish
            for t in q.held:
                self.link.send(_PUBACK, "HB", t[1], 1)
            if q.state:
                self.event(_BROKER, "BBBs", 0, 0, 0, "reconfigured")
        q = t = None
        gc.collect()
        import bridge.config  # needed only now: dropped right after

        try:
            r, t, q = bridge.config.parse(data)
        finally:
            del sys.modules["bridge.config"], bridge.config
        gc.collect()
        self.link.send(_CONFIG_ACK, "Bs", r, t)
        if r:
            # Refused: the ESP is left unconfigured, WiFi included.
            self.hw.wifi_connect(None, None)
            if self.wifi and self.wifi[0]:
                self.wifi_state(0, "not configured")
            self.event(_LOG, "Br", _ERR, "CONFIG refused: " + t)
            return
        self.cfg = q
        self.accepted = True
        self.wifi = None
        self.event(_LOG, "Br", _INFO, "configured: WiFi %s, broker %s:%d" % (q[1], q[3], q[4]))
        self.mqtt = MQTTClient(q, self, list(self.slots))
        self.tasks = (asyncio.create_task(self.wifi_task(q, self.mqtt)), asyncio.create_task(self.mqtt.run()))

    def wifi_state(self, state, reason, rssi=0, address=""):
        if (state, reason) != self.wifi:
            self.wifi = (state, reason)
            self.event(_WIFI, "Bbss", state, rssi, address, reason)

    async def wifi_task(self, cfg, q):
        # Connect, watch, reconnect: a lost connection at once, a failed
        # attempt after a back-off of 1 s doubling to 30 s. States as in the
        # WIFI message: 0 down, 1 connecting, 2 up.
        hw = self.hw
        delay = 1
        while True:
            try:
                hw.wifi_connect(cfg[1], cfg[2])
                self.wifi_state(1, "")
                t = ticks_ms()
                v = hw.wifi_status()
                while v[0] == 1 and ticks_diff(ticks_ms(), t) < _WIFI_ATTEMPT_S * 1000:
                    await asyncio.sleep_ms(_WIFI_POLL_MS)
                    v = hw.wifi_status()
                if v[0] == 2:
                    delay = 1
                    self.wifi_state(*v)
                    q.up = True
                    while v[0] == 2:
                        await asyncio.sleep_ms(_WIFI_POLL_MS)
                        v = hw.wifi_status()
                    q.up = False
                    q.fail("WiFi down")
                    self.wifi_state(0, v[1] or "WiFi down")
                    continue
                if v[0] == 1:
                    v = (0, "timed out")
                    hw.wifi_connect(None, None)
                self.wifi_state(0, v[1])
            except MemoryError:
                gc.collect()  # start over, after the back-off
            await asyncio.sleep_ms(delay * 1000)
            delay = min(delay * 2, 30)

    async def _ticker(self):
        t = ticks_ms()
        ms = 0
        errors = 0  # link errors reported so far
        due = 0  # uptime of the next STATS
        # A hung-up UART (the simulator's end of the pty closed) wakes no
        # reader in asyncio, which then spins: look for it once a second.
        hup = select.poll()
        hup.register(self.link.stream, select.POLLIN)
        while True:
            for x in hup.poll(0):
                if x[1] & (select.POLLHUP | select.POLLERR):
                    raise SystemExit("UART hung up")
            now = ticks_ms()
            ms += ticks_diff(now, t)
            t = now
            self.uptime += ms // 1000
            ms %= 1000
            try:
                if not self.accepted:
                    self.hello()
                if self.uptime >= due:
                    due = self.uptime + _STATS_S
                    v = self.link.errors
                    if sum(v) != errors:
                        errors = sum(v)
                        self.event(
                            _LOG, "Br", _WARNING,
                            "link errors: %d CRC, %d framing, %d oversize, %d unsupported, %d not sent" % tuple(v),
                        )
                    if self.cfg:
                        self.link.send(_STATS, "III", gc.mem_free(), self.uptime, 0)  # time: no NTP
                if self.hw.debug_heap:
                    gc.collect()
                    self.hw.log("heap %d" % gc.mem_alloc())
            except MemoryError:
                gc.collect()  # the next second tries again
            await asyncio.sleep_ms(1000 - ticks_diff(ticks_ms(), now))
