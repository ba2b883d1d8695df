# Made once at boot (main.py), in a module dropped right after: code that
# runs once costs no heap afterwards when it is in a module that goes,
# while __init__ methods would stay. -> the Bridge, with its Link on
# hw.uart and its MQTT client.

from time import ticks_ms
from bridge.link import Link, START_RATE, SIZES


def start(hw):
    k = Link()
    # The link's buffers first: they want contiguous heap.
    k.rb = bytearray(SIZES[0])
    k.tb = bytearray(SIZES[1])
    k.q = bytearray(SIZES[2])
    k.tt = bytearray(SIZES[5])
    from bridge.app import Bridge
    from bridge.mqtt import COPIES, MAX_HELD, AWAIT

    k.stream = hw.uart
    k.baud = hw.baud
    k.start = k.end = 0
    k.errors = [0, 0, 0, 0, 0]  # CRC, framing, oversize, unsupported, not sent
    s = k.s = [0] * SIZES[3]  # no session yet (indexes: link.py)
    s[20] = SIZES[4]  # where held-back frames go
    s[27] = START_RATE
    s[28] = 512  # what any peer accepts before its HELLO (section 3)
    # The credit we grant: as many of the largest frames (rb's size less 32,
    # with their delimiter) as the UART driver's buffer and rb hold while we
    # are busy.
    s[29] = min(127, (hw.RXBUF + SIZES[0]) // (SIZES[0] - 32))
    s[30] = ticks_ms() - 1000  # the last write: long ago
    b = Bridge()
    b.hw = hw
    b.link = k
    b.cfg = b.time = b.mode = None
    b.done = False
    b.on = True
    b.flags = b.count = 0
    b.buffer = [bytearray(MAX_HELD) for n in range(COPIES)]
    b.buf = None  # the room for modules (app.py)
    # The clock (ntp.py): no time, nothing tried; the first attempt once
    # configured with a server and WiFi is up, the back-off 10 s.
    b.clock = [0, 0, 0, 0, 0, 0, 0, 10, None, 0, None]
    # The MQTT client (mqtt.py, its attributes described there), made once
    # with its task, which waits for a configuration: made at a CONFIG,
    # in a heap fragmented by then, it might not find the room.
    from bridge.mqtt import MQTTClient

    c = b.mqtt = MQTTClient()
    c.cfg = None
    c.app = b
    c.buffer = list(b.buffer)
    c.state = c.id = c.start = c.end = 0
    c.subs = {}
    c.held = []
    c.pending = {}
    c.sock = c.poll = c.down = None
    c.rb = bytearray(64)
    c.buf = bytearray(13)
    # 8-11: inbound qos 1 messages awaiting the host (mqtt.py).
    c.t = [0, 0, 0, 0, -1, None, 1, None, 0, 0, 0, bytearray(5 * AWAIT)]
    import asyncio

    asyncio.create_task(c.run())
    return b
