# The host's side of the link protocol, written for the tests from
# firmware-protocol.md alone and deliberately unlike the firmware's code:
# byte-at-a-time COBS, explicit field offsets. Runs under CPython (the
# end-to-end driver) and MicroPython (the codec tests).

import binascii
import struct

T = {
    "HELLO": 0x01, "CONFIG": 0x02, "CONFIG_ACK": 0x03, "ERROR": 0x04, "PING": 0x05, "PONG": 0x06,
    "PUBLISH": 0x10, "SUBSCRIBE": 0x11, "UNSUBSCRIBE": 0x12, "PUBACK": 0x20, "SUBACK": 0x21,
    "MESSAGE": 0x22, "WIFI": 0x23, "BROKER": 0x24, "LOG": 0x25, "STATS": 0x26,
}
NAME = dict((v, k) for k, v in T.items())


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


def body(typ, payload, flags=0):
    hdr = bytes([typ, flags]) + bytes(payload)
    return hdr + struct.pack(">I", binascii.crc32(hdr) & 0xFFFFFFFF)


def frame(typ, payload=b"", flags=0, lead=True):
    return (b"\x00" if lead else b"") + cobs_encode(body(typ, payload, flags)) + b"\x00"


class Reader:
    # Splits a byte stream into (type, payload) of frames with a good CRC.
    def __init__(self):
        self.buf = bytearray()
        self.bad = 0

    def feed(self, data):
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
            out.append((b[0], b[2:-4]))


# --- payloads the host sends


def s8(s):
    s = s.encode() if isinstance(s, str) else s
    return bytes([len(s)]) + s


def s16(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack(">H", len(s)) + s


def hello(version=1, max_body=1024, software="test-host 1"):
    return struct.pack(">BHBBHIB", version, max_body, 1, 0, 0, 0, 0) + s8(software) + struct.pack(">I", 0)


def config(items):
    # items: list of (key, value bytes)
    out = b""
    for k, v in items:
        out += struct.pack(">BH", k, len(v)) + v
    return out


def publish(topic, payload, qos=0, mid=0, retain=False):
    return struct.pack(">BH", qos | (4 if retain else 0), mid) + s16(topic) + payload


def subscribe(filt, qos=0):
    return bytes([qos]) + s16(filt)


def unsubscribe(filt):
    return s16(filt)


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
        return dict(version=v, max_body=mb, window=win, max_inflight=inf, capabilities=caps,
                    boot_count=boot, reset_reason=reason, software=sw.decode(), free_heap=heap)
    if typ in (0x03, 0x04):
        d, o = _s8(p, 1)
        return dict(code=p[0], detail=d.decode())
    if typ in (0x05, 0x06):
        return dict(token=p)
    if typ == 0x20:
        mid, res = struct.unpack(">HB", p[:3])
        return dict(message_id=mid, result=res)
    if typ == 0x21:
        f, o = _s16(p, 1)
        return dict(granted=p[0], filter=f.decode())
    if typ == 0x22:
        t, o = _s16(p, 1)
        return dict(qos=p[0] & 3, retain=bool(p[0] & 4), dup=bool(p[0] & 8), topic=t.decode(), payload=p[o:])
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
        return dict(free_heap=h, uptime=up, time=t)
    return dict(raw=p)
