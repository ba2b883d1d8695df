# Link codec tests (MicroPython): framing, CRC, COBS edge cases, recovery
# from corruption and garbage, byte-at-a-time input, and every message
# layout, checked against tests/hostcodec.py, an independent implementation
# of the host side written from firmware-protocol.md.

import hostcodec as h  # tests/ is on the path: the script's directory
from t import check, eq, done
from binascii import crc32
from bridge.link import Link, cobs_encode, cobs_decode, unpack


class Wire:
    # The UART as the link sees it: writes are collected.
    def __init__(self):
        self.out = bytearray()

    def write(self, b):
        self.out += b
        return len(b)


def feed(link, data, step=0):
    # Push data into the link's receive side (step bytes at a time, all at
    # once if 0) and collect (type, payload) of every good frame.
    got = []
    i = 0
    while i < len(data):
        sp = link.space()
        n = min(len(sp), len(data) - i, step or len(data))
        sp[0:n] = data[i : i + n]
        link.end += n
        i += n
        while True:
            e = link.next()
            if e < 0:
                break
            got.append((link.rb[link.body], bytes(link.rb[link.body + 2 : e - 4])))
    return got


def sent(t, f, *args):
    # The wire bytes of one message sent by the firmware, and the link.
    w = Wire()
    k = Link(w)
    k.peer_max = 512
    k.send(t, f, *args)
    return bytes(w.out), k


# --- section 9, byte for byte
wire = bytes.fromhex("00 02 10 02 01 02 01 0b 03 61 2f 62 68 69 5c 2b f4 15 00".replace(" ", ""))
eq("crc32 check value", crc32(b"123456789"), 0xCBF43926)
eq("spec 9 example sent", sent(0x10, "BHSr", 1, 1, b"a/b", b"hi")[0], wire)
eq("spec 9 example host codec", h.frame(0x10, h.publish("a/b", b"hi", 1, 1)), wire)
eq("spec 9 example received", feed(Link(Wire()), wire), [(0x10, bytes.fromhex("010001000361 2f626869".replace(" ", "")))])

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
    n = cobs_encode(src, 0, len(src), memoryview(buf), 0)
    enc = bytes(buf[:n])
    check("cobs no zero byte: " + name, b"\x00" not in enc, enc)
    eq("cobs host decodes ours: " + name, h.cobs_decode(enc), body)
    for trailing in (False, True):
        m = bytearray(h.cobs_encode(body, trailing))
        e = cobs_decode(memoryview(m), 0, len(m))
        eq("cobs we decode host's (trailing 01 %s): %s" % (trailing, name), bytes(m[:e]), body)
src = bytearray(bytes([7]) * 254)
eq("cobs: a body ending in a full run gets no trailing 01", cobs_encode(src, 0, 254, memoryview(buf), 0), 255)
src = bytearray(b"\x00")
eq("cobs: a body ending in a zero gets its final 01", bytes(buf[: cobs_encode(src, 0, 1, memoryview(buf), 0)]), b"\x01\x01")
m = bytearray(b"\x05ab")
eq("cobs: code past the end is a framing error", cobs_decode(memoryview(m), 0, 3), -1)

# --- receiving: corruption, garbage, byte at a time, limits
good = [h.frame(0x05, b"tok%d" % i, lead=False) for i in range(3)]
want = [(0x05, b"tok%d" % i) for i in range(3)]
bad = bytearray(good[1])
bad[4] ^= 0x40  # a flipped bit in the payload
k = Link(Wire())
eq("corrupted frame dropped, next read", feed(k, good[0] + bytes(bad) + good[2]), [want[0], want[2]])
eq("corrupted frame counted as CRC error", k.errors[0], 1)
garbage = b"\x11\x22\xff garbage \x00\x01\x00\xfe\xfe\xfe\x00"
k = Link(Wire())
eq("garbage between frames", feed(k, garbage + good[0] + garbage + b"\x00" + good[1] + b"junk\x00" + good[2]), want)
stream = b"".join(good) + h.frame(0x10, h.publish("t/x", b"p" * 300, 1, 9))
all_frames = feed(Link(Wire()), stream)
eq("byte at a time: same frames", feed(Link(Wire()), stream, 1), all_frames)
eq("7 bytes at a time: same frames", feed(Link(Wire()), stream, 7), all_frames)
k = Link(Wire())
eq("oversize chunk dropped, next read", feed(k, bytes([1, 2, 3]) * 400 + b"\x00" + good[0], 5), [want[0]])
eq("oversize counted once", k.errors[2], 1)
k = Link(Wire())
eq("frame with flags set dropped", feed(k, h.frame(0x05, b"x", flags=1) + good[0]), [want[0]])
eq("frame with flags set counted", k.errors[3], 1)
k = Link(Wire())
eq("too short body dropped", feed(k, b"\x00\x03\x01\x02\x00" + good[0]), [want[0]])
eq("too short body counted as CRC error", k.errors[0], 1)
k = Link(Wire())
eq("framing error dropped", feed(k, b"\x09\x01\x02\x00" + good[0]), [want[0]])
eq("framing error counted", k.errors[1], 1)
w = Wire()
k = Link(w)
k.send(0x06, "r", b"a")
k.send(0x06, "r", b"b")
eq("back to back frames share the delimiter", w.out.count(b"\x00"), 3)

