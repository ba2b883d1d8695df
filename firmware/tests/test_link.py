# Link tests (MicroPython): framing, CRC, COBS edge cases, recovery from
# corruption and garbage, byte-at-a-time input, message layouts, and the
# reliable delivery of section 8 (sequence numbers, acknowledgements and
# credit, go-back-N with the RTO of RFC 6298 and Karn's rule, REJ,
# heartbeats, the held-back frames of a fragmented MESSAGE) driven with a
# manual clock; checked against tests/hostcodec.py, an independent
# implementation of the host side written from firmware-protocol.md.

import hostcodec as h  # tests/ is on the path: the script's directory
from t import check, eq, done
from binascii import crc32
import bridge.link as L
from bridge.link import Link, encode, decode, SIZES, MAX_BODY

# A manual clock for the link: its module-level ticks_ms.
NOW = [1000]
L.ticks_ms = lambda: NOW[0]


class Wire:
    # The UART as the link sees it: writes are collected, reads come from
    # what the test puts in.
    def __init__(self):
        self.out = bytearray()
        self.inp = bytearray()

    def write(self, b):
        self.out += b
        return len(b)

    def readinto(self, b):
        n = min(len(b), len(self.inp))
        b[:n] = self.inp[:n]
        self.inp = self.inp[n:]
        return n


def mk(w=None, win=4):
    # A Link as boot.py makes it (indexes of s: link.py).
    k = Link()
    k.rb = bytearray(SIZES[0])
    k.tb = bytearray(SIZES[1])
    k.q = bytearray(SIZES[2])
    k.tt = bytearray(SIZES[5])
    k.stream = w or Wire()
    k.baud = lambda s, r: True
    k.start = k.end = 0
    k.errors = [0, 0, 0, 0, 0]
    k.s = [0] * SIZES[3]
    k.s[20] = SIZES[4]
    k.s[27] = 115200
    k.s[28] = 512
    k.s[29] = win
    k.s[30] = NOW[0] - 1000
    return k


def feed(link, data, step=0):
    # Push data into the link's receive side (step bytes at a time, all at
    # once if 0) and collect (type, payload) of every message delivered.
    got = []
    w = link.stream
    i = 0
    while i < len(data) or w.inp:
        n = min(len(data) - i, step or len(data))
        w.inp += data[i : i + n]
        i += n
        link.read()
        while True:
            e = link.next()
            if e < 0:
                break
            b = link.s[33]
            f = link.rb[b + 1]
            got.append((link.rb[b], bytes(link.rb[b + 2 + (f & 3) : e])))
    return got


def frames(w):
    # The frames the link wrote since the last call.
    r = h.Reader().feed_frames(bytes(w.out))
    w.out = bytearray()
    return r


# --- section 9, byte for byte (a body without seq/ack, as version 1 had)
wire = bytes.fromhex("00 02 10 02 01 02 01 0b 03 61 2f 62 68 69 5c 2b f4 15 00".replace(" ", ""))
eq("crc32 check value", crc32(b"123456789"), 0xCBF43926)
w = Wire()
k = mk(w)
b = bytearray(b"\x10\x00" + h.publish("a/b", b"hi", 1, 1) + b"\x00" * 4)
k.write(b, 0, len(b) - 4)
eq("spec 9 example written", bytes(w.out), wire)
eq("spec 9 example host codec", h.frame(0x10, h.publish("a/b", b"hi", 1, 1)), wire)
k = mk()
eq("spec 9 example received: a PUBLISH without SEQ is not taken in version 2", feed(k, wire), [])
eq("and counted as unsupported", k.errors[3], 1)

