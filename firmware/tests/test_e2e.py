# End to end (CPython): the whole firmware under `micropython -X heapsize=36k`
# (FW_HEAP) on the ESP side of a real pseudo-terminal pair, with the esp-sim
# environment contract (README.md); this script plays the host with its own
# frame codec (hostcodec.py) and a minimal host side of section 8 (v2host.py),
# and checks against a real mosquitto (MQTT_PORT, started by run.sh) with
# mosquitto_sub and mosquitto_pub.

import os
import random
import subprocess
import termios
import time

from v2host import Board, Host, config, sub, read_until, read_all, heap, h, T, PORT, DIR, HEAP
from t import check, eq, done

b = Board("e2e")
H = Host(b)
hello = H.expect("HELLO", t=15)  # the first start also builds the .mpy files
check("HELLO after boot", hello is not None, b.out[-2000:])
if hello is None:
    b.stop()
    done()
eq("HELLO fields", (hello["version"], hello["max_body"], hello["max_inflight"], hello["capabilities"],
                    hello["boot_count"], hello["reset_reason"], hello["software"], hello.get("max_topics"),
                    hello.get("max_baud")), (2, 512, 8, 2, 1, 0, "mqttbridge-fw 0.2.0", 8, 921600))
check("HELLO window 1..127, honest: window frames of max_body fit the buffers", 1 <= hello["window"] <= 4, hello["window"])
check("HELLO free heap", 0 < hello["free_heap"] < int(HEAP[:-1]) * 1024, hello)
check("HELLO is unsequenced, flags 0", H.log and H.log[-1][1].flags == 0, H.log[-1:])
eq("READY high", b.ready(), "1")
t0 = time.time()
again = H.expect("HELLO", t=3)
check("HELLO repeated about every second until configured", again is not None and 0.5 < time.time() - t0 < 2.5, time.time() - t0)
H.raw(h.frame(T["PUBLISH"], h.publish("a/b", b"x", 1, 5), seq=0, ack=0, credit=8))
check("a sequenced frame before the first host HELLO is discarded", H.expect("PUBACK", t=0.7) is None)
H.raw(h.frame(T["HELLO"], h.hello_v1()))
e = H.expect("ERROR")
check("HELLO of version 1: ERROR version", e and e["code"] == 1 and "host speaks 1" in e["detail"], e)
check("and a HELLO", H.expect("HELLO") is not None)
esp = H.start()
check("host HELLO answered with HELLO: a session", esp is not None and esp["version"] == 2, esp)
H.send("PUBLISH", h.publish("a/b", b"x", 1, 5))
eq("PUBLISH before CONFIG: PUBACK offline", H.expect("PUBACK"), dict(message_id=5, result=1))
H.send("CONFIG", h.config([(3, b"127.0.0.1"), (5, b"x")]))
e = H.expect("CONFIG_ACK")
check("CONFIG without wifi_ssid: CONFIG_ACK 1 with the key in the detail", e and e["code"] == 1 and "wifi_ssid" in e["detail"], e)
H.send("CONFIG", config(b"e2e", items=[(14, b"\x01")]))
e = H.expect("CONFIG_ACK")
check("CONFIG with tls: CONFIG_ACK 3", e and e["code"] == 3, e)
H.send("BAUD", h.baud(921600))
e = H.expect("LOG", lambda f: "BAUD" in f["text"])
check("BAUD before a CONFIG is accepted: refused, the rate stays", e and b.speed() == [termios.B115200] * 2, (e, b.speed()))
H.send("CONFIG", config(b"e2e"))
eq("CONFIG accepted", H.expect("CONFIG_ACK"), dict(code=0, detail=""))
H.send("SUBSCRIBE", h.subscribe("e2e/in/#", 1))
check("WIFI connecting, then up", H.expect("WIFI", lambda f: f["state"] == 1) and H.expect("WIFI", lambda f: f["state"] == 2 and f["address"] == "127.0.0.1"))
check("BROKER connecting, then connected", H.expect("BROKER", lambda f: f["state"] == 1) and H.expect("BROKER", lambda f: f["state"] == 2))
eq("SUBACK for the subscription replayed right after CONFIG_ACK", H.expect("SUBACK"), dict(granted=1, filter="e2e/in/#"))
check("no more HELLOs once configured", H.expect("HELLO", t=1.5) is None)

