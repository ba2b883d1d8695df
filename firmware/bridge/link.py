# The link to the host: COBS framing with a 0x00 delimiter and a CRC-32 per
# frame (firmware-protocol.md sections 2 and 3), and the layout of the
# message payloads (section 5).
#
# Memory: three buffers of about MAX_BODY, allocated once; nothing grows.
# Frames are COBS-decoded in place in the receive buffer and encoded in
# place in the transmit buffer (decoding never moves a byte forward, and
# encoding never overtakes its source when that starts a few bytes further
# on), which saves two more.
# Speed: no per-byte Python loop: delimiters are found with bytearray.find,
# COBS runs are moved with slice assignment (memmove) and the CRC is
# binascii.crc32, all in C.
# Writes: the UART write blocks until the frame is out, on the ESP8266 (its
# driver has no transmit buffer) and on the Unix port (a blocking pty), so a
# frame is written whole by one call and frames never interleave: no lock.
#
# Payloads are packed and unpacked by two small interpreters driven by a
# layout string, one letter per field:
#   B u8   b i8   H u16   I u32   s str8   S str16   r rest (raw bytes)
# The layouts the firmware uses:
#   HELLO       0x01  BHBBHIBsI  version, max_body, window, max_inflight,
#                                capabilities, boot_count, reset_reason,
#                                software, free_heap
#   CONFIG      0x02  items key:u8 length:u16 value (config.py)
#   CONFIG_ACK  0x03  Bs    result, detail
#   ERROR       0x04  Bs    code, detail
#   PING, PONG  0x05, 0x06  r token
#   PUBLISH     0x10  BHSr  flags, message_id, topic, payload
#   SUBSCRIBE   0x11  BS    qos, filter
#   UNSUBSCRIBE 0x12  S     filter
#   PUBACK      0x20  HB    message_id, result
#   SUBACK      0x21  BS    granted, filter
#   MESSAGE     0x22  BSr   flags, topic, payload (built in place: mqtt.py)
#   WIFI        0x23  Bbss  state, rssi, address, reason
#   BROKER      0x24  BBBs  state, return_code, session_present, reason
#   LOG         0x25  Br    level, text
#   STATS       0x26  III   free_heap, uptime, time
#
# Why layout strings and not a function per message, why const() numbers,
# and why short names (often ones MicroPython already interns, like buf,
# data, end, send): on the Unix port bytecode lives in the 36 KB heap, and
# every function, global and new identifier costs there.

import asyncio
from binascii import crc32
from micropython import const
from struct import pack_into, unpack_from
from time import ticks_ms, ticks_diff