# --- COBS edge cases: firmware encoder against the host decoder and back
cases = [
    ("empty", b""),
    ("one zero", b"\x00"),
    ("zeros", b"\x00" * 5),
    ("no zeros", b"abc"),
    ("ends in zero", b"ab\x00"),
    ("253 run", bytes([7]) * 253),
    ("254 run", bytes([7]) * 254),
    ("255 run", bytes([7]) * 255),
    ("254 run then zero", bytes([7]) * 254 + b"\x00"),
    ("body ends in full 254 run", b"\x00" + bytes([9]) * 254),
    ("two full runs", bytes([5]) * 508),
    ("all byte values", bytes(range(256)) * 2),
]
buf = bytearray(1200)
for name, body in cases:
    src = bytearray(body)
    n = encode(src, 0, len(src), memoryview(buf), 0)
    enc = bytes(buf[:n])
    check("cobs no zero byte: " + name, b"\x00" not in enc, enc)
    eq("cobs host decodes ours: " + name, h.cobs_decode(enc), body)
    for trailing in (False, True):
        m = bytearray(h.cobs_encode(body, trailing))
        e = decode(memoryview(m), 0, len(m))
        eq("cobs we decode host's (trailing 01 %s): %s" % (trailing, name), bytes(m[:e]), body)
src = bytearray(bytes([7]) * 254)
eq("cobs: a body ending in a full run gets no trailing 01", encode(src, 0, 254, memoryview(buf), 0), 255)
src = bytearray(b"\x00")
eq("cobs: a body ending in a zero gets its final 01", bytes(buf[: encode(src, 0, 1, memoryview(buf), 0)]), b"\x01\x01")
m = bytearray(b"\x05ab")
eq("cobs: code past the end is a framing error", decode(memoryview(m), 0, 3), -1)

# --- receiving: corruption, garbage, byte at a time, limits (unsequenced
# PINGs: delivered before any session)
good = [h.frame(0x05, b"tok%d" % i, lead=False) for i in range(3)]
want = [(0x05, b"tok%d" % i) for i in range(3)]
bad = bytearray(good[1])
bad[4] ^= 0x40  # a flipped bit in the payload
k = mk()
eq("corrupted frame dropped, next read", feed(k, good[0] + bytes(bad) + good[2]), [want[0], want[2]])
eq("corrupted frame counted as CRC error", k.errors[0], 1)
garbage = b"\x11\x22\xff garbage \x00\x01\x00\xfe\xfe\xfe\x00"
k = mk()
eq("garbage between frames", feed(k, garbage + good[0] + garbage + b"\x00" + good[1] + b"junk\x00" + good[2]), want)
stream = b"".join(good) + h.frame(0x05, b"p" * 500)
all_frames = feed(mk(), stream)
eq("byte at a time: same frames", feed(mk(), stream, 1), all_frames)
eq("7 bytes at a time: same frames", feed(mk(), stream, 7), all_frames)
k = mk()
eq("oversize chunk dropped, next read", feed(k, bytes([1, 2, 3]) * 400 + b"\x00" + good[0], 5), [want[0]])
eq("oversize counted once", k.errors[2], 1)
k = mk()
eq("reserved flag bits: dropped", feed(k, h.frame(0x05, b"x", flags=8) + good[0]), [want[0]])
eq("and counted", k.errors[3], 1)
k = mk()
eq("a sequenced frame before the session: dropped", feed(k, h.frame(0x11, b"x", seq=0, ack=0, credit=4) + good[0]), [want[0]])
k = mk()
eq("too short body dropped", feed(k, b"\x00\x03\x01\x02\x00" + good[0]), [want[0]])
eq("too short body counted as CRC error", k.errors[0], 1)
k = mk()
eq("framing error dropped", feed(k, b"\x09\x01\x02\x00" + good[0]), [want[0]])
eq("framing error counted", k.errors[1], 1)
w = Wire()
k = mk(w)
k.send(0x06, "r", b"a")
k.send(0x06, "r", b"b")
eq("back to back frames share the delimiter", w.out.count(b"\x00"), 3)
n = len(w.out)
check("before the session nothing sequenced goes out", not k.send(0x25, "Br", 1, "x") and len(w.out) == n, w.out)

