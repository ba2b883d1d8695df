"""The link benchmark: goodput, share of the line rate, wire bytes per message and latency from a
local publish to a broker subscriber, through every real part (paho → mqttbridged → simulated
UART paced by esp-sim → firmware under MicroPython → mosquitto → paho).

Run through scripts/bench, which builds in release mode and sets the paths. Prints one table.
"""

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ["MQTTBRIDGE_BIN"])
sys.path.insert(0, str(ROOT / "tests"))
from harness import Process, accepts_connections, free_port, mosquitto_config, wait_until  # noqa: E402


class Bench:
    """One broker + esp-sim + mqttbridged at a given simulated baud rate.

    Both ends start at the protocol's start rate (115200, where the firmware always starts);
    a faster rate is reached as in use, with the daemon's --max-baud and the BAUD switch (§8.8)."""

    START_RATE = 115200

    def __init__(self, directory, baud, control=False):
        """`control` gives esp-sim a control socket at `self.control` (docs/esp-sim.md §5)."""
        self.dir = Path(directory)
        self.baud = baud
        self.control = self.dir / "esp-sim.sock" if control else None
        self.port = free_port()
        conf = self.dir / "mosquitto.conf"
        conf.write_text(mosquitto_config(self.port))
        self.procs = []
        self.socket = str(self.dir / "mqtt.sock")
        try:
            self.start(conf)
        except BaseException:
            self.stop()  # no stray esp-sim or mosquitto after a failed start
            raise

    def start(self, conf):
        self.spawn(["mosquitto", "-c", str(conf)], "mosquitto")
        wait_until(lambda: accepts_connections(self.port), 10, "mosquitto")
        link, gpio = self.dir / "link", self.dir / "gpio"
        start = min(self.baud, self.START_RATE)
        switch = ["--max-baud", str(self.baud)] if self.baud > start else []
        sim = self.spawn([str(BIN / "esp-sim"), "--link", str(link), "--gpio-root", str(gpio),
                          "--baud", str(start), "--state-dir", str(self.dir / "state"),
                          *(["--control", str(self.control)] if self.control else [])], "esp-sim", stdout=True)
        assert "ready" in sim.popen.stdout.readline().decode()
        self.spawn([str(BIN / "mqttbridged"), "--device", str(link), "--gpio-root", str(gpio), "--baud", str(start),
                    *switch, "--socket", self.socket, "--spool", str(self.dir / "spool"),
                    "--broker", f"127.0.0.1:{self.port}", "--client-id", "bench",
                    "--wifi-ssid", "mqttbridge-sim", "--ntp-server", "none", "--log-level", "warning"], "mqttbridged")
        wait_until(lambda: (s := self.status()) and s["broker"]["state"] == "connected"
                   and s["link"]["baudRate"] == self.baud, 60, f"the bridge at {self.baud} baud")

    def spawn(self, argv, name, stdout=False):
        p = Process(name, argv, self.dir, stdout=subprocess.PIPE if stdout else None)
        self.procs.append(p)
        return p

    def status(self):
        if not os.path.exists(self.socket):
            return None
        out = subprocess.run([str(BIN / "mqttbridge"), "status", "--json", "--socket", self.socket, "--timeout", "5"],
                             capture_output=True)
        return json.loads(out.stdout) if out.returncode == 0 else None

    def stop(self):
        for p in reversed(self.procs):
            p.stop()


class Subscriber:
    """A broker subscriber that records (arrival time, sequence number, send time) per message."""

    def __init__(self, port, topic):
        self.arrivals = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{time.monotonic_ns()}")
        self.client.on_message = self.on_message
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(topic, 1)
        done.wait(10)

    def on_message(self, client, userdata, message):
        sequence, sent = struct.unpack_from(">Iq", message.payload)
        self.arrivals.append((time.monotonic_ns(), sequence, sent))

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def publisher(path):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{time.monotonic_ns()}",
                         transport="unix")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(path)
    client.loop_start()
    return client


def payload(sequence, size):
    head = struct.pack(">Iq", sequence, time.monotonic_ns())
    return head + b"x" * (size - len(head))


def throughput(bench, size, qos, topic="bench/throughput/aaaaa"):
    """Publishes as fast as the bridge takes them; returns goodput figures."""
    line_bytes_per_second = bench.baud / 10
    count = max(40, min(3000, int(4 * line_bytes_per_second / (size + 20))))
    sub = Subscriber(bench.port, topic)
    pub = publisher(bench.socket)
    before = bench.status()["link"]["bytesOut"]
    start = time.monotonic_ns()
    infos = [pub.publish(topic, payload(i, size), qos=qos) for i in range(count)]
    wait_until(lambda: len(sub.arrivals) >= count * (0.99 if qos == 0 else 1), 120 + count * size * 10 / bench.baud,
               f"{count} messages of {size} B at qos {qos}")
    end = max(t for t, _, _ in sub.arrivals)
    after = bench.status()["link"]["bytesOut"]
    for info in infos:
        if qos == 1:
            info.wait_for_publish(10)
    pub.loop_stop()
    pub.disconnect()
    sub.close()
    received = len(sub.arrivals)
    seconds = (end - start) / 1e9
    goodput = received * size / seconds
    return {
        "messages": received, "sent": count, "goodput": goodput,
        "line": 100 * goodput / line_bytes_per_second, "wire": (after - before) / count,
    }