# --- sending limits
k = Link(Wire())
k.peer_max = 512
check("a message larger than the host's max_body is dropped", not k.send(0x25, "Br", 1, b"x" * 600))
eq("and counted", k.errors[4], 1)

# --- every message the ESP sends, read by the host codec
def roundtrip(name, t, f, args, want):
    out, k = sent(t, f, *args)
    got = h.Reader().feed(out)
    check(name + " frame", len(got) == 1 and got[0][0] == t, got)
    if got:
        eq(name + " fields", h.parse(t, got[0][1]), want)


roundtrip("HELLO", 0x01, "BHBBHIBsI", (1, 512, 1, 4, 0, 7, 6, "mqttbridge-fw 0.1.0", 12345),
          dict(version=1, max_body=512, window=1, max_inflight=4, capabilities=0, boot_count=7,
               reset_reason=6, software="mqttbridge-fw 0.1.0", free_heap=12345))
roundtrip("CONFIG_ACK", 0x03, "Bs", (2, "key 1 (wifi_ssid) is invalid"), dict(code=2, detail="key 1 (wifi_ssid) is invalid"))
roundtrip("ERROR", 0x04, "Bs", (3, "short"), dict(code=3, detail="short"))
roundtrip("PONG", 0x06, "r", (b"\x00\x01tok",), dict(token=b"\x00\x01tok"))
roundtrip("PUBACK", 0x20, "HB", (65535, 3), dict(message_id=65535, result=3))
roundtrip("SUBACK", 0x21, "BS", (0x80, b"a/+/#"), dict(granted=0x80, filter="a/+/#"))
roundtrip("WIFI", 0x23, "Bbss", (2, -55, "127.0.0.1", ""), dict(state=2, rssi=-55, address="127.0.0.1", reason=""))
roundtrip("BROKER", 0x24, "BBBs", (0, 5, 0, "CONNACK refused"), dict(state=0, return_code=5, session_present=0, reason="CONNACK refused"))
roundtrip("LOG", 0x25, "Br", (2, "héllo"), dict(level=2, text="héllo"))
roundtrip("STATS", 0x26, "III", (4000, 86400, 0), dict(free_heap=4000, uptime=86400, time=0))
roundtrip("str8 clipped at 255", 0x04, "Bs", (1, "x" * 300), dict(code=1, detail="x" * 255))

# --- every message the host sends, read with the firmware's layouts
def fields(v):
    return [bytes(x) if isinstance(x, memoryview) else x for x in v]


eq("HELLO from host", fields(unpack(memoryview(h.hello(1, 2048)), "BHBBHIBsI", 1))[:2], [1, 2048])
eq("PUBLISH from host", fields(unpack(memoryview(h.publish("a/b", b"\x00hi", 1, 7, True)), "BHSr", 0x10)), [5, 7, b"a/b", b"\x00hi"])
eq("SUBSCRIBE from host", fields(unpack(memoryview(h.subscribe("a/#", 1)), "BS", 0x11)), [1, b"a/#"])
eq("UNSUBSCRIBE from host", fields(unpack(memoryview(h.unsubscribe("a/#")), "S", 0x12)), [b"a/#"])
eq("PING from host", fields(unpack(memoryview(b"tok"), "r", 5)), [b"tok"])
eq("ERROR from host", fields(unpack(memoryview(b"\x02\x03abc"), "Bs", 4)), [2, b"abc"])
eq("extra bytes ignored", fields(unpack(memoryview(h.subscribe("x", 0) + b"future"), "BS", 0x11)), [0, b"x"])
try:
    unpack(memoryview(b"\x01\x00"), "BHSr", 0x10)
    check("short PUBLISH is malformed", False, "no error")
except ValueError as e:
    check("short PUBLISH is malformed", "too short" in str(e), e)

# --- CONFIG items
from bridge import config

ok = [(1, b"net"), (3, b"broker"), (5, b"id")]
r, d, v = config.parse(memoryview(h.config(ok + [(4, b"\x07\x5b"), (8, b"\x00\x05"), (6, b"u"), (7, b"p\x00w"), (99, b"?"), (3, b"broker2")])))
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
):
    r, d, v = config.parse(memoryview(h.config(items)))
    check("CONFIG %s -> %d" % (name, code), r == code and d, (r, d))
r, d, v = config.parse(memoryview(h.config(ok)[:-1]))
check("CONFIG truncated item -> 2", r == 2 and "truncated" in d, (r, d))

done()
