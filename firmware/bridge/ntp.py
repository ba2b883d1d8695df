# The clock: time from the NTP server of the configuration (CONFIG keys
# 15 and 16) by SNTP (RFC 4330): one 48-byte request over UDP, mode 3
# (client), version 4; the server's transmit timestamp, plus half the round
# trip, is the time when its answer is read. app.py keeps it in app.clock as
# the Unix time at a ticks_ms() reading and sends it with STATS (5.15).
#
# Nothing here blocks: start() sends, poll() (every 20 ms, app.py) reads
# what came and gives up after _WAIT_MS; the link and the broker go on
# meanwhile. A server given by name is looked up with a DNS query of our
# own, over UDP too, to the network's DNS server (hw.dns()):
# socket.getaddrinfo() would block the whole firmware until the resolver
# answers or gives up, which lwIP does only after several seconds of
# retries: longer than the host waits for a silent link. The address is kept until an attempt fails
# (pool.ntp.org names a different server each time).
#
# Loaded by app.py for the first attempt, when no other module is in, and
# kept from then on (about 1 KB under esp-sim): attempts come every hour,
# or every 10 s to 10 min while they fail, and under esp-sim every load of
# a module compiled to native code leaves some 200 bytes in the heap for
# good (measured; bytecode does not), which would add up.
# A success syncs again after an hour; a failure after 10 s, doubling to
# 10 min.
#
# app.clock (boot.py makes it), by index: the Unix seconds and milliseconds
# at the ticks_ms() reading of index 2 (0: no time yet); the Unix seconds
# of the last successful sync (0: none); failed attempts since boot; the
# outcome of the last attempt (STATS sync_result: 0 none yet, 1 synced,
# 2 DNS failed, 3 no answer, 4 bad answer, 5 network error); when the next
# attempt is due (ticks_ms); the back-off (s); the socket of the attempt
# under way (None: none); when its request went out (ticks_ms, also the
# request's nonce); the server's address once known (None: to look up).

import socket
from micropython import const
from time import ticks_ms, ticks_diff, ticks_add

_SEC = const(0)
_MS = const(1)
_TK = const(2)
_LAST = const(3)
_FAIL = const(4)
_WHY = const(5)
_NEXT = const(6)
_WAIT = const(7)
_SOCK = const(8)
_T1 = const(9)
_ADDR = const(10)
_WAIT_MS = const(2000)  # for each answer (DNS, NTP)
_SYNC_S = const(3600)  # after a success
_RETRY_S = const(10)  # after a failure, doubling to _RETRY_MAX_S
_RETRY_MAX_S = const(600)
_ERA = const(2208988800)  # seconds from 1900 (NTP's epoch) to 1970 (Unix's)
_NONCE = const(0x3FFFFFFF)  # the ticks that go into a request: a small int on the board
_EAGAIN = const(11)  # errno, the same on both twins: nothing to read yet


def start(app, c):
    # Begin an attempt for the configuration's server: the DNS query, or
    # the NTP request when its address is known (or written as one; poll()
    # calls again once the DNS answer gave it). The DNS query: id, flags
    # (recursion desired), one question; the name's labels; type A, class
    # IN. The SNTP request: LI 0, version 4, mode 3; its transmit timestamp
    # is a nonce (the ticks when sent) that the server returns as the
    # originate timestamp of its answer.
    v = app.cfg
    try:
        s = c[_SOCK]
        if s is None:
            s = c[_SOCK] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
        n = v[15].split(b".")
        if c[_ADDR] is None and len(n) == 4 and v[15].replace(b".", b"").isdigit():
            c[_ADDR] = socket.getaddrinfo(v[15].decode(), v[16])[0][-1]  # an address: no lookup
        t = c[_T1] = ticks_ms()
        if c[_ADDR] is None:
            b = bytearray(b"\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00")
            b[0] = t >> 8 & 255
            b[1] = t & 255
            for x in n:
                b.append(len(x))
                b.extend(x)
            b.extend(b"\x00\x00\x01\x00\x01")
            s.sendto(b, socket.getaddrinfo(*app.hw.dns())[0][-1])
        else:
            b = bytearray(48)
            b[0] = 0x23
            b[44:48] = (t & _NONCE).to_bytes(4, "big")
            s.sendto(b, c[_ADDR])
    except Exception:  # whatever it is, the timer task that called must go on
        end(c, 5)


