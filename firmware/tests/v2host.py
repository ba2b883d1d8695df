# The host side used by the end-to-end tests (CPython): Board runs the
# firmware behind a pseudo-terminal pair with the esp-sim environment
# contract (README.md); Host plays mqttbridged with a minimal host side of
# firmware-protocol.md section 8 (sessions, sequence numbers,
# acknowledgements, credit, REJ, a simple retransmission timer, MESSAGE
# fragments, topic ids) over hostcodec.py.

import atexit
import os
import select
import struct
import subprocess
import sys
import termios
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hostcodec as h  # noqa: E402

FW = os.path.dirname(HERE)
PORT = int(os.environ.get("MQTT_PORT", "1883"))
DIR = os.environ.get("TEST_DIR", "/tmp")
MICROPYTHON = os.environ.get("MICROPYTHON", "micropython")
T = h.T
# The firmware's heap: esp-sim's default, an ESP8266's free heap.
HEAP = os.environ.get("FW_HEAP", "36k")
heap = []  # live heap samples from the firmware's debug log
children = []  # killed at exit, should a check raise halfway
atexit.register(lambda: [c.kill() for c in children if c.poll() is None])
logs = []  # each board's firmware log


@atexit.register
def show_logs():
    # After a failed check, what each firmware printed (heap samples left
    # out): the only trace of what happened on its side when CI fails.
    import t

    if not t.failed:
        return
    for name in logs:
        with open(name, errors="replace") as f:
            lines = [x for x in f.read().splitlines() if not x.startswith("fw: heap ")]
        print("# %s, last %d lines:" % (name, min(len(lines), 40)))
        for x in lines[-40:]:
            print("#   " + x)


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
        if self.log.name not in logs:
            logs.append(self.log.name)
        self.p = subprocess.Popen([MICROPYTHON, "-X", "heapsize=" + HEAP, os.path.join(FW, "main.py")],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0)
        children.append(self.p)
        self.out = b""

    def output(self):
        d = os.read(self.p.stdout.fileno(), 65536)
        self.log.write(d.decode(errors="replace"))
        self.log.flush()
        self.out += d
        for line in d.split(b"\n"):
            if line.startswith(b"fw: heap "):
                heap.append(int(line[9:]))

    def ready(self):
        with open(os.path.join(self.gpio, "gpio27", "value")) as f:
            return f.read().strip()

    def speed(self):
        return termios.tcgetattr(self.s)[4:6]

    def stop(self):
        self.p.terminate()
        self.p.wait()
        r, _, _ = select.select([self.p.stdout], [], [], 0)
        if r:
            self.output()
        os.close(self.m)
        os.close(self.s)
        self.log.close()


