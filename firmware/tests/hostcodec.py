# The host's side of the link protocol, version 2, written for the tests
# from firmware-protocol.md alone and deliberately unlike the firmware's
# code: byte-at-a-time COBS, explicit field offsets. Runs under CPython (the
# end-to-end driver) and MicroPython (the codec tests).

import binascii
import struct

T = {
    "HELLO": 0x01, "CONFIG": 0x02, "CONFIG_ACK": 0x03, "ERROR": 0x04, "PING": 0x05, "PONG": 0x06,
    "ACK": 0x07, "PUBLISH": 0x10, "SUBSCRIBE": 0x11, "UNSUBSCRIBE": 0x12, "REGISTER": 0x13, "BAUD": 0x14,
    "PUBACK": 0x20, "SUBACK": 0x21, "MESSAGE": 0x22, "WIFI": 0x23, "BROKER": 0x24, "LOG": 0x25,
    "STATS": 0x26, "REGISTER_E": 0x27,
}
NAME = dict((v, k) for k, v in T.items())
# Frame flags (section 3)
SEQ = 1
ACK = 2
MORE = 4
# Never sequenced (8.2)
UNSEQUENCED = (0x01, 0x04, 0x05, 0x06, 0x07)
# PUBLISH / MESSAGE flag bits
TOPIC_ID = 8
LENGTH = 16


def cobs_encode(data, trailing_01=False):
    # The textbook encoder, one byte at a time. It ends a body whose last run
    # is a full 254 bytes with an extra 0x01 code; trailing_01=False drops it
    # (both are valid, section 2).
    out = bytearray([0])
    ci = 0  # index of the current code byte
    code = 1
    full = False
    for b in data:
        full = False
        if b == 0:
            out[ci] = code
            ci = len(out)
            out.append(0)
            code = 1
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[ci] = code
                ci = len(out)
                out.append(0)
                code = 1
                full = True
    out[ci] = code
    if full and not trailing_01:
        out = out[:-1]
    return bytes(out)


def cobs_decode(chunk):
    out = bytearray()
    i = 0
    while i < len(chunk):
        code = chunk[i]
        if code == 0 or i + code > len(chunk):
            return None
        out += chunk[i + 1 : i + code]
        i += code
        if code < 255 and i < len(chunk):
            out.append(0)
    return bytes(out)


def header(typ, flags=0, seq=None, ack=None, credit=None):
    # type, flags, [seq], [ack, credit]: the flags follow the fields given.
    h = bytearray([typ, flags])
    if seq is not None:
        h[1] |= SEQ
        h.append(seq & 255)
    if ack is not None:
        h[1] |= ACK
        h.append(ack & 255)
        h.append(credit)
    return bytes(h)


def body(typ, payload, flags=0, seq=None, ack=None, credit=None):
    hdr = header(typ, flags, seq, ack, credit) + bytes(payload)
    return hdr + struct.pack(">I", binascii.crc32(hdr) & 0xFFFFFFFF)


def frame(typ, payload=b"", flags=0, lead=True, seq=None, ack=None, credit=None):
    return (b"\x00" if lead else b"") + cobs_encode(body(typ, payload, flags, seq, ack, credit)) + b"\x00"


class Frame:
    # A received frame: type, flags, seq, ack, credit (None when absent),
    # payload.
    def __init__(self, b):
        self.type = b[0]
        self.flags = b[1]
        o = 2
        self.seq = self.ack = self.credit = None
        if self.flags & SEQ:
            self.seq = b[o]
            o += 1
        if self.flags & ACK:
            self.ack = b[o]
            self.credit = b[o + 1]
            o += 2
        self.payload = bytes(b[o:-4])
        self.size = len(b)

    def __repr__(self):
        return "<%s flags %d seq %s ack %s credit %s %d bytes>" % (
            NAME.get(self.type, self.type), self.flags, self.seq, self.ack, self.credit, len(self.payload))


class Reader:
    # Splits a byte stream into Frames with a good CRC; frames() of v1's
    # shape (type, payload) for convenience.
    def __init__(self):
        self.buf = bytearray()
        self.bad = 0

    def feed_frames(self, data):
        self.buf += data
        out = []
        while True:
            i = self.buf.find(b"\x00")
            if i < 0:
                return out
            chunk = bytes(self.buf[:i])
            self.buf = self.buf[i + 1 :]
            if not chunk:
                continue
            b = cobs_decode(chunk)
            if b is None or len(b) < 6 or struct.unpack(">I", b[-4:])[0] != binascii.crc32(b[:-4]) & 0xFFFFFFFF:
                self.bad += 1
                continue
            out.append(Frame(b))

    def feed(self, data):
        return [(f.type, f.payload) for f in self.feed_frames(data)]


# --- payloads the host sends


