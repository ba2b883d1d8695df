# End to end (CPython): the firmware's clock, the whole firmware under
# `micropython -X heapsize=36k` (FW_HEAP) behind a pty as in test_e2e.py,
# with an SNTP server and a DNS server played here on loopback UDP
# (NTP_PORT, DNS_PORT: run.sh). The SNTP server's clock runs OFFSET ahead
# of this host's, so the time in STATS can only come from it. HELLO
# announces NTP; a server that does not answer is a failure, retried after
# 10 s, while the link goes on answering at once; STATS carries the time
# right after a sync; no attempt while WiFi is down; a server by name, and
# a name that does not exist. Two CONFIGs per board at most: each costs
# the firmware some heap for good (README.md, "Memory").

import os
import socket
import struct
import threading
import time

from v2host import Board, Host, config, heap, h, HEAP
from t import check, eq, done

NTP_PORT = int(os.environ.get("NTP_PORT", "12300"))
DNS_PORT = int(os.environ.get("DNS_PORT", "12353"))
ERA = 2208988800  # seconds from 1900 to 1970
OFFSET = 1000.25  # the SNTP server's clock, ahead of this host's


class Server(threading.Thread):
    # One UDP server; answer(request) -> the answer, or None for silence.
    def __init__(self, port, answer):
        super().__init__(daemon=True)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", port))
        self.answer = answer
        self.requests = []  # (host time, request)
        self.start()

    def run(self):
        while True:
            data, peer = self.s.recvfrom(600)
            self.requests.append((time.time(), data))
            a = self.answer(data)
            if a:
                self.s.sendto(a, peer)


silent = [False]


def sntp(req):
    if silent[0]:
        return None
    now = time.time() + OFFSET
    sec, frac = int(now) + ERA, int(now % 1 * (1 << 32))
    # LI 0, version 4, mode 4 (server), stratum 2; originate = the request's
    # transmit timestamp; receive = transmit = now.
    return bytes([0x24, 2]) + bytes(22) + req[40:48] + struct.pack(">IIII", sec, frac, sec, frac)


def dns(q):
    # ntp.test -> 127.0.0.1: the question, then one A record pointing to it.
    if b"\x04test\x00" not in q:
        return q[:2] + b"\x81\x83" + q[4:]  # no such name
    return (q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:]
            + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01")


def esp_minus_host(st):
    # The ESP's time in STATS st less this host's when the frame arrived.
    t = [t_ for t_, f in H.log if f.type == h.T["STATS"] and h.parse(f.type, f.payload) == st]
    return st["time"] + st["time_ms"] / 1000 - t[-1] if st and t else None


ntp_server = Server(NTP_PORT, sntp)
dns_server = Server(DNS_PORT, dns)
os.environ["BRIDGE_DNS"] = "127.0.0.1:%d" % DNS_PORT  # the simulated board's DHCP lease
NTP = [(15, b"127.0.0.1"), (16, struct.pack(">H", NTP_PORT))]

# A server that does not answer at first: a failure after 2 s, retried 10 s
# later, while the link answers at once; then it answers.
silent[0] = True
b = Board("clock")
H = Host(b)
hello = H.expect("HELLO", t=15)
check("HELLO announces NTP (capability bit 1), not TLS", hello and hello["capabilities"] == 2, hello)
H.start()
H.send("CONFIG", config(b"clock", items=NTP))
eq("CONFIG with ntp_server and ntp_port accepted", H.expect("CONFIG_ACK"), dict(code=0, detail=""))
end = time.time() + 10
while not ntp_server.requests and time.time() < end:
    H.pump()
check("configured, WiFi up: a request", ntp_server.requests)
req = ntp_server.requests[0][1] if ntp_server.requests else b""
check("the request: 48 bytes, version 4, mode 3", len(req) == 48 and req[0] == 0x23, req)
lag = []
for i in range(25):  # 2.5 s: the whole attempt
    t0 = time.time()
    H.unsequenced("PING", b"t%d" % i)
    while time.time() - t0 < 2 and not any(f.get("token") == b"t%d" % i for t_, f in H.frames):
        H.pump(0.001)
    lag.append(time.time() - t0)
    H.wait(0.1)
