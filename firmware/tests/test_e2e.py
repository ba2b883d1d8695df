# End to end (CPython): the whole firmware under `micropython -X heapsize=36k`
# on the ESP side of a real pseudo-terminal pair, with the esp-sim
# environment contract (README.md); this script plays the host with its own
# frame codec (hostcodec.py) and checks against a real mosquitto (MQTT_PORT,
# started by run.sh) with mosquitto_sub and mosquitto_pub.

import atexit
import os
import select
import struct
import subprocess
import sys
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hostcodec as h  # noqa: E402
from t import check, eq, done  # noqa: E402

FW = os.path.dirname(HERE)
PORT = int(os.environ["MQTT_PORT"])
DIR = os.environ["TEST_DIR"]
MICROPYTHON = os.environ.get("MICROPYTHON", "micropython")
T = h.T
heap = []  # live heap samples from the firmware's debug log
children = []  # killed at exit, should a check raise halfway
atexit.register(lambda: [c.kill() for c in children if c.poll() is None])


class Board:
    # One firmware run behind a pty, as esp-sim would start it.
    def __init__(self, name, reset_cause=0, psk=""):
        self.state = os.path.join(DIR, name)
        self.gpio = os.path.join(self.state, "gpio")
        os.makedirs(os.path.join(self.gpio, "gpio27"), exist_ok=True)
        with open(os.path.join(self.gpio, "gpio27", "value"), "w") as f:
            f.write("0\n")
        # Both ends stay open here: a pty whose ESP side nobody holds reads
        # as EIO on the host side.
        self.m, self.s = os.openpty()
        s = self.s
        tty.setraw(s)  # before the firmware starts: no echo of early bytes
        env = dict(os.environ, BRIDGE_UART=os.ttyname(s), BRIDGE_GPIO_ROOT=self.gpio, BRIDGE_STATE_DIR=self.state,
                   BRIDGE_RESET_CAUSE=str(reset_cause), BRIDGE_HEAP_DEBUG="1", BRIDGE_SIM_PSK=psk)
        self.log = open(os.path.join(self.state, "firmware.log"), "a")
        self.p = subprocess.Popen([MICROPYTHON, "-X", "heapsize=" + os.environ.get("FW_HEAP", "36k"), os.path.join(FW, "main.py")],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0)
        children.append(self.p)
        self.rd = h.Reader()
        self.frames = []  # (type, fields) not yet consumed
        self.out = b""

    def send(self, name, payload=b""):
        os.write(self.m, h.frame(T[name], payload))

    def pump(self, t=0.05):
        r, _, _ = select.select([self.m, self.p.stdout], [], [], t)
        if self.m in r:
            for typ, p in self.rd.feed(os.read(self.m, 65536)):
                self.frames.append((typ, h.parse(typ, p)))
        if self.p.stdout in r:
            d = os.read(self.p.stdout.fileno(), 65536)
            self.log.write(d.decode(errors="replace"))
            self.out += d
            for line in d.split(b"\n"):
                if line.startswith(b"fw: heap "):
                    heap.append(int(line[9:]))

    def expect(self, name, cond=lambda f: True, t=5.0):
        # -> the first frame of that type that matches, consuming it and all
        # before it; None after t seconds.
        end = time.time() + t
        while True:
            for i, (typ, f) in enumerate(self.frames):
                if typ == T[name] and cond(f):
                    del self.frames[: i + 1]
                    return f
            if time.time() > end:
                return None
            self.pump()

    def wait(self, t):
        end = time.time() + t
        while time.time() < end:
            self.pump()

    def ready(self):
        with open(os.path.join(self.gpio, "gpio27", "value")) as f:
            return f.read().strip()

    def stop(self):
        self.p.terminate()
        self.p.wait()
        self.pump(0)
        os.close(self.m)
        os.close(self.s)
        self.log.close()


def config(client_id, ssid=b"mqttbridge-sim", **extra):
    items = [(1, ssid), (2, b"secret"), (3, b"127.0.0.1"), (4, struct.pack(">H", PORT)), (5, client_id),
             (8, struct.pack(">H", 5))]
    return h.config(items + list(extra.get("items", [])))


def sub(topic):
    p = subprocess.Popen(["mosquitto_sub", "-p", str(PORT), "-v", "-t", topic], stdout=subprocess.PIPE, bufsize=0)
    children.append(p)
    return p


def read_until(p, text, t=5.0):
    got = b""
    end = time.time() + t
    while time.time() < end and text not in got:
        r, _, _ = select.select([p.stdout], [], [], 0.1)
        if r:
            got += os.read(p.stdout.fileno(), 65536)
    return got