def poll(app, c):
    # The attempt under way: read what came. -> True when it is over (app.py
    # then sends STATS at once), False while it waits.
    s = c[_SOCK]
    dns = c[_ADDR] is None
    try:
        b = s.recv(512 if dns else 48)
    except OSError as e:
        if e.args[0] != _EAGAIN:
            return end(c, 5)
        if ticks_diff(ticks_ms(), c[_T1]) < _WAIT_MS:
            return False
        return end(c, 2 if dns else 3)  # no answer
    t = ticks_ms()
    try:
        if dns:
            r = _answer(b, c[_T1] & 0xFFFF)
            if r is None:
                return False  # not the answer to our query
            if not r:
                return end(c, 2)  # the name has no address
            c[_ADDR] = socket.getaddrinfo("%d.%d.%d.%d" % tuple(r), app.cfg[16])[0][-1]
            start(app, c)  # the request, on the same socket
            return c[_SOCK] is None
        r = _time(b, c[_T1], t)
    except IndexError:
        return end(c, 2 if dns else 4)  # cut short
    except Exception:  # whatever it is, the timer task that called must go on
        return end(c, 5)
    if r is None:
        return False  # not the answer to our request
    if not r:
        return end(c, 4)
    c[_SEC] = c[_LAST] = r[0]
    c[_MS] = r[1]
    c[_TK] = t
    return end(c, 1)


def end(c, r):
    # The attempt is over with outcome r (as STATS sync_result): the next
    # one is due after an hour, or after the back-off. -> True.
    if c[_SOCK]:
        c[_SOCK].close()
    c[_SOCK] = None
    c[_WHY] = r
    if r == 1:
        n = _SYNC_S
        c[_WAIT] = _RETRY_S
    else:
        c[_FAIL] += 1
        c[_ADDR] = None  # look the name up again: the server may have moved
        n = c[_WAIT]
        c[_WAIT] = min(n * 2, _RETRY_MAX_S)
    c[_NEXT] = ticks_add(ticks_ms(), n * 1000)
    return True


def _answer(b, i):
    # The DNS answer b to the query with id i. -> the first IPv4 address in
    # it (4 bytes), b"" when it has none (no such name, a server failure),
    # None when it answers something else. Raises IndexError when cut short.
    if len(b) < 12 or (b[0] << 8 | b[1]) != i or not b[2] & 0x80:
        return None
    if b[3] & 15:
        return b""  # RCODE: no such name, server failure, refused
    n = 12
    while b[n]:  # the question's name, as we sent it
        n += b[n] + 1
    n += 5  # its end, type and class
    for k in range(b[6] << 8 | b[7]):  # the answers
        while b[n] and b[n] < 0xC0:  # a name: labels, then 0 or a pointer
            n += b[n] + 1
        n += 2 if b[n] else 1
        if b[n : n + 4] == b"\x00\x01\x00\x01" and b[n + 9] == 4 and not b[n + 8]:
            return b[n + 10 : n + 14]  # type A, class IN, 4 bytes of data
        n += 10 + (b[n + 8] << 8 | b[n + 9])
    return b""


def _time(b, t, e):
    # The SNTP answer b to our request sent at ticks t and read at ticks e.
    # -> (Unix seconds, milliseconds) at e; () when the server cannot be
    # used (RFC 4330 section 5: not a server, unsynchronised, a kiss of
    # death, no timestamp); None when it answers another request.
    if len(b) < 48 or int.from_bytes(b[24:32], "big") != t & _NONCE:
        return None
    if b[0] & 7 != 4 or b[0] >> 6 == 3 or not 0 < b[1] < 16:
        return ()
    n = int.from_bytes(b[40:44], "big")  # the transmit timestamp
    if not n:
        return ()
    # The round trip less the server's time between receive and transmit.
    # The milliseconds of the fractions of both, the round trip less the
    # server's time between receive and transmit.
    f = int.from_bytes(b[44:48], "big") * 1000 >> 32
    k = int.from_bytes(b[36:40], "big") * 1000 >> 32
    d = ticks_diff(e, t) - (n - int.from_bytes(b[32:36], "big")) * 1000 - f + k
    if n < 0x80000000:
        n += 0x100000000  # NTP era 1 (from 2036), RFC 4330 section 3
    d = f + max(d, 0) // 2
    return n - _ERA + d // 1000, d % 1000