# The largest body we accept and send, announced in HELLO: 512, the least
# the protocol allows. It is set by the heap of the Unix twin: under
# `-X heapsize=36k` on a 64-bit build, where bytecode lives in the heap and
# every object is twice its ESP8266 size, the firmware peaks near 32 KB with
# 512, and 1024 would add 1.5 KB for the link's three buffers and 1 KB for
# the two held publishes, beyond what the heap can give without failing
# allocations. 512 holds a 256-byte message with a 200-byte topic, keeps
# COBS and CRC overhead near 2 %, and one frame holds the line for at most
# 45 ms at 115200 baud (the ESP8266's UART write blocks the event loop that
# long). The two twins keep the same value so that the simulation is true.
MAX_BODY = const(512)
# The longest chunk we accept: a COBS code byte per 254 bytes plus one, plus
# the optional trailing 0x01 after a full last run.
_BOUND = const(MAX_BODY + MAX_BODY // 254 + 2)
# Transmit: bodies are built at offset _D of the transmit buffer and encoded
# in place from offset 1, which stays behind its source.
_D = const(MAX_BODY // 254 + 3)
_IDLE_MS = const(20)  # a leading delimiter after this much silence (section 2)
# Indexes of Link.errors, the counters of section 2 and 3 plus our own.
_CRC = const(0)
_FRAMING = const(1)
_OVERSIZE = const(2)
_UNSUPPORTED = const(3)
_DROPPED = const(4)  # frames we did not send: too large for the host, or no heap


def readable(s):
    # Wait until the stream s has input: what asyncio's StreamReader does
    # before each read, without importing its module (2 KB of heap).
    yield asyncio.core._io_queue.queue_read(s)


def pack(buf, n, f, args):
    # Write args into the memoryview buf from offset n as laid out by f;
    # -> end offset. Texts may be str or bytes; str8 texts are our own and
    # are clipped at 255 bytes. Raises ValueError or IndexError when buf is
    # too small.
    for i in range(len(f)):
        key = f[i]
        v = args[i]
        k = "BbHI".find(key)
        if k >= 0:
            pack_into((">B", ">b", ">H", ">I")[k], buf, n, v)
            n += (1, 1, 2, 4)[k]
            continue
        if isinstance(v, str):
            v = v.encode()
        k = len(v)
        if key == "s":
            k = min(k, 255)
            buf[n] = k
            n += 1
        elif key == "S":
            pack_into(">H", buf, n, k)
            n += 2
        buf[n : n + k] = memoryview(v)[:k]
        n += k
    return n


def unpack(data, f, t):
    # Read the fields of the payload data (a memoryview) of a message of
    # type t -> a list of ints (B, H, I) and memoryview slices of data (s,
    # S, r). Bytes after the last field are ignored (section 4). Raises
    # ValueError if data is too short.
    out = []
    n = 0
    for key in f:
        k = "BbHI".find(key)
        e = (1, 1, 2, 4)[k] if k >= 0 else len(data) - n
        if key == "s" or key == "S":  # the length first
            k = 1 if key == "s" else 2
            if len(data) < n + k:
                break
            e = int.from_bytes(data[n : n + k], "big")
            n += k
            k = -1
        if len(data) < n + e:
            break
        out.append(data[n : n + e] if k < 0 else int.from_bytes(data[n : n + e], "big"))
        n += e
    else:
        return out
    raise ValueError("type 0x%02x: payload too short (%d bytes)" % (t, len(data)))


def cobs_encode(src, i, n, buf, e):
    # Encode src[i:n] (src a bytearray: it needs find) into the memoryview
    # buf from offset e; -> end offset. buf may be src's own memory if the
    # body starts at least (n - i) // 254 + 2 bytes after e. A body ending
    # in a full 254-byte run gets no trailing 0x01 code.
    m = memoryview(src)
    while True:
        z = src.find(b"\x00", i, n)
        k = n if z < 0 else z
        full = False
        while k - i >= 254:
            buf[e] = 0xFF
            buf[e + 1 : e + 255] = m[i : i + 254]
            e += 255
            i += 254
            full = True
        if z < 0 and full and k == i:
            return e
        buf[e] = k - i + 1
        buf[e + 1 : e + 1 + k - i] = m[i:k]
        e += k - i + 1
        if z < 0:
            return e
        i = z + 1


def cobs_decode(buf, i, n):
    # Decode the chunk buf[i:n] (a memoryview, no zero bytes) in place, to
    # buf[i:]; -> end of the body, or -1 if a code points past the chunk.
    e = i
    while i < n:
        k = buf[i]
        if not k or i + k > n:
            return -1
        buf[e : e + k - 1] = buf[i + 1 : i + k]
        e += k - 1
        i += k
        if k < 0xFF and i < n:
            buf[e] = 0
            e += 1
    return e


class Link:
    # One task reads: next() until it returns -1, then await
    # readable(stream) and read(). Any task sends: send() does not yield.
    # Without I/O (the tests): write into space(), add the count to end.
    # Create it early: its three buffers want contiguous heap.

    def __init__(self, stream):
        self.stream = stream
        self.peer_max = 512  # what any peer accepts before its HELLO (section 3)
        # Receive: the longest chunk and its delimiter, and room for reads.
        self.rb = bytearray(_BOUND + 33)
        self.start = 0  # first byte of the chunk being received; no
        self.scan = 0  # delimiter before scan; received bytes up to end
        self.end = 0
        self.skip = False  # discarding an oversize chunk up to its delimiter
        self.body = 0  # where the last body returned by next() starts
        self.errors = [0, 0, 0, 0, 0]  # CRC, framing, oversize, unsupported, dropped
        self.tb = bytearray(_D + MAX_BODY + 1)
        # A body built over several awaits, for send_body(): an incoming
        # MQTT message is read into it straight from the socket (mqtt.py).
        self.msg = bytearray(MAX_BODY)
        self.last = None  # ticks_ms of the last write

    def space(self):
        # Move the partial chunk to the front; -> the free space.
        m = memoryview(self.rb)
        i = self.start
        if i:
            m[0 : self.end - i] = m[i : self.end]
            self.end -= i
            self.scan -= i
            self.start = 0
        return m[self.end :]

    def next(self):
        # -> end of the next good body, which starts at self.body; -1 when
        # more input is needed. The receiver rules of section 2, in order.
        rb = self.rb
        err = self.errors
        while True:
            z = rb.find(b"\x00", self.scan, self.end)
            if z < 0:
                if self.end - self.start > _BOUND:
                    # No delimiter within the longest legal chunk: drop the
                    # bytes and keep dropping until the next delimiter.
                    if not self.skip:
                        err[_OVERSIZE] += 1
                        self.skip = True
                    self.start = self.scan = self.end = 0
                else:
                    self.scan = self.end
                return -1
            i = self.start
            self.start = self.scan = z + 1
            if self.skip:
                self.skip = False
            elif z - i > _BOUND:
                err[_OVERSIZE] += 1
            elif z > i:  # an empty chunk is ignored silently
                m = memoryview(rb)
                e = cobs_decode(m, i, z)
                if e < 0:
                    err[_FRAMING] += 1
                elif e - i < 6 or crc32(m[i : e - 4]) != unpack_from(">I", rb, e - 4)[0]:
                    err[_CRC] += 1
                elif rb[i + 1]:
                    # SEQ, ACK, MORE or reserved flags: not in this revision.
                    err[_UNSUPPORTED] += 1
                else:
                    self.body = i
                    return e

    def read(self):
        # Read what the UART has (after readable(self.stream)). The reader
        # loop is the caller's (app.py), to save a coroutine frame per frame.
        m = self.space()  # first: it moves end
        self.end += self.stream.readinto(m) or 0

    def send(self, t, f="", *args):
        # Send a message of type t laid out by f as pack() does. -> False if
        # it was dropped: larger than the host accepts, or no heap for it.
        m = memoryview(self.tb)
        m[_D] = t
        m[_D + 1] = 0
        try:
            e = pack(m, _D + 2, f, args)
        except (ValueError, IndexError, MemoryError):
            e = _D + MAX_BODY  # does not fit: dropped below
        return self.send_body(self.tb, _D, e)

    def send_body(self, src, i, e):
        # Send the body src[i:e] (type, flags, payload), which must have 4
        # spare bytes after it for the CRC. -> False if it was dropped.
        if e - i + 4 > self.peer_max:
            self.errors[_DROPPED] += 1
            return False
        try:
            pack_into(">I", src, e, crc32(memoryview(src)[i:e]))
            m = memoryview(self.tb)
            e = cobs_encode(src, i, e + 4, m, 1)
            m[e] = m[0] = 0
            # A leading delimiter when the line was idle, so that garbage
            # the host may have received before is terminated (section 2).
            i = 1 if self.last is not None and ticks_diff(ticks_ms(), self.last) < _IDLE_MS else 0
            while i <= e:
                i += self.stream.write(m[i : e + 1]) or 0
            self.last = ticks_ms()
            return True
        except MemoryError:
            # Maybe half a frame went out: the next one starts with a
            # delimiter so that it is not spoilt too.
            self.last = None
            self.errors[_DROPPED] += 1
            return False