def s8(s):
    s = s.encode() if isinstance(s, str) else s
    return bytes([len(s)]) + s


def s16(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack(">H", len(s)) + s


def hello(version=2, max_body=1024, window=8, software="test-host 1", max_topics=8, max_baud=921600):
    return (struct.pack(">BHBBHIB", version, max_body, window, 0, 0, 0, 0) + s8(software)
            + struct.pack(">IBI", 0, max_topics, max_baud))


def hello_v1(max_body=1024, software="test-host 1"):
    return struct.pack(">BHBBHIB", 1, max_body, 1, 0, 0, 0, 0) + s8(software) + struct.pack(">I", 0)


def config(items):
    # items: list of (key, value bytes)
    out = b""
    for k, v in items:
        out += struct.pack(">BH", k, len(v)) + v
    return out


def publish(topic, payload, qos=0, mid=0, retain=False, topic_id=None, total=None):
    # topic_id: the topic field is that id (TOPIC_ID); total: LENGTH with
    # total_length (the first fragment of a fragmented PUBLISH).
    f = qos | (4 if retain else 0) | (TOPIC_ID if topic_id is not None else 0) | (LENGTH if total is not None else 0)
    out = struct.pack(">BH", f, mid) + (struct.pack(">H", topic_id) if topic_id is not None else s16(topic))
    if total is not None:
        out += struct.pack(">I", total)
    return out + payload


def subscribe(filt, qos=0):
    return bytes([qos]) + s16(filt)


def unsubscribe(filt):
    return s16(filt)


def register(topic_id, topic):
    return struct.pack(">H", topic_id) + s16(topic)


def baud(rate):
    return struct.pack(">I", rate)


# --- payloads the ESP sends -> dicts


def _s8(p, o):
    n = p[o]
    return bytes(p[o + 1 : o + 1 + n]), o + 1 + n


def _s16(p, o):
    n = p[o] << 8 | p[o + 1]
    return bytes(p[o + 2 : o + 2 + n]), o + 2 + n


def parse(typ, p):
    p = bytes(p)
    if typ == 0x01:
        v, mb, win, inf, caps, boot, reason = struct.unpack(">BHBBHIB", p[:12])
        sw, o = _s8(p, 12)
        (heap,) = struct.unpack(">I", p[o : o + 4])
        d = dict(version=v, max_body=mb, window=win, max_inflight=inf, capabilities=caps,
                 boot_count=boot, reset_reason=reason, software=sw.decode(), free_heap=heap)
        if len(p) >= o + 9:
            d["max_topics"], d["max_baud"] = struct.unpack(">BI", p[o + 4 : o + 9])
        return d
    if typ in (0x03, 0x04):
        d, o = _s8(p, 1)
        return dict(code=p[0], detail=d.decode())
    if typ in (0x05, 0x06):
        return dict(token=p)
    if typ == 0x07:
        return dict(reject=bool(p and p[0]))
    if typ == 0x20:
        mid, res = struct.unpack(">HB", p[:3])
        return dict(message_id=mid, result=res)
    if typ == 0x21:
        f, o = _s16(p, 1)
        return dict(granted=p[0], filter=f.decode())
    if typ == 0x22:
        # The first (or only) frame of a MESSAGE; continuation fragments
        # are raw payload (join them before parsing, see Host in test_e2e).
        f = p[0]
        if f & TOPIC_ID:
            t = struct.unpack(">H", p[1:3])[0]
            o = 3
        else:
            t, o = _s16(p, 1)
            t = t.decode()
        total = None
        if f & LENGTH:
            (total,) = struct.unpack(">I", p[o : o + 4])
            o += 4
        return dict(qos=f & 3, retain=bool(f & 4), topic_id=bool(f & TOPIC_ID), topic=t, total=total, payload=p[o:])
    if typ == 0x23:
        rssi = p[1] - 256 if p[1] > 127 else p[1]
        a, o = _s8(p, 2)
        r, o = _s8(p, o)
        return dict(state=p[0], rssi=rssi, address=a.decode(), reason=r.decode())
    if typ == 0x24:
        r, o = _s8(p, 3)
        return dict(state=p[0], return_code=p[1], session_present=p[2], reason=r.decode())
    if typ == 0x25:
        return dict(level=p[0], text=p[1:].decode())
    if typ == 0x26:
        h, up, t = struct.unpack(">III", p[:12])
        d = dict(free_heap=h, uptime=up, time=t)
        if len(p) >= 23:  # the clock's fields (5.15)
            d["time_ms"], d["last_sync"], d["sync_failures"], d["sync_result"] = struct.unpack(">HIIB", p[12:23])
        return d
    if typ == 0x27:
        t, o = _s16(p, 2)
        return dict(topic_id=struct.unpack(">H", p[:2])[0], topic=t.decode())
    return dict(raw=p)
