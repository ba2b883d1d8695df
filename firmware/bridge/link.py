# The link to the host (firmware-protocol.md): COBS framing with a 0x00
# delimiter and a CRC-32 per frame (sections 2 and 3), the layout of the
# message payloads (section 5), and version 2's reliable delivery (section
# 8): sequence numbers, acknowledgements and credit, go-back-N
# retransmission with an RTO per RFC 6298, heartbeats, topic ids.
#
# Memory: four buffers, allocated once (config.start); nothing grows.
#   rb  receive: the longest chunk and its delimiter, plus room for reads.
#       Frames are COBS-decoded in place (decoding never moves a byte
#       forward).
#   tb  transmit: every frame is COBS-encoded into it from offset 1 on its
#       way to the UART. Unsequenced frames (HELLO, ERROR, PONG, ACK) are
#       built in it at offset _D and encoded in place (encoding never
#       overtakes its source when that starts a few bytes further on).
#   q   the send queue of sequenced frames, oldest first, kept until the
#       host acknowledges them: each entry is len:u16 then the body (type,
#       flags, seq, ack, credit, payload, CRC). seq, ack and credit are
#       written when the frame goes out, so that a retransmission carries
#       the current acknowledgement; an entry's seq is its position (the
#       k-th entry is snd_una + k). Acknowledged entries are dropped from
#       the front by moving the rest down (memmove, in C).
#         [0, head)        acknowledged, not yet moved away
#         [head, qe)       the queue: sent and unacknowledged, then unsent
#                          (waiting for the host's credit)
#         [qe, _Q - _SIDE) free; a MESSAGE frame being read from the broker
#                          socket is built here in place (open, close).
#                          Other frames may run on into the room beyond
#                          while no MESSAGE is being read (send)
#         [_Q - _SIDE, se) while a MESSAGE is being read: the frames other
#                          tasks send meanwhile, held back so that the
#                          fragments of a MESSAGE stay consecutive (8.6);
#                          they join the queue when the MESSAGE is complete
#   tt  the host's topic ids (8.7): their lengths first (0: free), then the
#       topics, TLEN bytes each.
# Speed: no per-byte Python loop: delimiters are found with bytearray.find,
# COBS runs and queue entries are moved with slice assignment (memmove),
# the CRC is binascii.crc32, all in C.
# Writes: the UART write blocks until the frame is out, on the ESP8266 (its
# driver has no transmit buffer) and on the Unix port (a blocking pty), so a
# frame is written whole by one call and frames never interleave: no lock.
#
# Payloads are packed by a small interpreter driven by a layout string, one
# letter per field (and read by hand where they are handled):
#   B u8   b i8   H u16   I u32   s str8   S str16   r rest (raw bytes)
# The layouts the firmware uses:
#   HELLO       0x01  BHBBHIBsIBI version, max_body, window, max_inflight,
#                                capabilities, boot_count, reset_reason,
#                                software, free_heap, max_topics, max_baud
#   CONFIG      0x02  items key:u8 length:u16 value (config.py)
#   CONFIG_ACK  0x03  Bs    result, detail
#   ERROR       0x04  Bs    code, detail
#   PING, PONG  0x05, 0x06  r token
#   ACK         0x07  (empty) or B reject (8.3)
#   PUBLISH     0x10  flags, message_id, topic (str16, or topic_id:u16 with
#                     flag bit 3), [total_length:u32 with bit 4], payload
#   SUBSCRIBE   0x11  BS    qos, filter
#   UNSUBSCRIBE 0x12  S     filter
#   REGISTER    0x13  HS    topic_id, topic (0x27 the other way)
#   BAUD        0x14  I     rate
#   PUBACK      0x20  HB    message_id, result
#   SUBACK      0x21  BS    granted, filter
#   MESSAGE     0x22  as PUBLISH without message_id (built in place: mqtt.py)
#   WIFI        0x23  Bbss  state, rssi, address, reason
#   BROKER      0x24  BBBs  state, return_code, session_present, reason
#   LOG         0x25  Br    level, text
#   STATS       0x26  III   free_heap, uptime, time
#
# Why layout strings and not a function per message, why const() numbers,
# why the state in one list indexed by const() numbers rather than in
# attributes, and why few methods and names that MicroPython already
# interns (send, put, write, get, open, close, poll, data, buf, end, or one
# of e f n o r s t v): on the Unix port bytecode lives in the 36 KB heap,
# and every function, attribute and new identifier (argument names
# included) costs there; past about 140 new identifiers the interpreter
# adds a 1.9 KB block to its table of them.