# --- message layouts the ESP sends, read by the host codec
def roundtrip(name, t, f, args, want):
    w = Wire()
    k = mk(w)
    k.clear(8)
    k.send(t, f, *args)
    got = frames(w)
    check(name + " frame", len(got) == 1 and got[0].type == t, got)
    if got:
        eq(name + " fields", h.parse(t, got[0].payload), want)
        q = t not in (1, 4, 5, 6)
        check(name + ": " + ("sequenced, with ack" if q else "unsequenced, flags 0"), got[0].flags == (3 if q else 0), got[0])


roundtrip("HELLO", 0x01, "BHBBHIBsIBI", (2, 512, 4, 2, 0, 7, 6, "mqttbridge-fw 0.2.0", 12345, 8, 921600),
          dict(version=2, max_body=512, window=4, max_inflight=2, capabilities=0, boot_count=7,
               reset_reason=6, software="mqttbridge-fw 0.2.0", free_heap=12345, max_topics=8, max_baud=921600))
roundtrip("CONFIG_ACK", 0x03, "Bs", (2, "key 1 (wifi_ssid) is invalid"), dict(code=2, detail="key 1 (wifi_ssid) is invalid"))
roundtrip("ERROR", 0x04, "Bs", (3, "short"), dict(code=3, detail="short"))
roundtrip("PONG", 0x06, "r", (b"\x00\x01tok",), dict(token=b"\x00\x01tok"))
roundtrip("PUBACK", 0x20, "HB", (65535, 3), dict(message_id=65535, result=3))
roundtrip("SUBACK", 0x21, "BS", (0x80, b"a/+/#"), dict(granted=0x80, filter="a/+/#"))
roundtrip("WIFI", 0x23, "Bbss", (2, -55, "127.0.0.1", ""), dict(state=2, rssi=-55, address="127.0.0.1", reason=""))
roundtrip("BROKER", 0x24, "BBBs", (0, 5, 0, "CONNACK refused"), dict(state=0, return_code=5, session_present=0, reason="CONNACK refused"))
roundtrip("LOG", 0x25, "Br", (2, "héllo"), dict(level=2, text="héllo"))
roundtrip("STATS", 0x26, "IIIHIIB", (4000, 86400, 1900000000, 999, 1899999000, 3, 1),
          dict(free_heap=4000, uptime=86400, time=1900000000, time_ms=999, last_sync=1899999000, sync_failures=3,
               sync_result=1))
roundtrip("str8 clipped at 255", 0x04, "Bs", (1, "x" * 300), dict(code=1, detail="x" * 255))
k = mk()
k.clear(8)
check("a message larger than the host's max_body is dropped", not k.send(0x25, "Br", 1, b"x" * 600))
eq("and counted", k.errors[4], 1)

# --- section 8 with a manual clock
def ack(k, n, c, rej=False):
    # The host's ACK frame: ack n, credit c.
    return feed(k, h.frame(0x07, b"\x01" if rej else b"", ack=n, credit=c))


w = Wire()
k = mk(w)
k.clear(2)  # the host's window: 2
for i in range(3):
    k.send(0x25, "Br", 1, "m%d" % i)
f = frames(w)
eq("credit: only the host's window goes out before an ack", [x.seq for x in f], [0, 1])
check("each carries ACK with our window as credit", all(x.ack == 0 and x.credit == 4 for x in f), f)
NOW[0] += 100
ack(k, 1, 2)
eq("an ack opens the credit: the next one", [x.seq for x in frames(w)], [2])
eq("RTO from the first sample (100 ms): SRTT + max(G, 4 RTTVAR) = 100 + 200", k.s[12], 300)
NOW[0] += 299
k.poll()
eq("nothing again before the RTO", frames(w), [])
NOW[0] += 1
k.poll()
eq("at the RTO: every unacknowledged frame again, in order", [x.seq for x in frames(w)], [1, 2])
eq("and the RTO doubles", k.s[12], 600)
NOW[0] += 50
ack(k, 3, 2)
eq("Karn: no sample from a frame sent twice", k.s[12], 600)
for i in range(4):
    NOW[0] += 3000
    k.send(0x25, "Br", 1, "r")
    k.poll()
    frames(w)