class Host:
    # The host side of section 8, minimal. Sequence numbers are kept as
    # plain integers here (the wire carries them modulo 256).
    def __init__(self, board, window=8):
        self.b = board
        self.rd = h.Reader()
        self.window = window  # the credit we grant
        self.auto_ack = True  # acknowledge every batch of frames at once
        self.etopics = {}  # the firmware's topic ids (REGISTER 0x27)
        self.frames = []  # delivered, not yet consumed: (type, fields)
        self.log = []  # every frame received: (time, Frame)
        self.violations = []  # sequenced frames beyond the credit we granted
        self.delivered = {}  # seq -> count: each must be 1
        self.session = False
        self.last_tx = 0
        self.reset()

    def reset(self):
        self.snd_nxt = self.snd_una = self.rcv_nxt = 0
        self.unacked = {}  # seq -> (type, payload, flags)
        self.sent = {}  # the same, kept after the ack
        self.sent_at = 0.0  # when the oldest unacknowledged frame went out
        self.peer_ack = 0
        self.peer_credit = 1
        self.granted = self.window  # 8.3: before the first ack, the credit is our window
        self.ack_due = 0  # 1 ack, 2 REJ
        self.rej_for = None
        self.msg = None  # a MESSAGE being joined: [fields, bytearray]
        self.etopics = {}
        self.delivered = {}

    # --- sending
    def raw(self, data):
        os.write(self.b.m, data)
        self.last_tx = time.time()

    def unsequenced(self, name, payload=b"", ack=True):
        if ack and self.session:
            self.raw(h.frame(T[name], payload, ack=self.rcv_nxt, credit=self.window))
            self.granted = max(self.granted, self.rcv_nxt + self.window)
            self.ack_due = 0
        else:
            self.raw(h.frame(T[name], payload))

    def start(self, **kw):
        # A session (8.1): our HELLO, the firmware's answer.
        self.reset()
        self.session = True
        self.frames = [f for f in self.frames if f[0] != T["HELLO"]]
        self.raw(h.frame(T["HELLO"], h.hello(window=self.window, **kw)))
        e = self.expect("HELLO")
        if e:
            self.peer_credit = e["window"]
            self.esp = e
        return e

    def send(self, name, payload=b"", flags=0, skip=False, wait=5.0):
        # A sequenced frame, once the firmware's credit allows; skip: do not
        # write it (lost on the line). -> its seq.
        seq = self.snd_nxt
        end = time.time() + wait
        while seq - self.peer_ack >= self.peer_credit and time.time() < end:
            self.pump()
        self.snd_nxt += 1
        if not self.unacked:
            self.sent_at = time.time()
        self.unacked[seq] = self.sent[seq] = (T[name], payload, flags)
        self.write(seq, skip)
        return seq

    def write(self, seq, skip=False):
        typ, payload, flags = self.sent[seq]
        f = h.frame(typ, payload, flags, seq=seq, ack=self.rcv_nxt, credit=self.window)
        self.granted = max(self.granted, self.rcv_nxt + self.window)
        self.ack_due = 0
        if not skip:
            self.raw(f)

    def ack(self, reject=False):
        self.raw(h.frame(T["ACK"], b"\x01" if reject else b"", ack=self.rcv_nxt, credit=self.window))
        self.granted = max(self.granted, self.rcv_nxt + self.window)
        self.ack_due = 0

    def fragments(self, name, first, rest, size):
        # A message in fragments (8.6): the first frame's payload first
        # (fixed fields and the start of the data), then the rest in frames
        # of at most size payload bytes, all but the last with MORE.
        n = size - len(first)
        parts = [first + rest[:n]]
        rest = rest[n:]
        while rest:
            parts.append(rest[:size])
            rest = rest[size:]
        for i, p in enumerate(parts):
            self.send(name, p, h.MORE if i < len(parts) - 1 else 0)
        return len(parts)

    # --- receiving
    def pump(self, t=0.02):
        r, _, _ = select.select([self.b.m, self.b.p.stdout], [], [], t)
        if self.b.p.stdout in r:
            self.b.output()
        if self.b.m in r:
            for f in self.rd.feed_frames(os.read(self.b.m, 65536)):
                self.receive(f)
        if self.auto_ack and self.session and (self.ack_due or time.time() - self.last_tx > 0.5):
            self.ack(self.ack_due == 2)  # at once, or as a heartbeat (8.5)
        if self.unacked and self.auto_ack and time.time() - self.sent_at > 0.5:
            self.resend()  # a simple retransmission timer

    def resend(self):
        self.sent_at = time.time()
        for s in range(self.snd_una, self.snd_nxt):
            if s - self.peer_ack < self.peer_credit:
                self.write(s)

    def receive(self, f):
        now = time.time()
        self.log.append((now, f))
        if f.ack is not None and self.session:
            a = self.snd_una + ((f.ack - self.snd_una) & 255)
            if a <= self.snd_nxt:
                for s in range(self.snd_una, a):
                    self.unacked.pop(s, None)
                if a > self.snd_una:
                    self.sent_at = now
                self.snd_una = max(self.snd_una, a)
                self.peer_ack = a
                self.peer_credit = f.credit
                if f.type == T["ACK"] and f.payload[:1] == b"\x01":
                    self.resend()  # REJ: from ack on, at once
        if f.type == T["ACK"]:
            return
        if f.seq is not None:
            if not self.session:
                self.violations.append("sequenced frame before the session: %r" % f)
                return
            d = (f.seq - self.rcv_nxt) & 255
            if d:
                if d >= 128:
                    self.ack_due |= 1  # a duplicate
                elif self.rej_for != self.rcv_nxt:
                    self.rej_for = self.rcv_nxt
                    self.ack_due = 2
                return
            if self.rcv_nxt >= self.granted:
                self.violations.append("seq %d beyond the credit granted (up to %d)" % (self.rcv_nxt, self.granted - 1))
            self.delivered[self.rcv_nxt] = self.delivered.get(self.rcv_nxt, 0) + 1
            self.rcv_nxt += 1
            self.ack_due |= 1
        self.deliver(f)

    def deliver(self, f):
        if f.type == T["MESSAGE"]:
            if self.msg is not None:  # a continuation
                self.msg[1] += f.payload
                if f.flags & h.MORE:
                    return
                d, data = self.msg
                self.msg = None
                d["payload"] = bytes(data)
                d["fragments"] += 1
            else:
                d = h.parse(f.type, f.payload)
                d["fragments"] = 1
                if f.flags & h.MORE:
                    self.msg = [d, bytearray(d["payload"])]
                    return
            if d["topic_id"]:
                d["topic"] = self.etopics.get(d["topic"], "?%d" % d["topic"])
            self.frames.append((f.type, d))
            return
        d = h.parse(f.type, f.payload)
        if f.type == T["REGISTER_E"]:
            self.etopics[d["topic_id"]] = d["topic"]
        self.frames.append((f.type, d))

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


def config(client_id, ssid=b"mqttbridge-sim", **extra):
    items = [(1, ssid), (2, b"secret"), (3, b"127.0.0.1"), (4, struct.pack(">H", PORT)), (5, client_id),
             (8, struct.pack(">H", 5))]
    return h.config(items + list(extra.get("items", [])))


def sub(topic, *args):
    p = subprocess.Popen(["mosquitto_sub", "-p", str(PORT)] + list(args) + ["-t", topic], stdout=subprocess.PIPE, bufsize=0)
    children.append(p)
    return p


def read_until(p, text, t=5.0, host=None):
    got = b""
    end = time.time() + t
    while time.time() < end and text not in got:
        r, _, _ = select.select([p.stdout], [], [], 0.02)
        if r:
            d = os.read(p.stdout.fileno(), 65536)
            if not d:
                break
            got += d
        if host:
            host.pump(0)
    return got


def read_all(p, n, t, host):
    # n bytes from p's stdout, pumping the host meanwhile
    got = b""
    end = time.time() + t
    while time.time() < end and len(got) < n:
        r, _, _ = select.select([p.stdout], [], [], 0.01)
        if r:
            d = os.read(p.stdout.fileno(), 65536)
            if not d:
                break
            got += d
        host.pump(0)
    return got