b = Board("e2e")
hello = b.expect("HELLO", t=15)  # the first start also builds the .mpy files
check("HELLO after boot", hello is not None, b.out[-2000:])
if hello is None:
    b.stop()
    done()
eq("HELLO fields", (hello["version"], hello["max_body"], hello["window"], hello["max_inflight"], hello["capabilities"],
                    hello["boot_count"], hello["reset_reason"], hello["software"]), (1, 512, 1, 2, 0, 1, 0, "mqttbridge-fw 0.1.0"))
check("HELLO free heap", 0 < hello["free_heap"] < 36 * 1024, hello)
eq("READY high", b.ready(), "1")
t0 = time.time()
again = b.expect("HELLO", t=3)
check("HELLO repeated about every second until configured", again is not None and 0.5 < time.time() - t0 < 2.5, time.time() - t0)
b.send("PUBLISH", h.publish("a/b", b"x", 1, 5))
eq("PUBLISH before CONFIG: PUBACK offline", b.expect("PUBACK"), dict(message_id=5, result=1))
b.send("HELLO", h.hello(max_body=1024))
check("host HELLO answered with HELLO", b.expect("HELLO") is not None)
b.send("HELLO", h.hello(version=2))
e = b.expect("ERROR")
check("HELLO of another version: ERROR version", e and e["code"] == 1 and "host speaks 2" in e["detail"], e)
b.send("CONFIG", config(b"e2e"))
check("CONFIG after a version mismatch is ignored", b.expect("CONFIG_ACK", t=1) is None)
b.send("HELLO", h.hello())
b.expect("HELLO")
b.send("CONFIG", h.config([(3, b"127.0.0.1"), (5, b"x")]))
e = b.expect("CONFIG_ACK")
check("CONFIG without wifi_ssid: CONFIG_ACK 1 with the key in the detail", e and e["code"] == 1 and "wifi_ssid" in e["detail"], e)
b.send("CONFIG", config(b"e2e", items=[(14, b"\x01")]))
e = b.expect("CONFIG_ACK")
check("CONFIG with tls: CONFIG_ACK 3", e and e["code"] == 3, e)
b.send("CONFIG", config(b"e2e"))
eq("CONFIG accepted", b.expect("CONFIG_ACK"), dict(code=0, detail=""))
b.send("SUBSCRIBE", h.subscribe("e2e/in/#", 1))
check("WIFI connecting, then up", b.expect("WIFI", lambda f: f["state"] == 1) and b.expect("WIFI", lambda f: f["state"] == 2 and f["address"] == "127.0.0.1"))
check("BROKER connecting, then connected", b.expect("BROKER", lambda f: f["state"] == 1) and b.expect("BROKER", lambda f: f["state"] == 2))
eq("SUBACK for the subscription replayed right after CONFIG_ACK", b.expect("SUBACK"), dict(granted=1, filter="e2e/in/#"))
check("no more HELLOs once configured", b.expect("HELLO", t=1.5) is None)

s = sub("e2e/out/#")
time.sleep(0.5)  # mosquitto_sub has no ready signal; the qos 1 check below proves it anyway
b.send("PUBLISH", h.publish("e2e/out/one", b"hello broker", 1, 7))
eq("PUBLISH qos 1: PUBACK delivered", b.expect("PUBACK"), dict(message_id=7, result=0))
check("mosquitto_sub got it", b"e2e/out/one hello broker" in read_until(s, b"hello broker"))
b.send("PUBLISH", h.publish("e2e/out/zero", b"qos zero", 0, 0))
check("PUBLISH qos 0 reaches the broker, no PUBACK", b"e2e/out/zero qos zero" in read_until(s, b"qos zero") and b.expect("PUBACK", t=0.3) is None)
b.send("PUBLISH", h.publish("e2e/out/#", b"x", 1, 8))
eq("PUBLISH to a wildcard topic: PUBACK rejected", b.expect("PUBACK"), dict(message_id=8, result=2))
subprocess.run(["mosquitto_pub", "-p", str(PORT), "-q", "1", "-t", "e2e/in/x", "-m", "hello host"], check=True)
m = b.expect("MESSAGE")
check("mosquitto_pub -> MESSAGE", m and m["topic"] == "e2e/in/x" and m["payload"] == b"hello host" and m["qos"] == 1, m)
b.send("PING", b"\x00token\x00")
eq("PING -> PONG with the same bytes", b.expect("PONG"), dict(token=b"\x00token\x00"))
b.send("STATS")
e = b.expect("ERROR")
check("a type sent the wrong way: ERROR unknown-type", e and e["code"] == 2, e)
b.send("PUBLISH", b"\x01\x00")
e = b.expect("ERROR")
check("a short PUBLISH: ERROR malformed", e and e["code"] == 3, e)
os.write(b.m, b"\xff\x13 noise \x00\x07\x07\x07" + h.frame(T["PING"], b"after noise"))
eq("garbage on the line, then a frame that still counts", b.expect("PONG"), dict(token=b"after noise"))
b.send("PING", b"t" * 506)  # a body of 512 bytes, the most
eq("the largest frame: PONG", b.expect("PONG"), dict(token=b"t" * 506))
b.send("PING", b"t" * 507)  # 513: still within the longest chunk, so decoded
e = b.expect("ERROR")
check("a body over max_body: ERROR too-large", e and e["code"] == 5, e)
b.send("SUBSCRIBE", h.subscribe("e2e/bad#", 0))
eq("an invalid filter: SUBACK 0x80", b.expect("SUBACK"), dict(granted=0x80, filter="e2e/bad#"))