s = sub("e2e/out/#", "-v")
time.sleep(0.5)  # mosquitto_sub has no ready signal; the qos 1 check below proves it anyway
H.send("PUBLISH", h.publish("e2e/out/one", b"hello broker", 1, 7))
eq("PUBLISH qos 1: PUBACK delivered", H.expect("PUBACK"), dict(message_id=7, result=0))
check("mosquitto_sub got it", b"e2e/out/one hello broker" in read_until(s, b"hello broker", host=H))
H.send("PUBLISH", h.publish("e2e/out/zero", b"qos zero", 0, 0))
check("PUBLISH qos 0 reaches the broker, no PUBACK", b"e2e/out/zero qos zero" in read_until(s, b"qos zero", host=H) and H.expect("PUBACK", t=0.3) is None)
H.send("PUBLISH", h.publish("e2e/out/#", b"x", 1, 8))
eq("PUBLISH to a wildcard topic: PUBACK rejected", H.expect("PUBACK"), dict(message_id=8, result=2))
subprocess.run(["mosquitto_pub", "-p", str(PORT), "-q", "1", "-t", "e2e/in/x", "-m", "hello host"], check=True)
m = H.expect("MESSAGE")
check("mosquitto_pub -> MESSAGE", m and m["topic"] == "e2e/in/x" and m["payload"] == b"hello host" and m["qos"] == 1, m)
H.unsequenced("PING", b"\x00token\x00")
eq("PING -> PONG with the same bytes", H.expect("PONG"), dict(token=b"\x00token\x00"))
H.send("STATS")
e = H.expect("ERROR")
check("a type sent the wrong way: ERROR unknown-type", e and e["code"] == 2, e)
H.send("PUBLISH", b"\x01\x00")
e = H.expect("ERROR")
check("a short PUBLISH: ERROR malformed", e and e["code"] == 3, e)
H.raw(b"\xff\x13 noise \x00\x07\x07\x07" + h.frame(T["PING"], b"after noise"))
eq("garbage on the line, then a frame that still counts", H.expect("PONG"), dict(token=b"after noise"))
H.unsequenced("PING", b"t" * 506, ack=False)  # a body of 512 bytes, the most
eq("the largest frame: PONG", H.expect("PONG"), dict(token=b"t" * 506))
H.unsequenced("PING", b"t" * 507, ack=False)  # 513: still within the longest chunk, so decoded
e = H.expect("ERROR")
check("a body over max_body: ERROR too-large", e and e["code"] == 5, e)
H.send("SUBSCRIBE", h.subscribe("e2e/bad#", 0))
eq("an invalid filter: SUBACK 0x80", H.expect("SUBACK"), dict(granted=0x80, filter="e2e/bad#"))

# --- Reliable delivery (8.2-8.4)
s0 = sub("e2e/seq/#", "-v")
time.sleep(0.4)
n0 = len(H.log)
H.send("PUBLISH", h.publish("e2e/seq/a", b"A"))
H.send("PUBLISH", h.publish("e2e/seq/b", b"B"), skip=True)  # lost on the line
H.send("PUBLISH", h.publish("e2e/seq/c", b"C"))
rej = None
end = time.time() + 3
while rej is None and time.time() < end:
    H.pump()
    rej = next((f for t_, f in H.log[n0:] if f.type == T["ACK"] and f.payload[:1] == b"\x01"), None)