def latency(bench, size, qos, samples=200, warmup=5, topic="bench/latency/aaaaaa"):
    """One message at a time, each after the previous arrived: latency without queueing.

    The first `warmup` messages of each run are not counted: the first one on fresh connections
    waits for things a steady stream never does (a new subscriber's first TCP round trips, the
    topic's registration), and with few samples that one message alone would be the p99."""
    sub = Subscriber(bench.port, topic)
    pub = publisher(bench.socket)
    for i in range(warmup + samples):
        pub.publish(topic, payload(i, size), qos=qos)
        wait_until(lambda: len(sub.arrivals) > i, 10, "a latency sample")
    pub.loop_stop()
    pub.disconnect()
    sub.close()
    values = sorted((arrival - sent) / 1e6 for arrival, sequence, sent in sub.arrivals if sequence >= warmup)
    return statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.99))]


def wire_comparison():
    """Bytes on the wire for one 100-byte qos 1 publish on a 20-character topic."""
    topic, data = "t" * 20, 100
    # Ours (version 2 header: type, flags, seq, ack, credit), PUBLISH fields, CRC-32, COBS (+1 per
    # 254 bytes, +1), delimiter. The real frame is built by the daemon; this is its size.
    def on_wire(body):
        return body + 1 + body // 254 + 1

    body = 5 + 1 + 2 + 2 + len(topic) + data + 4
    ours = on_wire(body)
    # Once the topic has an id (§8.7), a u16 id replaces its str16.
    with_id = on_wire(body - len(topic))
    # ESP-AT (peers.md §2.1): AT+MQTTPUB=0,"<topic>","<data>",1,0\r\n, data with no characters to escape.
    esp_at = len('AT+MQTTPUB=0,"') + len(topic) + len('","') + data + len('",1,0\r\n')

    # esp-link SLIP (peers.md §1.2): END, cmd:u16 argc:u16 value:u32, then each argument as len:u16
    # + data padded so that 2+len is a multiple of 4 (topic, data, data_len:u16, qos:u8,
    # retain:u8), crc:u16, END; no bytes to escape.
    def arg(n):
        return (2 + n + 3) // 4 * 4
    esp_link = 1 + 8 + arg(len(topic)) + arg(data) + arg(2) + arg(1) + arg(1) + 2 + 1
    return ours, with_id, esp_at, esp_link


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bauds", default="115200,921600")
    parser.add_argument("--sizes", default="32,256,4096")
    args = parser.parse_args()
    rows = []
    for baud in map(int, args.bauds.split(",")):
        with tempfile.TemporaryDirectory(prefix=f"mqttbridge-bench-{baud}-") as directory:
            bench = Bench(directory, baud)
            try:
                for size in map(int, args.sizes.split(",")):
                    for qos in (0, 1):
                        wire_ms = (size + 40) * 10 / baud * 1000  # an estimate until measured
                        try:
                            t = throughput(bench, size, qos)
                            # One message's time on the line, from the bytes it took on the wire
                            # (10 bit-times a byte).
                            wire_ms = t["wire"] * 10 / baud * 1000
                            p50, p99 = latency(bench, size, qos)
                            rows.append((baud, size, qos, f"{t['goodput']:.0f}", f"{t['line']:.1f}",
                                         f"{t['wire']:.1f}", f"{p50:.1f}", f"{p99:.1f}", f"{wire_ms:.1f}",
                                         f"{t['messages']}/{t['sent']}"))
                        except TimeoutError as error:
                            rows.append((baud, size, qos, "-", "-", "-", "-", "-", f"{wire_ms:.1f}", str(error)))
                        print(*rows[-1], sep="\t", file=sys.stderr)
            finally:
                bench.stop()
    header = ("baud", "payload B", "qos", "goodput B/s", "% of line", "wire B/msg", "p50 ms", "p99 ms",
              "wire time ms", "received")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))
    ours, with_id, esp_at, esp_link = wire_comparison()
    print()
    print("one 100-byte qos 1 publish on a 20-character topic, bytes on the wire host → ESP:")
    print(f"  mqttbridge link v2: {ours} ({with_id} once the topic has an id)   ESP-AT AT+MQTTPUB: {esp_at}   "
          f"esp-link SLIP MQTT_PUBLISH: {esp_link}")


if __name__ == "__main__":
    main()
