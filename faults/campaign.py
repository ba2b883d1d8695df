"""The fault campaign: numbered qos 1 messages stream from local publishers through the whole
bridge (mqttbridged → simulated UART → the real firmware under esp-sim → mosquitto) while faults
of every kind are injected in a seeded random order; a subscriber at the broker then shows whether
every message the daemon acknowledged arrived.

Fault kinds (docs/esp-sim.md §5 for the esp-sim ones):
  noise      N noise bytes on the wire (log-uniform 1…4000, either or both directions)
  cut        the line cut for 0.2…8 s (longer than --link-timeout: the daemon resets the ESP)
  hang       the firmware frozen for 0.5…8 s (longer than --link-timeout: reset by the daemon)
  reboot     the firmware restarts as after a crash
  wifi       the access point out of reach for 0.5…10 s
  broker     mosquitto stopped (SIGTERM) and started again on the same port 0.5…6 s later
  daemon     mqttbridged SIGKILLed and started again 0…3 s later, same --spool
  publisher  a publisher process SIGKILLed while it has messages in flight, started again

The publishers publish at --rate throughout, through every fault (into the spool while the broker
is out of reach), --messages in all at least: before the first fault, between two faults and after
the last at least an equal share of them. Each message belongs to the fault whose window it was
published in (from that fault's injection to the next one's). Per kind the table gives faults,
messages published and acknowledged in those windows, the acknowledged ones lost, duplicate
arrivals (and how many of them the broker itself sent again, with DUP, to the subscriber after its
restart), first arrivals out of publishing order, and the recovery time: from the fault's end (the
cut or outage over, the broker or daemon started again, the publisher started again; for noise,
reboot and hang the injection, since a hang longer than the link timeout is ended by the daemon's
reset, not by the clock) until a message published after that moment arrives at the subscriber
(for a killed publisher: one of its own).

Run through scripts/faults, which builds the binaries and sets MQTTBRIDGE_BIN. Exits 1 when an
acknowledged message was lost or the bridge did not recover from a fault.
"""

import argparse
import bisect
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("MQTTBRIDGE_BIN", ROOT / ".build" / "debug"))
sys.path.insert(0, str(ROOT / "tests"))
from harness import Process, accepts_connections, esp_sim_command, free_port, mosquitto_config, wait_until  # noqa: E402

KINDS = ("noise", "cut", "hang", "reboot", "wifi", "broker", "daemon", "publisher")
LINK_TIMEOUT = 3  # s: the daemon's --link-timeout; hangs and cuts go beyond it
RECOVERY_LIMIT = 180  # s: a fault not recovered from by then ends the campaign as a failure


def log(events, line):
    """A line for the campaign's event log and the terminal."""
    stamp = f"{time.monotonic():.3f}"
    events.write(f"{stamp} {line}\n")
    events.flush()
    print(line, flush=True)