check("a frame lost on the line: the firmware answers REJ from it", rej is not None and rej.ack == (H.snd_nxt - 2) & 255, rej)
got = read_until(s0, b"e2e/seq/c C", host=H)
eq("after the host sends again: each delivered once, in order", got.split(b"\n")[:3], [b"e2e/seq/a A", b"e2e/seq/b B", b"e2e/seq/c C"])
seq = H.send("PUBLISH", h.publish("e2e/seq/d", b"D"))
H.wait(0.2)
n0 = len(H.log)
H.write(seq)  # the same frame again: its ack was "lost"
H.wait(0.3)
acks = [f for t_, f in H.log[n0:] if f.ack is not None]
check("a duplicate frame: acknowledged", acks and acks[0].ack == (seq + 1) & 255, H.log[n0:])
got = read_until(s0, b"e2e/seq/d D", host=H) + read_until(s0, b"never", 0.5, host=H)
eq("and delivered once", got.count(b"e2e/seq/d D"), 1)
s0.terminate()

# The firmware's retransmission: acks withheld, the frame comes again.
H.auto_ack = False
n0 = len(H.log)
subprocess.run(["mosquitto_pub", "-p", str(PORT), "-q", "1", "-t", "e2e/in/rt", "-m", "resent"], check=True)
H.wait(2.0)
copies = [f for t_, f in H.log[n0:] if f.type == T["MESSAGE"]]
check("acks withheld: the firmware sends the MESSAGE again (go-back-N after the RTO)",
      len(copies) >= 2 and len(set(f.seq for f in copies)) == 1, copies)
H.auto_ack = True
H.ack()
m = H.expect("MESSAGE", lambda f: f["topic"] == "e2e/in/rt")
check("acks resume: delivered", m and m["payload"] == b"resent", m)
check("exactly once", H.expect("MESSAGE", lambda f: f["topic"] == "e2e/in/rt", t=1.0) is None)
H.wait(0.3)
n0 = len(H.log)
H.wait(3.2)
ts = [t_ for t_, f in H.log[n0:]]
gaps = [b - a for a, b in zip(ts, ts[1:])]
check("idle: a frame (heartbeat ACK) at least every second", len(ts) >= 3 and max(gaps) <= 1.05,
      ["%.3f" % g for g in gaps])
check("heartbeats are ACK frames", all(f.type == T["ACK"] for t_, f in H.log[n0:] if f.seq is None and f.type != T["LOG"]))

# --- Topic ids (8.7)
s1 = sub("e2e/out/reg/#", "-v")
time.sleep(0.4)
H.send("REGISTER", h.register(1, "e2e/out/reg/one"))
H.send("PUBLISH", h.publish(None, b"by id", 1, 21, topic_id=1))
eq("PUBLISH with a registered topic id: delivered", H.expect("PUBACK"), dict(message_id=21, result=0))
check("mosquitto_sub got it on the topic", b"e2e/out/reg/one by id" in read_until(s1, b"by id", host=H))
H.send("PUBLISH", h.publish(None, b"x", 1, 22, topic_id=2))
eq("an unknown topic id: PUBACK rejected", H.expect("PUBACK"), dict(message_id=22, result=2))
H.send("REGISTER", h.register(9, "e2e/x"))
e = H.expect("ERROR")
check("a topic id over max_topics: ERROR malformed", e and e["code"] == 3, e)
s1.terminate()
for i in range(2):
    subprocess.run(["mosquitto_pub", "-p", str(PORT), "-q", "1", "-t", "e2e/in/reg", "-m", "m%d" % i], check=True)
ms = [H.expect("MESSAGE", lambda f: f["topic"] == "e2e/in/reg") for i in range(2)]
check("MESSAGE carries its topic as text (the firmware registers no topic ids: they are optional)",
      all(ms) and [m["payload"] for m in ms] == [b"m0", b"m1"] and not any(f.type == T["REGISTER_E"] for t_, f in H.log), ms)