k.s[12] = 2500
NOW[0] += 2500
k.poll()
eq("the RTO doubles up to 3 s", k.s[12], 3000)
ack(k, (k.s[1] + k.s[2]) & 255, 4)

w = Wire()
k = mk(w)
k.clear(8)
k.send(0x20, "HB", 1, 0)
k.send(0x20, "HB", 2, 0)
k.send(0x20, "HB", 3, 0)
frames(w)
NOW[0] += 20
ack(k, 1, 8, rej=True)
eq("REJ: the unacknowledged frames from its ack, at once", [x.seq for x in frames(w)], [1, 2])
ack(k, 1, 8, rej=True)
eq("REJ for the same ack within a round trip: nothing again", frames(w), [])
NOW[0] += 1100
ack(k, 1, 8, rej=True)
eq("a round trip later: again", [x.seq for x in frames(w)], [1, 2])
ack(k, 3, 8)

w = Wire()
k = mk(w)
k.clear(8)
got = feed(k, h.frame(0x11, b"\x01\x00\x01a", seq=0, ack=0, credit=8) + h.frame(0x11, b"\x01\x00\x01b", seq=1, ack=0, credit=8))
eq("in order: delivered", [p for t_, p in got], [b"\x01\x00\x01a", b"\x01\x00\x01b"])
k.flush(0)
f = frames(w)
check("and acknowledged at once (one ACK for the batch)", len(f) == 1 and f[0].type == 7 and f[0].ack == 2 and f[0].credit == 4, f)
got = feed(k, h.frame(0x11, b"\x01\x00\x01b", seq=1, ack=0, credit=8))
k.flush(0)
f = frames(w)
check("a duplicate: not delivered, acknowledged", not got and len(f) == 1 and f[0].ack == 2 and not f[0].payload, (got, f))
got = feed(k, h.frame(0x11, b"\x01\x00\x01d", seq=3, ack=0, credit=8))
k.flush(0)
f = frames(w)
check("a gap: not delivered, REJ from rcv_nxt", not got and len(f) == 1 and f[0].ack == 2 and f[0].payload == b"\x01", (got, f))
feed(k, h.frame(0x11, b"\x01\x00\x01e", seq=4, ack=0, credit=8))
k.flush(0)
f = frames(w)
check("REJ at most once per rcv_nxt: then a plain ACK", len(f) == 1 and not f[0].payload, f)
got = feed(k, h.frame(0x11, b"\x01\x00\x01c", seq=2, ack=0, credit=8))
eq("the missing one: delivered", [p for t_, p in got], [b"\x01\x00\x01c"])
k.send(0x21, "BS", 1, b"x")
f = frames(w)
check("a frame sent carries the ack (piggybacked): no ACK frame due", len(f) == 1 and f[0].ack == 3 and not k.s[7], f)
NOW[0] += 899
k.poll()
eq("no heartbeat before a second of silence", [x.type for x in frames(w)], [])
NOW[0] += 1
k.poll()
eq("then an ACK frame (8.5)", [x.type for x in frames(w)], [7])

# The fragments of a MESSAGE stay consecutive: frames sent while one is
# being read wait behind it.
w = Wire()
k = mk(w)
k.clear(16)
s = k.s


async def message():
    c = await k.open(200, 1)
    k.q[c + 7 : c + 10] = b"abc"
    k.send(0x20, "HB", 9, 0)  # held back
    k.close(c + 10, 4)  # MORE
    k.send(0x20, "HB", 10, 0)  # held back too
    c = await k.open(200, 0)
    k.q[c + 7 : c + 9] = b"de"
    k.close(c + 9, 0)


import asyncio

asyncio.run(message())
f = frames(w)
eq("a fragmented MESSAGE, then the frames sent meanwhile", [(x.type, x.flags & 4, x.payload) for x in f],
   [(0x22, 4, b"abc"), (0x22, 0, b"de"), (0x20, 0, b"\x00\x09\x00"), (0x20, 0, b"\x00\x0a\x00")])
