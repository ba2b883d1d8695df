# The clock (MicroPython): bridge/ntp.py against an SNTP server and a DNS
# server played here on loopback UDP (NTP_PORT, DNS_PORT: run.sh), whose
# answers are built by hand from RFC 4330 and RFC 1035: the request's
# layout, the time from an answer with the round trip taken into account,
# NTP era 1, answers that must not set the clock, foreign answers ignored,
# no answer, the back-off, the name looked up by a DNS query of its own and
# its address kept, a name that does not exist. Every call of start() and
# poll() must return at once: the firmware's timer task makes them.

import os
import socket
import struct
from time import sleep_ms, ticks_ms, ticks_diff
from t import check, eq, done
import bridge.ntp as N

NTP_PORT = int(os.getenv("NTP_PORT") or 12300)
DNS_PORT = int(os.getenv("DNS_PORT") or 12353)
ERA = 2208988800  # seconds from 1900 to 1970
U = 1900000000  # a Unix time in 2030


class HW:
    def dns(self):
        return "127.0.0.1", DNS_PORT


class App:
    pass


app = App()
app.hw = HW()
app.cfg = [None] * 15 + [b"127.0.0.1", NTP_PORT]


def server(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    s.settimeout(2)
    return s


ntp = server(NTP_PORT)
dns = server(DNS_PORT)


def clock():
    # As boot.py makes it: no time, nothing tried, back-off 10 s.
    return [0, 0, 0, 0, 0, 0, 0, 10, None, 0, None]


slowest = [0]  # the longest start() or poll() call, ms


def timed(f, *args):
    t = ticks_ms()
    r = f(*args)
    slowest[0] = max(slowest[0], ticks_diff(ticks_ms(), t))
    return r


def receive(s):
    # -> (request, sender), or (None, None) when nothing came within 2 s.
    try:
        return s.recvfrom(600)
    except OSError:
        return None, None


def finish(c, t=3000):
    # Poll as app.py does until the attempt is over. -> True if it ended.
    end = ticks_ms()
    while ticks_diff(ticks_ms(), end) < t:
        if timed(N.poll, app, c):
            return True
        sleep_ms(20)
    return False


def answer(req, sec, frac=0, hold_ms=0, stratum=2, li=0, mode=4, origin=None):
    # An SNTP answer: transmit timestamp sec.frac, received hold_ms before.
    b = bytearray(48)
    b[0] = li << 6 | 4 << 3 | mode
    b[1] = stratum
    b[24:32] = req[40:48] if origin is None else origin  # originate: the request's transmit timestamp
    r = (sec * 1000 + frac * 1000 // (1 << 32) - hold_ms) * (1 << 32) // 1000
    struct.pack_into(">II", b, 32, r >> 32, r & 0xFFFFFFFF)
    struct.pack_into(">II", b, 40, sec, frac)
    return b


# --- the request
c = clock()
timed(N.start, app, c)
check("start(): a socket for the attempt", c[8] is not None)
req, peer = receive(ntp)
check("the request reaches the server", req is not None)
eq("it is 48 bytes", len(req), 48)
eq("LI 0, version 4, mode 3 (client)", req[0], 0x23)
check("all else zero but the transmit timestamp (a nonce)", req[1:40] == bytes(39) and req[40:48] != bytes(8), req)
check("poll() before the answer: still waiting", timed(N.poll, app, c) is False)

# --- the time from the answer, half the round trip added
ntp.sendto(answer(req, U + ERA, 1 << 31), peer)  # U.500
check("the answer ends the attempt", finish(c))
eq("outcome 1 (synced), no failure", (c[5], c[4]), (1, 0))
eq("the Unix seconds", c[0], U)
check("the milliseconds: .500 plus half a loopback round trip", 500 <= c[1] <= 530, c[1])
eq("the last sync", c[3], U)
check("the time is taken at the ticks the answer was read", abs(ticks_diff(ticks_ms(), c[2])) < 100, c[2])
check("the socket is closed", c[8] is None)
n = ticks_diff(c[6], ticks_ms())
check("the next sync in an hour", 3590000 < n <= 3600000, n)

c = clock()
N.start(app, c)
req, peer = receive(ntp)
sleep_ms(400)  # the answer comes back 400 ms after the request went
ntp.sendto(answer(req, U + ERA, 0), peer)
finish(c)
check("an answer 400 ms after the request: the server's time plus 200 ms", (c[0], 190 <= c[1] <= 240) == (U, True), c[:2])

c = clock()
N.start(app, c)
req, peer = receive(ntp)
ntp.sendto(answer(req, U + ERA, 0, hold_ms=1500), peer)
finish(c)
eq("a server that held the request longer than the round trip: its time, nothing added", c[:2], [U, 0])

c = clock()
N.start(app, c)
req, peer = receive(ntp)
ntp.sendto(answer(req, 0x1000), peer)  # 2036-02-07 06:28:16 + 4096 s, in era 1
finish(c)
eq("NTP era 1 (seconds below 2^31 are after 2036)", c[0], 0x1000 + (1 << 32) - ERA)

# --- answers that must not set the clock: a failure, and the back-off
c = clock()
backoff = []
for name, kw in (
    ("a kiss of death (stratum 0)", dict(stratum=0)),
    ("an unsynchronised server (LI 3)", dict(li=3)),
    ("not a server (mode 3)", dict(mode=3)),
    ("stratum 16", dict(stratum=16)),
):
    N.start(app, c)
    req, peer = receive(ntp)
    ntp.sendto(answer(req, U + ERA, **kw), peer)
    finish(c)
    eq(name + ": outcome 4 (bad answer), the clock not set", (c[5], c[0]), (4, 0))
    backoff.append(ticks_diff(c[6], ticks_ms()) // 1000)
eq("failures counted", c[4], 4)
eq("the next attempt after 10 s, doubling", [(n + 1) // 10 * 10 for n in backoff], [10, 20, 40, 80])
N.start(app, c)
req, peer = receive(ntp)
z = answer(req, U + ERA)
z[40:48] = bytes(8)
ntp.sendto(z, peer)
finish(c)
eq("no transmit timestamp: a bad answer", (c[5], c[0]), (4, 0))
c[7] = 400
N.start(app, c)
req, peer = receive(ntp)
ntp.sendto(answer(req, U + ERA, stratum=0), peer)
finish(c)
eq("the back-off stops at 10 min", c[7], 600)

c = clock()
N.start(app, c)
req, peer = receive(ntp)
ntp.sendto(answer(req, U + ERA, origin=b"\x00" * 7 + b"\x01"), peer)  # to someone else's request
ntp.sendto(answer(req, U + 7 + ERA), peer)
check("an answer to another request is ignored", timed(N.poll, app, c) is False and c[0] == 0, c)
finish(c)
eq("and the right one taken", (c[5], c[0]), (1, U + 7))

# --- no answer
c = clock()
c[0], c[3] = U, U - 10  # a time from an earlier sync
t = ticks_ms()
N.start(app, c)
req, peer = receive(ntp)
done_ = finish(c, 4000)
t = ticks_diff(ticks_ms(), t)
check("no answer: the attempt gives up after 2 s", done_ and 1900 <= t <= 2500, t)
eq("outcome 3 (no answer), a failure; the time and the last sync stay", (c[5], c[4], c[0], c[3]), (3, 1, U, U - 10))

# --- a server by name: a DNS query of our own
app.cfg[15] = b"ntp.example"
c = clock()
N.start(app, c)
q, qpeer = receive(dns)
check("a name: a DNS query to the DNS server", q is not None)
i = q[0] << 8 | q[1]
eq("recursion desired, one question", q[2:12], b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00")
eq("the name's labels, type A, class IN", q[12:], b"\x03ntp\x07example\x00\x00\x01\x00\x01")
check("no NTP request before the address is known", not N.poll(app, c) and c[10] is None)
# The answer: the question again; a CNAME whose name is a pointer to the
# question's, then the A record of the name it points to.
a = bytearray(q)
a[2:8] = b"\x81\x80\x00\x01\x00\x02"
a += b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x06\x03srv\xc0\x10"
a += b"\x03srv\xc0\x10\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01"
dns.sendto(a, qpeer)
t = ticks_ms()
while ticks_diff(ticks_ms(), t) < 1000 and c[10] is None:
    timed(N.poll, app, c)
    sleep_ms(20)
check("the answer gives the address", c[10] is not None)
req, peer = receive(ntp)
check("then the request goes to it", req is not None and req[0] == 0x23)
ntp.sendto(answer(req, U + ERA), peer)
finish(c)
eq("synced through a name", (c[5], c[0]), (1, U))
N.start(app, c)
req, peer = receive(ntp)
check("the next attempt asks no DNS: the address is kept", req is not None)
ntp.sendto(answer(req, U + 3600 + ERA), peer)
finish(c)
eq("synced again", (c[5], c[0]), (1, U + 3600))
dns.settimeout(0.3)
eq("no DNS query meanwhile", receive(dns)[0], None)
dns.settimeout(2)

c = clock()
N.start(app, c)
q, qpeer = receive(dns)
a = bytearray(q)
a[2:4] = b"\x81\x83"  # RCODE 3: no such name
dns.sendto(a, qpeer)
finish(c)
eq("a name that does not exist: outcome 2 (DNS failed)", (c[5], c[4], c[10]), (2, 1, None))
N.start(app, c)
q, qpeer = receive(dns)
a = bytearray(q)
a[2:8] = b"\x81\x80\x00\x01\x00\x01"
a += b"\xc0\x0c\x00\x01\x00\x01\x00\x00"  # an A record cut short
dns.sendto(a, qpeer)
finish(c)
eq("a DNS answer cut short: outcome 2", (c[5], c[4]), (2, 2))
N.start(app, c)
q, qpeer = receive(dns)
finish(c)
eq("a DNS server that does not answer: outcome 2", (c[5], c[4]), (2, 3))

check("start() and poll() never block (the slowest call took %d ms)" % slowest[0], slowest[0] < 50, slowest[0])
done()