import asyncio
from asyncio.core import _io_queue
from binascii import crc32
from micropython import const
from struct import pack_into, unpack_from
from time import ticks_ms, ticks_diff

# The largest body we accept and send, announced in HELLO: 512, the least
# the protocol allows. It is set by the heap of the Unix twin: under
# `-X heapsize=36k` on a 64-bit build, where bytecode lives in the heap and
# every object is twice its ESP8266 size, 1024 would add 1.5 KB for the
# link's buffers and 1 KB for the two held publishes, beyond what the heap
# can give. 512 holds a 256-byte message with a 200-byte topic, keeps COBS
# and CRC overhead near 2 %, and one frame holds the line for at most 45 ms
# at 115200 baud (the ESP8266's UART write blocks the event loop that long).
# Larger messages travel in fragments (8.6). The two twins keep the same
# value so that the simulation is true.
MAX_BODY = const(512)
START_RATE = const(115200)
# The longest chunk we accept: a COBS code byte per 254 bytes plus one, plus
# the optional trailing 0x01 after a full last run.
_BOUND = const(MAX_BODY + MAX_BODY // 254 + 2)
# Unsequenced bodies are built at offset _D of tb and encoded in place from
# offset 1, which stays behind its source.
_D = const(MAX_BODY // 254 + 3)
# The send queue: frames wait here for the host's acknowledgement. A
# MESSAGE frame is claimed at its size, so small ones pipeline; a largest
# one (514 bytes with its length) fits once the queue is nearly empty,
# with the room kept for the frames held back. The heap allows no more.
_Q = const(768)
_SIDE = const(192)  # frames held back while a MESSAGE is being read
_IDLE_MS = const(20)  # a leading delimiter after this much silence (section 2)
_HEARTBEAT_MS = const(900)  # a frame at least once per second (8.5), with margin
_SILENT_MS = const(3000)  # no frame from the host for this long: nobody listens
# Topic ids (8.7): the host's (max_topics in our HELLO), each topic up to
# TLEN bytes. The firmware registers none with the host (MESSAGE topic ids
# are optional, and their table would cost heap).
HTOP = const(8)
TLEN = const(40)
_TT = const(HTOP)  # where the topics start in tt
# Indexes of Link.errors, the counters of section 2 and 3 plus our own.
_CRC = const(0)
_FRAMING = const(1)
_OVERSIZE = const(2)
_UNSUPPORTED = const(3)
_DROPPED = const(4)  # frames we did not send: too large for the host, no room, or no heap
# Indexes of Link.s, the state of the session (8.1-8.5), of the queue and of
# the receiver. Other modules use some by number (marked *): keep in step.
_GEN = const(0)  # sessions so far (0: no host HELLO yet, so no sequenced frame) *
_UNA = const(1)  # snd_una: seq of the oldest entry in the queue *
_SENT = const(2)  # entries sent at least once (snd_nxt = snd_una + this)
_N = const(3)  # entries in the queue *
_ACKD = const(4)  # the host's latest ack and credit *
_CR = const(5)  # *
_RCV = const(6)  # rcv_nxt *
_NEED = const(7)  # bit 0: an ACK is due, bit 1: a REJ is due
_RJS = const(8)  # rcv_nxt for which a REJ went out: once per value (8.2) *
_TS = const(9)  # seq timed for a round-trip sample, -1: none (Karn) *
_TTS = const(10)  # when it went out
_TT0 = const(11)  # retransmission timer: started when the oldest entry went out *
_RTO = const(12)  # ms (RFC 6298) *
_SRTT = const(13)  # ms, 0: no sample yet
_VAR = const(14)  # RTTVAR, ms
_RJA = const(15)  # ack of the last REJ acted upon, and when (once per RTT) *
_RJT = const(16)
_HEARD = const(17)  # ticks of the last good frame from the host *
_HEAD = const(18)  # the queue in q: [head, qe) *
_QE = const(19)  # *
_SE = const(20)  # end of the held-back frames at _Q - _SIDE *
_SN = const(21)  # and their number
_CL = const(22)  # a MESSAGE frame is being built at qe *
_PARK = const(23)  # a MESSAGE is being read: other frames are held back *
_OPEN = const(24)  # a fragment with MORE went out: the MESSAGE is not finished
_CG = const(25)  # the session the MESSAGE being read belongs to *
_PTOP = const(26)  # (unused: topic ids the host accepts from us)
_RATE = const(27)  # the UART's rate (8.8) *
_PMAX = const(28)  # the host's max_body (at most ours) *
_WIN = const(29)  # the credit we grant (8.3) *
_LAST = const(30)  # ticks of the last write *
_SCAN = const(31)  # no delimiter in rb before this *
_SKIP = const(32)  # discarding an oversize chunk up to its delimiter *
_BODY = const(33)  # where the body of the frame next() returned starts *
# 34: link errors reported so far (ctl.py)
# For boot.py, which makes the buffers: the sizes of rb, tb, q and s, where
# the held-back frames start, the size of tt.
SIZES = (_BOUND + 33, _D + MAX_BODY + 1, _Q, 35, _Q - _SIDE, _TT * (TLEN + 1))


def wait(s):
    # Wait until the stream s has input: what asyncio's StreamReader does
    # before each read, without importing its module (2 KB of heap).
    yield _io_queue.queue_read(s)


def pack(buf, n, f, args):
    # Write args into the memoryview buf from offset n as laid out by f;
    # -> end offset. Texts may be str or bytes; str8 texts are our own and
    # are clipped at 255 bytes. Raises ValueError or IndexError when buf is
    # too small.
    for e in range(len(f)):
        t = f[e]
        v = args[e]
        r = "BbHI".find(t)
        if r >= 0:
            # 1, 1, 2 or 4 bytes, big-endian (no tuples of formats: each
            # constant tuple is one more object in the heap)
            r = 1 << r - 1 if r else 1
            buf[n + r - 1] = 0  # IndexError when it does not fit
            for t in range(r):
                buf[n + t] = v >> 8 * (r - 1 - t) & 255
            n += r
            continue
        if isinstance(v, str):
            v = v.encode()
        r = len(v)
        if t == "s":
            r = min(r, 255)
            buf[n] = r
            n += 1
        elif t == "S":
            pack_into(">H", buf, n, r)
            n += 2
        buf[n : n + r] = memoryview(v)[:r]
        n += r
    return n


def encode(src, n, e, buf, v):
    # COBS-encode src[n:e] (src a bytearray: it needs find) into the
    # memoryview buf from offset v; -> end offset. buf may be src's own
    # memory if the body starts at least (e - n) // 254 + 2 bytes after v. A
    # body ending in a full 254-byte run gets no trailing 0x01 code.
    m = memoryview(src)
    while True:
        z = src.find(b"\x00", n, e)
        k = e if z < 0 else z
        f = False
        while k - n >= 254:
            buf[v] = 0xFF
            buf[v + 1 : v + 255] = m[n : n + 254]
            v += 255
            n += 254
            f = True
        if z < 0 and f and k == n:
            return v
        buf[v] = k - n + 1
        buf[v + 1 : v + 1 + k - n] = m[n:k]
        v += k - n + 1
        if z < 0:
            return v
        n = z + 1


def decode(buf, n, e):
    # Decode the COBS chunk buf[n:e] (a memoryview, no zero bytes) in place,
    # to buf[n:]; -> end of the body, or -1 if a code points past the chunk.
    v = n
    while n < e:
        k = buf[n]
        if not k or n + k > e:
            return -1
        buf[v : v + k - 1] = buf[n + 1 : n + k]
        v += k - 1
        n += k
        if k < 0xFF and n < e:
            buf[v] = 0
            v += 1
    return v


class Link:
    # One task reads: next() until it returns -1, then flush(), await
    # wait(stream) and read(). Any task sends: send() does not yield.
    # A timer calls poll() every 20 ms (retransmission, heartbeat).
    #
    # Made by config.start(), not by an __init__: code that runs once costs
    # no heap afterwards when it is in a module that is dropped, but a
    # method stays.
    #
    # Attributes: stream; baud(stream, rate) -> True when the UART switched
    # (8.8); rb, start, end (receiving: a chunk from start, bytes up to
    # end); errors; tb; q; tt; s, the state, indexed by the _ constants.

    def read(self):
        # Read what the UART has (after wait(self.stream)): the partial
        # chunk moves to the front first. The reader loop is the caller's
        # (app.py), to save a coroutine frame per frame.
        m = memoryview(self.rb)
        s = self.s
        n = self.start
        if n:
            m[0 : self.end - n] = m[n : self.end]
            self.end -= n
            s[_SCAN] -= n
            self.start = 0
        self.end += self.stream.readinto(m[self.end :]) or 0

    def next(self):
        # -> end of the payload of the next message to deliver; its body
        # (type, flags, [seq], [ack, credit], payload) starts at s[_BODY].
        # -1 when more input is needed. The receiver rules of section 2,
        # then those of 8.2 and 8.3: acknowledgements are taken, and ACK
        # frames and sequenced frames out of order are consumed here.
        rb = self.rb
        r = self.errors
        s = self.s
        while True:
            z = rb.find(b"\x00", s[_SCAN], self.end)
            if z < 0:
                if self.end - self.start > _BOUND:
                    # No delimiter within the longest legal chunk: drop the
                    # bytes and keep dropping until the next delimiter.
                    if not s[_SKIP]:
                        r[_OVERSIZE] += 1
                        s[_SKIP] = 1
                    self.start = s[_SCAN] = self.end = 0
                else:
                    s[_SCAN] = self.end
                return -1
            n = self.start
            self.start = s[_SCAN] = z + 1
            if s[_SKIP]:
                s[_SKIP] = 0
            elif z - n > _BOUND:
                r[_OVERSIZE] += 1
            elif z > n:  # an empty chunk is ignored silently
                m = memoryview(rb)
                e = decode(m, n, z)
                if e < 0:
                    r[_FRAMING] += 1
                elif e - n < 6 or crc32(m[n : e - 4]) != unpack_from(">I", rb, e - 4)[0]:
                    r[_CRC] += 1
                else:
                    e -= 4
                    t = rb[n]
                    f = rb[n + 1]
                    v = n + 2 + (f & 3)  # SEQ: a seq byte; ACK: ack and credit
                    # HELLO, ERROR, PING, PONG and ACK (bits 1, 4-7 of 0xF2)
                    # are never sequenced, everything else always; nothing
                    # but unsequenced frames without ACK before the session.
                    if f & 0xF8 or v > e or (f & 1) == (t < 8 and 0xF2 >> t & 1) or (f & 3 and not s[_GEN]):
                        r[_UNSUPPORTED] += 1
                        continue
                    s[_HEARD] = ticks_ms()
                    if f & 2:
                        self.done(rb[v - 2], rb[v - 1], t == 7 and v < e and rb[v])
                    if f & 1:
                        f = s[_RCV]
                        z = (rb[n + 2] - f) & 255
                        if z:
                            if z < 128 and s[_RJS] != f:
                                s[_RJS] = f  # a gap: REJ, once per rcv_nxt
                                s[_NEED] = 3
                            else:
                                s[_NEED] |= 1  # a duplicate (our ACK was lost), or a gap again
                            continue
                        s[_RCV] = (f + 1) & 255
                        s[_NEED] |= 1
                    if t != 7:
                        s[_BODY] = n
                        return e

    def flush(self, v):
        # After a batch of input: the ACK (or REJ) that is due, unless a
        # frame sent meanwhile carried it; v: an ACK frame in any case.
        # Acknowledging each batch at once keeps the host's credit open
        # (8.3: within 10 ms).
        s = self.s
        if s[_NEED] or v:
            b = self.tb
            b[_D] = 7
            b[_D + 1] = 2
            b[_D + 4] = 1  # REJ, if there
            self.write(b, _D, _D + 4 + (s[_NEED] >> 1))
            s[_NEED] = 0

    def poll(self):
        # Every 20 ms: when the oldest frame waited the RTO, all sent ones
        # again (go-back-N) and the RTO doubles, up to 3 s (8.4); after
        # 0.9 s without a frame, a heartbeat ACK (8.5).
        s = self.s
        if s[_GEN]:
            if s[_SENT] and ticks_diff(ticks_ms(), s[_TT0]) >= s[_RTO]:
                s[_RTO] = min(3000, 2 * s[_RTO])
                self.put(0)
            if ticks_diff(ticks_ms(), s[_LAST]) >= _HEARTBEAT_MS:
                self.flush(1)

    def done(self, n, v, r):
        # The host's ack n and credit v (8.3); r: REJ (8.4).
        s = self.s
        k = (n - s[_UNA]) & 255
        if k > s[_SENT]:
            return  # acknowledges what we never sent: an old ack
        e = ticks_ms()
        s[_ACKD] = n
        s[_CR] = v
        if k:
            if s[_TS] >= 0 and (s[_TS] - s[_UNA]) & 255 < k:
                # A round-trip sample from a frame sent once (Karn), RFC
                # 6298 with a clock granularity of 10 ms, RTO 50 ms to 3 s.
                v = max(1, ticks_diff(e, s[_TTS]))
                if s[_SRTT]:
                    s[_VAR] = (3 * s[_VAR] + abs(s[_SRTT] - v)) // 4
                    s[_SRTT] = (7 * s[_SRTT] + v) // 8
                else:
                    s[_SRTT] = v
                    s[_VAR] = v // 2
                s[_RTO] = min(3000, max(50, s[_SRTT] + max(10, 4 * s[_VAR])))
                s[_TS] = -1
            q = self.q
            v = s[_HEAD]
            for f in range(k):
                v += 2 + (q[v] << 8 | q[v + 1])
            s[_HEAD] = v
            s[_UNA] = n
            s[_N] -= k
            s[_SENT] -= k
            s[_TT0] = e  # the timer restarts for the new oldest frame
            if not s[_CL]:
                # Drop them from the front, unless a MESSAGE frame is being
                # built after them.
                q = memoryview(q)
                q[: s[_QE] - v] = q[v : s[_QE]]
                s[_QE] -= v
                s[_HEAD] = 0
        if r and s[_SENT] and (n != s[_RJA] or ticks_diff(e, s[_RJT]) >= (s[_SRTT] or s[_RTO])):
            s[_RJA] = n  # at most once per round trip for the same ack
            s[_RJT] = e
            self.put(0)
        else:
            self.put(s[_SENT])

    def put(self, v):
        # Send the queued entries from the v-th on (0: go back N, all again;
        # s[_SENT]: the new ones) while the host's credit lasts and fewer
        # than 128 are outstanding.
        s = self.s
        q = self.q
        t = ticks_ms()
        if v < s[_SENT]:
            s[_TS] = -1  # Karn: no sample from a frame sent again
            s[_TT0] = t
        n = s[_HEAD]
        for k in range(s[_N]):
            f = (s[_UNA] + k) & 255
            if k > 126 or (f - s[_ACKD]) & 255 >= s[_CR]:
                break
            e = n + 2 + (q[n] << 8 | q[n + 1])
            if k >= v:
                if k >= s[_SENT]:
                    s[_SENT] = k + 1
                    if s[_TS] < 0:
                        s[_TS] = f
                        s[_TTS] = t
                    if not k:
                        s[_TT0] = t
                q[n + 4] = f
                self.write(q, n + 2, e - 4)
            n = e

    def write(self, src, n, e):
        # Write the body src[n:e], which has 4 spare bytes after it for the
        # CRC, as a frame; if it has the ACK flag, its ack and credit are
        # filled in now.
        s = self.s
        f = src[n + 1]
        if f & 2:
            f = n + 2 + (f & 1)
            src[f] = s[_RCV]
            src[f + 1] = s[_WIN]
            s[_NEED] &= 2
        try:
            pack_into(">I", src, e, crc32(memoryview(src)[n:e]))
            m = memoryview(self.tb)
            e = encode(src, n, e + 4, m, 1)
            m[e] = m[0] = 0
            # A leading delimiter when the line was idle, so that garbage
            # the host may have received before is terminated (section 2).
            n = 1 if ticks_diff(ticks_ms(), s[_LAST]) < _IDLE_MS else 0
            while n <= e:
                n += self.stream.write(m[n : e + 1]) or 0
            s[_LAST] = ticks_ms()
        except MemoryError:
            # Maybe half a frame went out: the next one starts with a
            # delimiter so that it is not spoilt too.
            s[_LAST] = ticks_ms() - 1000
            self.errors[_DROPPED] += 1

    def send(self, t, f, *args):
        # Send a message of type t laid out by f as pack() does. HELLO,
        # ERROR, PING and PONG go out at once, without ACK (so that a PONG
        # is as large as its PING may be, and a peer of any version reads
        # HELLO and ERROR); everything else is sequenced: queued, and sent
        # when the host's credit allows. -> False if it was dropped: before
        # the session (8.1), larger than the host accepts, no room in the
        # queue, or no heap.
        s = self.s
        if t < 7 and 0x72 >> t & 1:  # 1, 4, 5, 6
            b = self.tb
            e = n = _D
            v = _D + MAX_BODY
        else:
            if not s[_GEN]:
                return False
            b = self.q
            e = s[_SE] if s[_PARK] else s[_QE]
            n = e + 2
            # Up to the end of q: with no MESSAGE being read, a small frame
            # (a PUBACK) may run into the room kept for held-back frames
            # rather than be lost; open() waits until the queue is back
            # below it.
            v = _Q
        try:
            b[n] = t
            b[n + 1] = 0
            v = pack(memoryview(b)[: v - 4], n + 2 + 3 * (n > e), f, args)
        except (ValueError, IndexError, MemoryError):
            v = -1
        if v < 0 or v + 4 - n > s[_PMAX]:
            self.errors[_DROPPED] += 1
            return False
        if n == e:
            self.write(b, n, v)
        else:
            pack_into(">H", b, e, v + 2 - e)  # the entry's length
            b[e + 3] = 3  # flags: SEQ | ACK
            if s[_PARK]:
                s[_SE] = v + 4
                s[_SN] += 1
            else:
                s[_QE] = v + 4
                s[_N] += 1
                self.put(s[_SENT])
        return True

    async def open(self, n, v):
        # Room at the end of the queue for a MESSAGE frame of n bytes (2 +
        # the body) from the broker, built there in place: -> its offset
        # (the body starts 2 bytes on, the payload 7), or -1 when no host
        # listens (no session, a new one since the MESSAGE began, or silent
        # for 3 s: the message is dropped rather than the broker connection
        # stalled). v: the MESSAGE's first frame. Until close(), other
        # frames are held back after _Q - _SIDE.
        s = self.s
        if v:
            s[_CG] = s[_GEN]
        while s[_GEN] and s[_CG] == s[_GEN] and ticks_diff(ticks_ms(), s[_HEARD]) < _SILENT_MS:
            if s[_QE] + n <= _Q - _SIDE:
                s[_CL] = s[_PARK] = 1
                return s[_QE]
            await asyncio.sleep_ms(5)
        return -1

    def close(self, e, v):
        # The MESSAGE frame built at the offset open() gave is complete, its
        # payload up to e; v: 4 (MORE) if another fragment follows. e < 0:
        # the message is cut short (the broker connection failed, no host);
        # if fragments of it went out, an empty last one ends it, so that
        # the host sees less than total_length (8.6). Also called when
        # nothing was opened: then only an unfinished MESSAGE is ended.
        s = self.s
        q = self.q
        n = s[_QE]
        f = 1  # the MESSAGE is done
        if s[_CG] == s[_GEN] and s[_GEN]:
            if e < 0 and s[_OPEN] and (s[_CL] or n + 11 <= _Q - _SIDE):
                e = n + 7
                v = 0
            if e >= 0:
                pack_into(">HBB", q, n, e + 2 - n, 0x22, v | 3)
                s[_QE] = e + 4
                s[_N] += 1
                s[_OPEN] = v
                f = not v
        s[_CL] = 0
        if f:
            # The frames held back follow it.
            n = s[_QE]
            f = s[_SE] - (_Q - _SIDE)
            memoryview(q)[n : n + f] = memoryview(q)[_Q - _SIDE : s[_SE]]
            s[_QE] = n + f
            s[_N] += s[_SN]
            s[_SN] = s[_PARK] = s[_OPEN] = 0
            s[_SE] = _Q - _SIDE
        n = s[_HEAD]
        if n:
            q = memoryview(q)
            q[: s[_QE] - n] = q[n : s[_QE]]
            s[_QE] -= n
            s[_HEAD] = 0
        self.put(s[_SENT])

    def clear(self, n):
        # A host HELLO starts a session (8.1): sequence numbers from 0, the
        # queue and the topic ids forgotten. n: the host's window (the
        # credit until its first ack).
        s = self.s
        f = s[_CL]
        e = s[_QE] if f else 0
        t = s[_GEN] + 1
        for i in range(_RATE):  # the receiver's and the line's state stay
            s[i] = 0
        s[_GEN] = t
        s[_CR] = n
        s[_RJS] = s[_RJA] = s[_TS] = -1
        s[_RTO] = 1000  # before the first round-trip sample (8.4)
        s[_TT0] = s[_HEARD] = ticks_ms()
        # A MESSAGE frame being read from the broker stays where it is
        # until its reader sees the new session (close); what is sent
        # meanwhile is held back behind it.
        s[_HEAD] = s[_QE] = e
        s[_CL] = s[_PARK] = f
        s[_SE] = _Q - _SIDE
        for i in range(_TT):
            self.tt[i] = 0

    def set(self, n, t):
        # REGISTER from the host: topic id n is topic t (checked; b""
        # forgets it). -> None, or why not (the id is then forgotten).
        if not 0 < n <= HTOP:
            return "topic id not in 1..%d" % HTOP
        n -= 1
        b = self.tt
        b[n] = 0
        if len(t) > TLEN:
            return "topic over %d bytes" % TLEN
        e = _TT + n * TLEN
        b[e : e + len(t)] = t
        b[n] = len(t)
        return None

    def get(self, n):
        # -> the topic the host registered as id n, or None.
        n -= 1
        if 0 <= n < HTOP and self.tt[n]:
            return memoryview(self.tt)[_TT + n * TLEN : _TT + n * TLEN + self.tt[n]]
        return None