eq("in sequence", [x.seq for x in f], [0, 1, 2, 3])

# A full queue of MESSAGE frames (the host slow to acknowledge them, noise
# on the line) still takes a small frame: the broker's PUBACK for a host
# PUBLISH must not be lost, or the host waits for it for ever.
w = Wire()
k = mk(w)
k.clear(16)


async def fill():
    for n in (300, 270):
        c = await k.open(n, 1)
        k.close(c + n - 6, 0)  # the whole claimed room: payload up to the CRC


asyncio.run(fill())
frames(w)
dropped = k.errors[4]
k.send(0x20, "HB", 11, 0)
eq("a PUBACK behind a full queue of MESSAGE frames goes out", [(x.type, x.payload) for x in frames(w)],
   [(0x20, b"\x00\x0b\x00")])
eq("and is not dropped", k.errors[4], dropped)
ack(k, 3, 16)

# A new session: sequence numbers from 0, the queue forgotten.
k.clear(4)
k.send(0x25, "Br", 1, "new")
eq("a new session starts again at 0", [x.seq for x in frames(w)], [0])

# --- CONFIG items
from bridge import apply, config

ok = [(1, b"net"), (3, b"broker"), (5, b"id")]
r, d, v = config.decode(memoryview(h.config(ok + [(4, b"\x07\x5b"), (8, b"\x00\x05"), (6, b"u"), (7, b"p\x00w"), (99, b"?"), (3, b"broker2")])))
eq("CONFIG accepted", (r, d), (0, ""))
eq("CONFIG values", (v[1], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[11]), ("net", "broker2", 1883, b"id", b"u", b"p\x00w", 5, 1, b""))
for name, items, code in (
    ("missing wifi_ssid", [(3, b"b"), (5, b"i")], 1),
    ("missing client_id", [(1, b"n"), (3, b"b")], 1),
    ("ssid too long", ok + [(1, b"x" * 33)], 2),
    ("bad port size", ok + [(4, b"\x01")], 2),
    ("port 0", ok + [(4, b"\x00\x00")], 2),
    ("will_qos 2", ok + [(12, b"\x02")], 2),
    ("will topic wildcard", ok + [(10, b"a/#")], 2),
    ("bad UTF-8", ok + [(5, b"\xff\xfe")], 2),
    ("password without user", ok + [(7, b"pw")], 2),
    ("tls", ok + [(14, b"\x01")], 3),
    ("ntp_port 0", ok + [(16, b"\x00\x00")], 2),
    ("ntp_port of 1 byte", ok + [(16, b"\x7b")], 2),
    ("ntp_server with a NUL", ok + [(15, b"a\x00b")], 2),
):
    r, d, v = config.decode(memoryview(h.config(items)))
    check("CONFIG %s -> %d" % (name, code), r == code and d, (r, d))
r, d, v = config.decode(memoryview(h.config(ok)))
eq("CONFIG without NTP: no server, port 123", (v[15], v[16]), (b"", 123))
r, d, v = config.decode(memoryview(h.config(ok + [(15, b"pool.ntp.org"), (16, b"\x10\x7b")])))
eq("CONFIG ntp_server and ntp_port", (r, v[15], v[16]), (0, b"pool.ntp.org", 4219))
r, d, v = config.decode(memoryview(h.config(ok)[:-1]))
check("CONFIG truncated item -> 2", r == 2 and "truncated" in d, (r, d))
r, d, v = config.decode(memoryview(h.config(ok + [(6, b"user"), (7, b"pw"), (10, b"w/t"), (11, b"bye"), (12, b"\x01")])))
apply._connect(v)
eq("the CONNECT packet", bytes(v[0]), b"\x10\x22\x00\x04MQTT\x04\xce\x00\x3c\x00\x02id\x00\x03w/t\x00\x03bye\x00\x04user\x00\x02pw")

done()