# qos 1 throughput with the host keeping max_inflight publishes in flight
N = 200
sent = done_ids = 0
inflight = set()
results = []
t0 = time.time()
while done_ids < N and time.time() - t0 < 30:
    while sent < N and len(inflight) < hello["max_inflight"]:
        sent += 1
        inflight.add(sent + 1000)
        b.send("PUBLISH", h.publish("e2e/out/load", b"%04d" % sent + b"x" * 252, 1, sent + 1000))
    f = b.expect("PUBACK", t=5)
    if f is None:
        break
    if f["result"] == 0:
        inflight.discard(f["message_id"])
        done_ids += 1
    else:
        inflight.discard(f["message_id"])  # busy or offline: not expected here
        results.append(f["result"])
eq("%d qos 1 publishes of 256 bytes, %d in flight: all delivered" % (N, hello["max_inflight"]), (done_ids, results), (N, []))
got = read_until(s, b"%04d" % N, 10)
eq("and all seen by mosquitto_sub", got.count(b"e2e/out/load"), N)
rate = N / (time.time() - t0)
print("# qos 1 rate over the pty (no simulated baud rate): %.0f messages/s" % rate)

# WiFi drop and return: the broker connection follows, the set is resubscribed
open(os.path.join(b.state, "wifi-down"), "w").close()
check("wifi-down: WIFI down with a reason", b.expect("WIFI", lambda f: f["state"] == 0 and f["reason"]))
check("and BROKER disconnected", b.expect("BROKER", lambda f: f["state"] == 0))
b.send("PUBLISH", h.publish("e2e/out/x", b"x", 1, 9))
eq("PUBLISH while WiFi is down: offline", b.expect("PUBACK"), dict(message_id=9, result=1))
os.unlink(os.path.join(b.state, "wifi-down"))
check("WiFi back: WIFI up", b.expect("WIFI", lambda f: f["state"] == 2, t=10))
check("BROKER connected again", b.expect("BROKER", lambda f: f["state"] == 2, t=10))
check("resubscribed: SUBACK again", b.expect("SUBACK", lambda f: f["filter"] == "e2e/in/#"))
st = b.expect("STATS", t=11)
check("STATS every 10 s: heap and uptime", st and 0 < st["free_heap"] < 36 * 1024 and st["uptime"] >= 10 and st["time"] == 0, st)

# A new CONFIG with a wrong WiFi network
b.send("CONFIG", config(b"e2e", ssid=b"elsewhere"))
eq("reconfiguration accepted", b.expect("CONFIG_ACK"), dict(code=0, detail=""))
w = b.expect("WIFI", lambda f: f["state"] == 0)
check("unknown network: WIFI down with a reason", w and "elsewhere" in w["reason"], w)
b.stop()
s.terminate()

# A restart through RESET: the boot count goes on, the reason is reported
b = Board("e2e", reset_cause=6, psk="right")
hello = b.expect("HELLO", t=10)
check("after an external reset: boot_count 2, reset_reason 6", hello and (hello["boot_count"], hello["reset_reason"]) == (2, 6), hello)
b.send("CONFIG", config(b"e2e-2"))  # password "secret", the AP wants "right"
b.expect("CONFIG_ACK")
w = b.expect("WIFI", lambda f: f["state"] == 0)
check("wrong WiFi password: WIFI down, reason says so", w and "password" in w["reason"], w)
b.stop()

print("# firmware live heap (after gc.collect, sampled each second): peak %d bytes, last %d bytes of 36864"
      % (max(heap), heap[-1]) if heap else "# no heap samples")
check("live heap stays under the 36 KB heap", heap and max(heap) < 36 * 1024, heap)
done()