# --- Fragments (8.6)
big = bytes(random.Random(7).getrandbits(8) for i in range(20000)) + b"\x00end"
s2 = sub("e2e/out/big", "-N", "-C", "1")
time.sleep(0.4)
mb = H.esp["max_body"] - 5 - 4  # payload bytes per frame: header (type, flags, seq, ack, credit), CRC
n = H.fragments("PUBLISH", h.publish("e2e/out/big", b"", 1, 31, total=len(big)), big, mb)
eq("a %d-byte PUBLISH in %d fragments: PUBACK delivered" % (len(big), n), H.expect("PUBACK", t=15), dict(message_id=31, result=0))
got = read_all(s2, len(big), 10, H)
check("mosquitto_sub got it byte for byte", got == big, (len(got), got[:20], got[-20:]))
s2.terminate()
with open(os.path.join(DIR, "big.bin"), "wb") as f:
    f.write(big)
subprocess.run(["mosquitto_pub", "-p", str(PORT), "-q", "1", "-t", "e2e/in/big", "-f", os.path.join(DIR, "big.bin")], check=True)
m = H.expect("MESSAGE", lambda f: f["topic"] == "e2e/in/big", t=15)
check("a %d-byte broker message: MESSAGE fragments, joined byte for byte" % len(big),
      m and m["payload"] == big and m["total"] == len(big) and m["fragments"] > 1,
      m and (len(m["payload"]), m["total"], m["fragments"]))
m = [f for t_, f in H.log if f.type == T["MESSAGE"] and f.size > H.esp["max_body"]]
check("every MESSAGE frame within max_body", not m, m)
H.send("PUBLISH", h.publish("e2e/out/bad", b"xy", 1, 32, total=5))
eq("LENGTH that does not match an unfragmented PUBLISH: rejected", H.expect("PUBACK"), dict(message_id=32, result=2))

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
        H.send("PUBLISH", h.publish("e2e/out/load", b"%04d" % sent + b"x" * 252, 1, sent + 1000))
    f = H.expect("PUBACK", t=5)
    if f is None:
        break
    inflight.discard(f["message_id"])
    if f["result"] == 0:
        done_ids += 1
    else:
        results.append(f["result"])  # busy or offline: not expected here
eq("%d qos 1 publishes of 256 bytes, %d in flight: all delivered" % (N, hello["max_inflight"]), (done_ids, results), (N, []))
got = read_until(s, b"%04d" % N, 10, host=H)
eq("and all seen by mosquitto_sub", got.count(b"e2e/out/load"), N)
rate = N / (time.time() - t0)
print("# qos 1 rate over the pty (no simulated baud rate): %.0f messages/s" % rate)

# --- BAUD (8.8)


def speed_becomes(want, t=3.0):
    # The pty's speed once it is `want`, or after t s: the firmware switches when it has handled
    # the frames before BAUD, which takes longer on a busy machine.
    t0 = time.time()
    while b.speed() != want and time.time() - t0 < t:
        H.wait(0.02)
    return b.speed()


H.send("BAUD", h.baud(921600))
eq("BAUD 921600: the pty's speed changes", speed_becomes([termios.B921600] * 2), [termios.B921600] * 2)
H.unsequenced("PING", b"fast")
eq("PING at the new rate: PONG", H.expect("PONG"), dict(token=b"fast"))
H.wait(2.5)  # the host keeps talking (heartbeats): the rate stays
eq("the rate stays while frames arrive", b.speed(), [termios.B921600] * 2)
H.send("BAUD", h.baud(460800))
eq("BAUD 460800", speed_becomes([termios.B460800] * 2), [termios.B460800] * 2)
H.auto_ack = False  # the host "never answers at the new rate"
t0 = time.time()
while b.speed() != [termios.B115200] * 2 and time.time() - t0 < 4:
    H.pump()
dt = time.time() - t0
H.auto_ack = True
# Not before 2 s; the upper bound leaves room for a busy machine (the supervision tick and load).
check("no frame for 2 s at the new rate: back to 115200 by itself", b.speed() == [termios.B115200] * 2 and 1.8 < dt < 4.0, (b.speed(), dt))
check("and says so", H.expect("LOG", lambda f: "back to 115200" in f["text"]) is not None)
H.send("BAUD", h.baud(12345))
check("a rate the UART does not have: refused", H.expect("LOG", lambda f: "BAUD 12345 refused" in f["text"]) is not None)