class Broker:
    """mosquitto with persistence: a graceful stop (SIGTERM) writes its sessions and queued
    messages to disk and the restart reads them back, so what it acknowledged to the ESP but had
    not yet delivered to the subscriber survives the restart (the broker's durability is not under
    test; the bridge's is)."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.port = free_port()
        config = mosquitto_config(self.port)
        assert "persistence false\n" in config
        config = config.replace("persistence false\n",
                                f"persistence true\npersistence_location {self.directory}/\n")
        self.conf = self.directory / "mosquitto.conf"
        self.conf.write_text(config)
        self.start()

    def start(self):
        self.process = Process("mosquitto", ["mosquitto", "-c", str(self.conf)], self.directory, append=True)
        wait_until(lambda: accepts_connections(self.port), 20, "mosquitto to listen")

    def stop(self):
        self.process.stop()


class Bridge:
    """esp-sim (with a control socket, at 115200 baud on a paced wire) and mqttbridged, which can
    be SIGKILLed and started again on the same spool."""

    def __init__(self, directory, broker, seed, log_level, firmware):
        self.directory = Path(directory)
        self.broker = broker
        self.log_level = log_level
        self.link = self.directory / "esp-link"
        self.gpio = self.directory / "gpio"
        self.control = self.directory / "esp-sim.sock"
        self.socket = str(self.directory / "mqtt.sock")
        self.sim = Process("esp-sim", [
            str(BIN / "esp-sim"), "--link", str(self.link), "--gpio-root", str(self.gpio), "--baud", "115200",
            "--seed", str(seed), "--state-dir", str(self.directory / "esp-state"), "--control", str(self.control),
            "--firmware", str(firmware)],
            self.directory, stdout=subprocess.PIPE, append=True)
        line = self.sim.popen.stdout.readline().decode()
        if "ready" not in line:
            raise RuntimeError(f"esp-sim did not start; see {self.sim.log_path}")
        self.daemon = None
        self.start_daemon()

    def start_daemon(self):
        """Starts mqttbridged and returns once it listens on its socket."""
        self.daemon = Process("mqttbridged", [
            str(BIN / "mqttbridged"), "--device", str(self.link), "--gpio-root", str(self.gpio),
            "--baud", "115200", "--socket", self.socket, "--broker", f"127.0.0.1:{self.broker.port}",
            "--client-id", "mqttbridge-faults", "--wifi-ssid", "mqttbridge-sim", "--keepalive", "10",
            "--link-timeout", str(LINK_TIMEOUT), "--spool", str(self.directory / "spool"),
            "--log-level", self.log_level], self.directory, append=True)
        # A SIGKILLed daemon leaves its socket file (refusing connections); the new one replaces it.
        wait_until(lambda: self.daemon.popen.poll() is not None or self.listening(), 30,
                   "mqttbridged to open its socket")
        if self.daemon.popen.poll() is not None:
            raise RuntimeError(f"mqttbridged exited; see {self.daemon.log_path}")

    def listening(self):
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(self.socket)
                return True
            except OSError:
                return False

    def command(self, line):
        return esp_sim_command(self.control, line)

    def status(self):
        try:
            out = subprocess.run([str(BIN / "mqttbridge"), "status", "--json", "--socket", self.socket,
                                  "--timeout", "5"], capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            return None
        return json.loads(out.stdout) if out.returncode == 0 else None

    def stop(self):
        if self.daemon:
            self.daemon.stop()
        self.sim.stop()


class Subscriber:
    """A paho client at the broker with a persistent session (clean session 0, fixed client id,
    qos 1), so that it misses nothing while mosquitto restarts. Records every arrival."""

    def __init__(self, port):
        self.arrivals = []  # (monotonic time, publisher id, sequence, dup flag)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="faults-sub", clean_session=False)
        self.client.reconnect_delay_set(min_delay=0.25, max_delay=1)
        self.subscribed = threading.Event()
        self.client.on_connect = self.on_connect
        self.client.on_subscribe = lambda c, u, mid, codes, props: self.subscribed.set()
        self.client.on_message = self.on_message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self.subscribed.wait(20):
            raise RuntimeError("the broker subscriber got no SUBACK")

    def on_connect(self, client, userdata, flags, reason, properties):
        if not flags.session_present:
            client.subscribe("faults/#", qos=1)

    def on_message(self, client, userdata, message):
        publisher, sequence, _ = message.payload.split(b":", 2)
        self.arrivals.append((time.monotonic(), publisher.decode(), int(sequence), message.dup))

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class Publisher:
    """One publisher id, served by a faults/publisher.py process at a time: a killed one is
    replaced by a new one that goes on with the next number. Keeps what every process reported."""

    def __init__(self, ident, bridge, rate, directory):
        self.ident = ident
        self.bridge = bridge
        self.rate = rate
        self.directory = directory
        self.sent = {}  # sequence → monotonic time it was handed to the client
        self.acked = {}  # sequence → monotonic time of its PUBACK
        self.abandoned = 0  # unacknowledged messages of connections that went away
        self.budget = 0
        self.process = None
        self.start()

    def start(self):
        first = max(self.sent, default=-1) + 1
        self.process = Process(f"publisher-{self.ident}", [
            sys.executable, str(ROOT / "faults" / "publisher.py"), "--socket", self.bridge.socket,
            "--id", self.ident, "--start", str(first), "--budget", str(self.budget), "--rate", str(self.rate)],
            self.directory, stdin=subprocess.PIPE, stdout=subprocess.PIPE, append=True)
        self.reader = threading.Thread(target=self.read, args=(self.process.popen.stdout,), daemon=True)
        self.reader.start()
        self.steer(f"b {self.budget}")  # in case it was raised while the process started

    def read(self, stream):
        with stream:
            for line in stream:
                words = line.split()
                if words[0] == b"s":
                    self.sent[int(words[1])] = float(words[2])
                elif words[0] == b"a":
                    self.acked[int(words[1])] = float(words[2])
                elif words[0] == b"d":
                    self.abandoned += int(words[1])

    def steer(self, line):
        try:
            self.process.popen.stdin.write(line.encode() + b"\n")
            self.process.popen.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # it is being replaced; the new one starts with the budget

    def raise_budget(self, budget):
        """Lets the process publish up to message number `budget` (a budget is never lowered)."""
        if budget > self.budget:
            self.budget = budget
            self.steer(f"b {budget}")

    def last_budget(self, share):
        """Stops the feeding: the process publishes its `share` in all, or stops now if it has."""
        self.budget = max(len(self.sent), share)
        self.steer(f"b {self.budget}")

    def in_flight(self):
        return len(self.sent) - len(self.acked) - self.abandoned

    def kill(self):
        """SIGKILLs the process and returns how many of its messages were unacknowledged."""
        self.process.stop(signal.SIGKILL)
        self.reader.join(10)  # what it wrote before dying is still in the pipe
        unacknowledged = self.in_flight()
        self.abandoned += unacknowledged
        return unacknowledged

    def finish(self, timeout):
        """Lets the process publish its last budget and exit; False when its messages are still
        unacknowledged after `timeout` seconds (it is killed then)."""
        self.steer("e")
        try:
            self.process.popen.wait(timeout)
            finished = True
        except subprocess.TimeoutExpired:
            self.process.stop(signal.SIGKILL)
            finished = False
        self.reader.join(10)
        self.process.stop()
        return finished


class Fault:
    def __init__(self, number, kind, injected):
        self.number, self.kind, self.injected = number, kind, injected
        self.ended = injected
        self.detail = ""
        self.scope = None  # the publisher whose own messages show recovery (killed publisher)
        self.recovery = None


class Campaign:
    def __init__(self, args, directory):
        self.args = args
        self.directory = Path(directory)
        self.rng = random.Random(args.seed)
        self.events = open(self.directory / "events.log", "a")
        self.broker = Broker(self.directory)
        self.bridge = None
        self.subscriber = None
        self.publishers = []
        self.faults = []
        try:
            self.bridge = Bridge(self.directory, self.broker, args.seed, args.log_level, args.firmware)
            wait_until(lambda: (s := self.bridge.status()) and s["broker"]["state"] == "connected", 90,
                       "the bridge to reach the broker")
            self.subscriber = Subscriber(self.broker.port)
            rate = args.rate / args.publishers
            self.publishers = [Publisher(f"p{i}", self.bridge, rate, self.directory) for i in range(args.publishers)]
        except BaseException:
            self.stop()
            raise

    # The schedule -------------------------------------------------------------------------

    def schedule(self):
        """M fault kinds in a seeded random order: every kind equally often, the remainder drawn."""
        count, chosen = self.args.faults, self.args.kinds
        kinds = list(chosen) * (count // len(chosen)) + self.rng.sample(chosen, count % len(chosen))
        self.rng.shuffle(kinds)
        return kinds

    def published(self):
        return sum(len(p.sent) for p in self.publishers)

    def feed(self, stop):
        """Keeps every publisher's budget 10 s of messages ahead of what it published, so that
        messages flow through every fault (into the spool during an outage) until `stop` is set."""
        while not stop.wait(0.2):
            for p in self.publishers:
                p.raise_budget(len(p.sent) + math.ceil(10 * p.rate))

    def run(self):
        kinds = self.schedule()
        # At least this many messages before the first fault, between two faults and after the last.
        segment = self.args.messages / (len(kinds) + 1)
        fed = threading.Event()
        feeder = threading.Thread(target=self.feed, args=(fed,), daemon=True)
        feeder.start()
        started = time.monotonic()
        for number, kind in enumerate(kinds):
            # Messages flow for a while (at least 1 s, and the segment's share) before each fault.
            flow_until = time.monotonic() + self.rng.uniform(1, 3)
            wait_until(lambda: time.monotonic() >= flow_until and self.published() >= (number + 1) * segment,
                       RECOVERY_LIMIT + segment / self.args.rate * 4, "the messages between two faults")
            fault = Fault(number, kind, time.monotonic())
            getattr(self, f"inject_{kind}")(fault)
            self.faults.append(fault)
            fault.recovery = self.recovery(fault)
            log(self.events, f"[{number + 1:3d}/{len(kinds)}] {kind:9s} {fault.detail:40s} "
                f"recovered in {fault.recovery:6.2f} s   published {self.published()}, "
                f"arrived {len(self.subscriber.arrivals)}, {time.monotonic() - started:6.0f} s")
        fed.set()
        feeder.join()
        for p in self.publishers:  # what is still to publish, then they stop
            p.last_budget(math.ceil(self.args.messages / len(self.publishers)))
        for p in self.publishers:
            if not p.finish(RECOVERY_LIMIT + self.args.messages / self.args.rate):
                raise RecoveryError(f"publisher {p.ident}: {p.in_flight()} messages still unacknowledged "
                                    f"long after the last was due (faults/publisher.py did not finish)")
        log(self.events, f"all {self.published()} messages published; waiting for the spool to drain")
        wait_until(lambda: (s := self.bridge.status()) and s["spool"]["messages"] == 0, RECOVERY_LIMIT,
                   "an empty spool")
        # Out of the spool means the broker acknowledged them; give the subscriber time to get them.
        acknowledged = {(p.ident, n) for p in self.publishers for n in p.acked}
        try:
            wait_until(lambda: acknowledged <= {(a[1], a[2]) for a in self.subscriber.arrivals}, 60,
                       "every acknowledged message at the subscriber")
        except TimeoutError:
            pass  # the table shows what is missing
        time.sleep(2)  # a late duplicate still counts

    def recovery(self, fault):
        """Seconds from the fault's end until a message published after it arrives at the subscriber."""
        time.sleep(max(0, fault.ended - time.monotonic()))  # a cut still in progress
        marks = {p.ident: max(p.sent, default=-1) for p in self.publishers}
        start = fault.ended
        scan = len(self.subscriber.arrivals)  # what arrived before cannot have been published after
        deadline = time.monotonic() + RECOVERY_LIMIT
        arrivals = self.subscriber.arrivals
        while time.monotonic() < deadline:
            while scan < len(arrivals):
                arrived, ident, sequence, _ = arrivals[scan]
                scan += 1
                if arrived >= start and sequence > marks[ident] and fault.scope in (None, ident):
                    return arrived - start
            time.sleep(0.02)
        raise RecoveryError(f"fault {fault.number + 1} ({fault.kind} {fault.detail}): no message published after "
                            f"its end arrived within {RECOVERY_LIMIT} s")

    # The faults ---------------------------------------------------------------------------

    def inject_noise(self, fault):
        length = max(1, int(10 ** self.rng.uniform(0, math.log10(4000))))
        direction = self.rng.choice(("to-host", "to-esp", "both"))
        self.bridge.command(f"noise {length} {direction}")
        fault.detail = f"{length} bytes {direction}"

    def inject_cut(self, fault):
        seconds = round(self.rng.uniform(0.2, 8), 2)
        self.bridge.command(f"cut {seconds}")
        fault.ended = fault.injected + seconds
        fault.detail = f"{seconds:.2f} s"

    def inject_hang(self, fault):
        seconds = round(self.rng.uniform(0.5, 8), 2)
        # Messages flowing again does not mean the firmware is running: the last fault's reset may
        # be followed by another (a HELLO timeout, say). esp-sim refuses to freeze it until it runs.
        wait_until(lambda: self.bridge.command("stats").split("firmware=")[1].startswith("running"), 30,
                   "the firmware to run")
        fault.injected = time.monotonic()
        self.bridge.command(f"hang {seconds}")
        fault.ended = fault.injected
        fault.detail = f"{seconds:.2f} s"

    def inject_reboot(self, fault):
        fault.detail = self.bridge.command("reboot").split(":")[0]

    def inject_wifi(self, fault):
        seconds = round(self.rng.uniform(0.5, 10), 2)
        self.bridge.command("wifi down")
        time.sleep(seconds)
        self.bridge.command("wifi up")
        fault.ended = time.monotonic()
        fault.detail = f"down {seconds:.2f} s"

    def inject_broker(self, fault):
        seconds = round(self.rng.uniform(0.5, 6), 2)
        self.broker.stop()
        time.sleep(seconds)
        self.broker.start()
        fault.ended = time.monotonic()
        fault.detail = f"down {seconds:.2f} s"

    def inject_daemon(self, fault):
        seconds = round(self.rng.uniform(0, 3), 2)
        self.bridge.daemon.stop(signal.SIGKILL)
        time.sleep(seconds)
        self.bridge.start_daemon()
        fault.ended = time.monotonic()
        fault.detail = f"down {seconds:.2f} s"

    def inject_publisher(self, fault):
        publisher = self.rng.choice(self.publishers)
        # Killed while it has messages in flight (sent, not yet acknowledged), if that comes soon.
        deadline = time.monotonic() + 10
        while publisher.in_flight() == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        unacknowledged = publisher.kill()
        time.sleep(self.rng.uniform(0, 1))
        publisher.start()
        fault.ended = time.monotonic()
        fault.scope = publisher.ident
        fault.detail = f"{publisher.ident}, {unacknowledged} unacknowledged"

    # The result ---------------------------------------------------------------------------

    def table(self):
        """One row per fault kind, plus the messages before the first fault and the total."""
        starts = [f.injected for f in self.faults]
        rows = {kind: Row() for kind in ("(none)", *self.args.kinds)}
        total = Row()
        for fault in self.faults:
            rows[fault.kind].faults.append(fault)
        arrivals = {}
        redelivered = {}  # repeats the broker sent with DUP: its own retries to the subscriber
        firsts = {p.ident: [] for p in self.publishers}
        for _, ident, sequence, dup in self.subscriber.arrivals:
            key = (ident, sequence)
            arrivals[key] = arrivals.get(key, 0) + 1
            if arrivals[key] == 1:
                firsts[ident].append(sequence)
            elif dup:
                redelivered[key] = redelivered.get(key, 0) + 1
        reordered = set()
        for ident, sequences in firsts.items():
            highest = -1
            for sequence in sequences:
                if sequence < highest:
                    reordered.add((ident, sequence))
                highest = max(highest, sequence)
        for p in self.publishers:
            for sequence, sent in list(p.sent.items()):
                index = bisect.bisect_right(starts, sent) - 1
                row = rows[self.faults[index].kind if index >= 0 else "(none)"]
                count = arrivals.get((p.ident, sequence), 0)
                for r in (row, total):
                    r.published += 1
                    r.acknowledged += sequence in p.acked
                    r.lost += sequence in p.acked and count == 0
                    r.unacknowledged_arrived += sequence not in p.acked and count > 0
                    r.duplicated += max(0, count - 1)
                    r.redelivered += redelivered.get((p.ident, sequence), 0)
                    r.reordered += (p.ident, sequence) in reordered
        total.faults = list(self.faults)
        return rows, total

    def record(self):
        """Every arrival and every message, for a look at what went wrong."""
        with open(self.directory / "arrivals.tsv", "w") as out:
            out.write("time\tpublisher\tsequence\tdup\n")
            for arrived, ident, sequence, dup in self.subscriber.arrivals:
                out.write(f"{arrived:.3f}\t{ident}\t{sequence}\t{int(dup)}\n")
        with open(self.directory / "messages.tsv", "w") as out:
            out.write("publisher\tsequence\tsent\tacknowledged\n")
            for p in self.publishers:
                for sequence, sent in sorted(p.sent.items()):
                    acked = p.acked.get(sequence)
                    out.write(f"{p.ident}\t{sequence}\t{sent:.3f}\t{'' if acked is None else f'{acked:.3f}'}\n")

    def report(self, elapsed):
        self.record()
        rows, total = self.table()
        header = ("fault", "injected", "published", "acknowledged", "lost", "duplicated", "of them by the broker",
                  "reordered", "median recovery", "worst recovery")

        def line(name, row):
            recoveries = [f.recovery for f in row.faults if f.recovery is not None]
            return (name, str(len(row.faults)) if name != "(none)" else "-", str(row.published),
                    str(row.acknowledged), str(row.lost), str(row.duplicated), str(row.redelivered), str(row.reordered),
                    f"{statistics.median(recoveries):.2f} s" if recoveries else "-",
                    f"{max(recoveries):.2f} s" if recoveries else "-")

        lines = [line(kind, row) for kind, row in rows.items()] + [line("all", total)]
        widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
        text = ["| " + " | ".join(c.ljust(w) for c, w in zip(header, widths)) + " |",
                "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        text += ["| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 + " |" for r in lines]
        abandoned = sum(p.abandoned for p in self.publishers)
        text += ["", f"{total.published} messages published by {len(self.publishers)} publishers "
                 f"({self.args.rate:g}/s, seed {self.args.seed}) in {elapsed / 60:.1f} min, "
                 f"{total.acknowledged} acknowledged, {abandoned} unacknowledged when their connection went "
                 f"({total.unacknowledged_arrived} of the unacknowledged arrived anyway); "
                 f"{len(self.subscriber.arrivals)} arrivals at the broker subscriber"]
        return "\n".join(text), total

    def stop_publishers(self):
        for p in self.publishers:
            p.process.stop(signal.SIGKILL)
            p.reader.join(10)

    def stop(self):
        self.stop_publishers()
        if self.subscriber:
            self.subscriber.close()
        if self.bridge:
            self.bridge.stop()
        self.broker.stop()
        self.events.close()


