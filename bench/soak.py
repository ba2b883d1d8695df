"""The soak: a long stream of small qos 1 messages through the bridge at 921600 baud (release
build, every real part), with the daemon's resident memory (VmRSS) sampled as it goes. It must
stay flat: after the warm-up, RSS may not grow more than --rss-growth MiB above what it was at the
end of the warm-up.

Local publishers (faults/publisher.py processes) publish --size-byte qos 1 messages as fast as the
bridge carries them: each may run at most --backlog messages ahead of what reached the broker, so
that the spool stays short and the figures are the steady state's, not a growing queue's. A
broker client publishes --down-rate qos 1 messages a second to a local subscriber, so that the
inbound path runs too.

Run through `scripts/soak`, which builds in release mode and sets the paths. Prints a table of
(messages so far, RSS), the start, end and largest RSS, and exits 1 when RSS grew past the bound
or messages went missing.
"""

import argparse
import math
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from bench import ROOT, Bench
from harness import wait_until


def rss_kib(pid):
    """The process's resident set, in KiB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


class Counter:
    """A paho client that counts the messages it receives, per publisher for the soak topics."""

    def __init__(self, topic, **connect):
        transport = "unix" if "path" in connect else "tcp"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"soak-{topic.split('/')[1]}",
                                  transport=transport)
        self.per_publisher = {}
        self.count = 0
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_message = self.on_message
        if "path" in connect:
            self.client.connect(connect["path"])
        else:
            self.client.connect("127.0.0.1", connect["port"])
        self.client.loop_start()
        self.client.subscribe(topic, 1)
        if not subscribed.wait(10):
            raise RuntimeError(f"no SUBACK for {topic}")

    def on_message(self, client, userdata, message):
        self.count += 1
        publisher = message.topic.rsplit("/", 1)[1]
        self.per_publisher[publisher] = self.per_publisher.get(publisher, 0) + 1

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class Publisher:
    """A faults/publisher.py process publishing soak/ID as fast as its budget and window allow."""

    def __init__(self, ident, socket, size, window):
        self.ident = ident
        self.acknowledged = 0
        self.budget = 0
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "faults" / "publisher.py"), "--socket", socket, "--id", ident,
             "--topic", "soak", "--rate", "0", "--window", str(window), "--size", str(size), "--summary"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.process.stdout:
            words = line.split()
            if words[0] == b"n":
                self.acknowledged = int(words[2])

    def steer(self, line):
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def allow(self, budget):
        if budget > self.budget:
            self.budget = budget
            self.steer(f"b {budget}")

    def finish(self, timeout):
        self.steer("e")
        self.process.wait(timeout)
        self.reader.join(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000, help="local → broker messages (default 1,000,000)")
    parser.add_argument("--size", type=int, default=48, help="payload bytes (default 48)")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--window", type=int, default=100, help="unacknowledged messages per publisher")
    parser.add_argument("--backlog", type=int, default=2000,
                        help="messages a publisher may be ahead of the broker subscriber (default 2000)")
    parser.add_argument("--down-rate", type=float, default=20, help="broker → local messages a second (default 20)")
    parser.add_argument("--interval", type=float, default=5, help="seconds between RSS samples (default 5)")
    parser.add_argument("--warm-up", type=float, default=0.1, help="share of the messages that is warm-up (default 0.1)")
    parser.add_argument("--rss-growth", type=float, default=8,
                        help="MiB RSS may grow after the warm-up (default 8)")
    parser.add_argument("--samples", help="also write every sample to this file (tab-separated)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mqttbridge-soak-", dir="/var/tmp") as directory:
        bench = Bench(directory, 921600)
        daemon = bench.procs[2].popen.pid  # mosquitto, esp-sim, mqttbridged
        publishers = []
        try:
            upstream = Counter("soak/+", port=bench.port)
            local = Counter("soak-down/+", path=bench.socket)
            wait_until(lambda: (s := bench.status()) and s["traffic"]["brokerSubscriptionsAcknowledged"] >= 1, 30,
                       "the bridge's broker subscription")
            publishers = [Publisher(f"p{i}", bench.socket, args.size, args.window) for i in range(args.publishers)]
            share = math.ceil(args.messages / args.publishers)
            downstream = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="soak-down-publisher")
            downstream.connect("127.0.0.1", bench.port)
            downstream.loop_start()
            down_sent = 0

            samples = []  # (seconds, messages at the broker, messages at the local subscriber, RSS KiB)
            started = time.monotonic()
            next_sample = started
            next_down = started
            print(f"soak: {args.messages} messages of {args.size} B at 921600 baud; daemon pid {daemon}", flush=True)
            while upstream.count < args.messages:
                now = time.monotonic()
                for p in publishers:
                    p.allow(min(share, upstream.per_publisher.get(p.ident, 0) + args.backlog))
                while args.down_rate and next_down <= now:
                    downstream.publish("soak-down/b", f"{down_sent}:".encode().ljust(args.size, b"x"), qos=1)
                    down_sent += 1
                    next_down += 1 / args.down_rate
                if now >= next_sample:
                    samples.append((now - started, upstream.count, local.count, rss_kib(daemon)))
                    seconds, messages, _, rss = samples[-1]
                    rate = messages / seconds if seconds else 0
                    print(f"{seconds:7.0f} s  {messages:9d} messages  {rate:6.0f}/s  RSS {rss / 1024:6.1f} MiB",
                          file=sys.stderr, flush=True)
                    next_sample += args.interval
                if bench.procs[2].popen.poll() is not None:
                    raise RuntimeError("mqttbridged exited; see its log")
                time.sleep(0.05)
            for p in publishers:
                p.finish(60)
            samples.append((time.monotonic() - started, upstream.count, local.count, rss_kib(daemon)))
            acknowledged = sum(p.acknowledged for p in publishers)
            wait_until(lambda: upstream.count >= acknowledged, 60, "every acknowledged message at the broker")
            wait_until(lambda: local.count >= down_sent, 30, "every broker message at the local subscriber")
            elapsed = time.monotonic() - started
            downstream.loop_stop()
            upstream.close()
            local.close()
        finally:
            for p in publishers:
                if p.process.poll() is None:
                    p.process.kill()
            bench.stop()

    return report(args, samples, acknowledged, upstream.count, down_sent, local.count, elapsed)


def report(args, samples, acknowledged, arrived, down_sent, down_arrived, elapsed):
    warm = next(s for s in samples if s[1] >= args.warm_up * args.messages)
    after = [s for s in samples if s[0] >= warm[0]]
    peak = max(s[3] for s in samples)
    peak_after = max(s[3] for s in after)
    # About twenty rows, whatever the length of the run.
    step = max(1, len(samples) // 20)
    rows = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
    print("| time | messages to the broker | messages from the broker | daemon RSS |")
    print("|---|---|---|---|")
    for seconds, messages, down, rss in rows:
        print(f"| {seconds:.0f} s | {messages:,} | {down:,} | {rss / 1024:.1f} MiB |")
    if args.samples:
        with open(args.samples, "w") as out:
            out.write("seconds\tto_broker\tfrom_broker\trss_kib\n")
            for sample in samples:
                out.write("\t".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in sample) + "\n")
    growth = peak_after - warm[3]  # KiB
    print(f"\n{arrived:,} messages of {args.size} B to the broker ({acknowledged:,} acknowledged) and "
          f"{down_arrived:,} of {down_sent:,} from the broker in {elapsed / 60:.1f} min "
          f"({arrived / elapsed:.0f} messages/s)")
    print(f"daemon RSS: start {samples[0][3] / 1024:.1f} MiB, after the warm-up ({warm[1]:,} messages) "
          f"{warm[3] / 1024:.1f} MiB, end {samples[-1][3] / 1024:.1f} MiB, largest {peak / 1024:.1f} MiB; "
          f"growth after the warm-up {growth:+d} KiB (bound {args.rss_growth:g} MiB)")
    failed = False
    if growth > args.rss_growth * 1024:
        print(f"FAILED: RSS grew {growth / 1024:.1f} MiB after the warm-up, more than {args.rss_growth:g} MiB")
        failed = True
    if arrived < acknowledged or down_arrived < down_sent:
        print("FAILED: messages missing")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