# WiFi drop and return: the broker connection follows, the set is resubscribed
open(os.path.join(b.state, "wifi-down"), "w").close()
check("wifi-down: WIFI down with a reason", H.expect("WIFI", lambda f: f["state"] == 0 and f["reason"]))
check("and BROKER disconnected", H.expect("BROKER", lambda f: f["state"] == 0))
H.send("PUBLISH", h.publish("e2e/out/x", b"x", 1, 9))
eq("PUBLISH while WiFi is down: offline", H.expect("PUBACK"), dict(message_id=9, result=1))
os.unlink(os.path.join(b.state, "wifi-down"))
check("WiFi back: WIFI up", H.expect("WIFI", lambda f: f["state"] == 2, t=10))
check("BROKER connected again", H.expect("BROKER", lambda f: f["state"] == 2, t=10))
check("resubscribed: SUBACK again", H.expect("SUBACK", lambda f: f["filter"] == "e2e/in/#"))
st = H.expect("STATS", t=11)
check("STATS every 10 s: heap and uptime", st and 0 < st["free_heap"] < int(HEAP[:-1]) * 1024 and st["uptime"] >= 10, st)
eq("STATS without an NTP server: no time, nothing tried", st and (st["time"], st["last_sync"], st["sync_failures"], st["sync_result"]), (0, 0, 0, 0))

# A new session: sequence numbers from 0 again
esp = H.start()
check("a new host HELLO: a new session", esp is not None)
H.send("PUBLISH", h.publish("e2e/out/again", b"x", 1, 41))
eq("sequenced frames from 0 again work", H.expect("PUBACK"), dict(message_id=41, result=0))

# A new CONFIG with a wrong WiFi network, while connected: the broker
# connection closes first, and whatever the firmware sends meanwhile must
# not acknowledge the CONFIG frame before its CONFIG_ACK (had its handling
# then found no heap, the host would never send it again).
t0 = time.time()
seq = H.send("CONFIG", config(b"e2e", ssid=b"elsewhere"))
eq("reconfiguration accepted", H.expect("CONFIG_ACK"), dict(code=0, detail=""))
before = []
for t_, f in H.log:
    if t_ >= t0:
        if f.type == T["CONFIG_ACK"]:
            break
        before.append(f)
check("the broker connection closed before CONFIG_ACK", any(f.type == T["BROKER"] for f in before), before)
check("nothing before CONFIG_ACK acknowledged the CONFIG frame",
      all(f.ack != (seq + 1) & 255 for f in before if f.ack is not None), before)
w = H.expect("WIFI", lambda f: f["state"] == 0)
check("unknown network: WIFI down with a reason", w and "elsewhere" in w["reason"], w)
check("the firmware never sent beyond the credit granted", not H.violations, H.violations[:5])
check("every sequenced frame delivered once", all(v == 1 for v in H.delivered.values()), H.delivered)
b.stop()
s.terminate()

# A restart through RESET: the boot count goes on, the reason is reported
b = Board("e2e", reset_cause=6, psk="right")
H = Host(b)
hello = H.expect("HELLO", t=10)
check("after an external reset: boot_count 2, reset_reason 6", hello and (hello["boot_count"], hello["reset_reason"]) == (2, 6), hello)
H.start()
H.send("CONFIG", config(b"e2e-2"))  # password "secret", the AP wants "right"
H.expect("CONFIG_ACK")
w = H.expect("WIFI", lambda f: f["state"] == 0)
check("wrong WiFi password: WIFI down, reason says so", w and "password" in w["reason"], w)
b.stop()

print("# firmware live heap (after gc.collect, sampled each second): peak %d bytes, last %d bytes, heap %s"
      % (max(heap), heap[-1], HEAP) if heap else "# no heap samples")
check("live heap stays under the heap given", heap and max(heap) < int(HEAP[:-1]) * 1024, heap)
done()