class Row:
    def __init__(self):
        self.faults = []
        self.published = self.acknowledged = self.lost = self.duplicated = self.reordered = 0
        self.redelivered = 0
        self.unacknowledged_arrived = 0


class RecoveryError(Exception):
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1500, help="messages to publish in all (default 1500)")
    parser.add_argument("--faults", type=int, default=12, help="faults to inject (default 12)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault order, sizes and wire (default 1)")
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes (default 2)")
    parser.add_argument("--rate", type=float, default=30, help="messages per second, all publishers (default 30)")
    parser.add_argument("--table", help="also write the table to this file")
    parser.add_argument("--dir", help="keep the logs, spool and broker files here (default: a temporary "
                        "directory, kept when the campaign fails)")
    parser.add_argument("--log-level", default="info", help="mqttbridged's --log-level (default info)")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help=f"the fault kinds to inject, comma-separated (default all: {','.join(KINDS)})")
    parser.add_argument("--firmware", default=ROOT / "firmware", type=Path,
                        help="the firmware directory esp-sim runs (default firmware/)")
    args = parser.parse_args()
    args.kinds = tuple(args.kinds.split(","))
    if not set(args.kinds) <= set(KINDS):
        parser.error(f"--kinds: {', '.join(sorted(set(args.kinds) - set(KINDS)))} unknown; known: {', '.join(KINDS)}")

    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="mqttbridge-faults-", dir="/var/tmp"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"fault campaign: {args.messages} messages, {args.faults} faults, seed {args.seed}; files in {directory}",
          flush=True)
    started = time.monotonic()
    campaign = Campaign(args, directory)
    failure = None
    try:
        campaign.run()
    except (RecoveryError, TimeoutError) as error:
        failure = str(error)
    except Exception as error:  # noqa: BLE001  (a fault of the campaign itself: the table so far, then the trace)
        traceback.print_exc()
        failure = f"the campaign failed: {error!r}"
    finally:
        elapsed = time.monotonic() - started
        try:
            campaign.stop_publishers()  # nothing changes under the report
            table, total = campaign.report(elapsed)
        finally:
            campaign.stop()
    print()
    print(table)
    if args.table:
        Path(args.table).write_text(table + "\n")
    if failure:
        print(f"\nFAILED: {failure}; logs in {directory}")
        return 1
    if total.lost:
        print(f"\nFAILED: {total.lost} acknowledged messages lost; logs in {directory}")
        return 1
    print(f"\nno acknowledged message lost; logs in {directory}" if args.dir else "\nno acknowledged message lost")
    if not args.dir:
        shutil.rmtree(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