check("PING answered at once while the server is silent (slowest %.3f s)" % max(lag), max(lag) < 0.2, lag)
st = H.expect("STATS", lambda f: f["sync_result"], t=5)
eq("no answer: outcome 3, one failure, no time", st and (st["sync_result"], st["sync_failures"], st["time"]), (3, 1, 0))
silent[0] = False
st = H.expect("STATS", lambda f: f["sync_result"] == 1, t=14)
r = [x for x, _ in ntp_server.requests]
check("retried 10 s after the failure (2 s waiting + 10 s)", len(r) == 2 and 11.5 < r[1] - r[0] < 13, r)
check("STATS right after the sync, outcome 1 (synced), the failure counted", st and st["sync_failures"] == 1, st)
check("it came at once, not at the next 10 s tick", st and r and time.time() - r[-1] < 1.5, r)
d = esp_minus_host(st)
check("the time is the server's (host + %.2f s) within 0.1 s" % OFFSET, d is not None and abs(d - OFFSET) < 0.1, d)
check("time_ms below 1000", st and st["time_ms"] < 1000, st)
check("last_sync is the time of that sync", st and 0 <= st["time"] - st["last_sync"] <= 1, st)
esp = st["time"] if st else 0
st = H.expect("STATS", t=11)
d = esp_minus_host(st)
check("the next STATS: the clock runs on", st and st["time"] > esp and d is not None and abs(d - OFFSET) < 0.1, (st, d))

# No attempt while WiFi is down; one as soon as it is back.
open(os.path.join(b.state, "wifi-down"), "w").close()
H.expect("WIFI", lambda f: f["state"] == 0)
n0 = len(ntp_server.requests)
H.send("CONFIG", config(b"clock", items=NTP))  # a new configuration: an attempt once WiFi is up
eq("CONFIG accepted", H.expect("CONFIG_ACK"), dict(code=0, detail=""))
H.wait(3)
eq("WiFi down: no NTP request", len(ntp_server.requests), n0)
os.unlink(os.path.join(b.state, "wifi-down"))
check("WiFi back: synced", H.expect("STATS", lambda f: f["sync_result"] == 1, t=10) is not None)
check("every sequenced frame delivered once", all(v == 1 for v in H.delivered.values()), H.delivered)
b.stop()

# A server by name: the firmware's own DNS query, then the request; a name
# that does not exist fails, and the time stays.
b = Board("clock-dns")
H = Host(b)
H.expect("HELLO", t=15)
H.start()
H.send("CONFIG", config(b"clock", items=[(15, b"ntp.test"), (16, struct.pack(">H", NTP_PORT))]))
eq("CONFIG with a name accepted", H.expect("CONFIG_ACK"), dict(code=0, detail=""))
st = H.expect("STATS", lambda f: f["sync_result"], t=10)
check("a name: looked up, then synced", st and st["sync_result"] == 1 and dns_server.requests, (st, dns_server.requests))
H.send("CONFIG", config(b"clock", items=[(15, b"nowhere.invalid"), (16, struct.pack(">H", NTP_PORT))]))
eq("CONFIG with another name accepted", H.expect("CONFIG_ACK"), dict(code=0, detail=""))
st = H.expect("STATS", lambda f: f["sync_result"], t=10)
check("a name that does not exist: outcome 2 (DNS failed)", st and st["sync_result"] == 2, st)
d = esp_minus_host(st)
check("the time stays", d is not None and abs(d - OFFSET) < 0.1, (st, d))
b.stop()

print("# firmware live heap with the clock (after gc.collect, sampled each second): peak %d bytes, heap %s"
      % (max(heap), HEAP) if heap else "# no heap samples")
check("live heap stays under the heap given", heap and max(heap) < int(HEAP[:-1]) * 1024, heap)
done()
