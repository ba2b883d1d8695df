"""The link under faults, against the real parts: a noisy wire with line cuts, a hung ESP, and
garbage on the wire. esp-sim's control socket injects each fault while messages flow; every test
fails on a lost, reordered, false or altered message, and prints what the faults cost."""

import os
import random
import re
import threading
import time
from contextlib import contextmanager

from conftest import Collector, Stack, esp_sim_command, wait_until

# Fixed seeds, so that a failing run can be replayed (esp-sim's bit errors and noise bytes, and the
# moments and sizes of the faults the tests inject); LINK_FAULTS_SEED tries others.
WIRE_SEED = int(os.environ.get("LINK_FAULTS_SEED", "20240611"))


class SimControl:
    """esp-sim's control socket shared by the test and its fault-injecting threads: one command at
    a time."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def command(self, line):
        with self.lock:
            return esp_sim_command(self.path, line)

    def stats(self):
        return dict(pair.split("=", 1) for pair in self.command("stats").split())


@contextmanager
def faulty_stack(directory, broker, sim_args=(), daemon_args=()):
    """A Stack whose esp-sim takes control commands, and its control socket, once the bridge has
    reached the broker; stopped on leaving."""
    with Stack(directory, broker, sim_args=sim_args, daemon_args=daemon_args, controlled=True) as stack:
        stack.wait_for_broker(timeout=60)
        yield stack, SimControl(stack.control)


def both_ways(stack, broker, prefix):
    """A local subscriber to PREFIX/down/#, a broker subscriber to PREFIX/up/# (its broker
    subscription in place), and a local publisher."""
    local = Collector("local-sub", path=stack.socket)
    local.subscribe(f"{prefix}/down/#")
    upstream = Collector("up", port=broker.port)
    upstream.subscribe(f"{prefix}/up/#")
    stack.wait_for_broker_subscriptions(1)
    return local, upstream, Collector("local-pub", path=stack.socket)


class Repeating(threading.Thread):
    """Runs `action(rng)` again and again, `pause(rng)` seconds apart, until stopped; counts runs.
    An exception in the action is kept and re-raised by stop(), so a refused command fails the test."""

    def __init__(self, action, pause, seed):
        super().__init__(daemon=True)
        self.action, self.pause, self.rng = action, pause, random.Random(seed)
        self.stopping = threading.Event()
        self.runs = 0
        self.error = None

    def run(self):
        try:
            while not self.stopping.wait(self.pause(self.rng)):
                self.action(self.rng)
                self.runs += 1
        except BaseException as error:  # noqa: BLE001  (handed to the test thread)
            self.error = error

    def stop(self):
        self.stopping.set()
        self.join(30)
        if self.error:
            raise self.error
        return self.runs


def check_numbered_stream(received, count):
    """Checks that messages numbered 0..count-1 arrived complete and in order; a number seen before
    may come again (a qos 1 duplicate) but a new one must be the next. Returns the duplicates."""
    duplicates = 0
    highest = -1
    for position, number in enumerate(received):
        if number <= highest:
            duplicates += 1
        else:
            assert number == highest + 1, (
                f"message {highest + 1} missing or out of order: {number} came after {highest} "
                f"(position {position})")
            highest = number
    assert highest == count - 1, f"only messages up to {highest} of {count} arrived"
    return duplicates


def numbered_payload(number):
    # The number first, then filler that changes with it, so an altered payload is noticed too.
    return f"{number:05d}:".encode() + bytes((number * 7 + k) % 251 + 1 for k in range(24))


def test_noisy_wire_with_line_cuts_loses_and_reorders_nothing(tmp_path, broker):
    count = 2000
    with faulty_stack(tmp_path, broker,
                      sim_args=("--baud", "115200", "--ber", "1e-4", "--seed", str(WIRE_SEED))) as (stack, sim):
        upstream = Collector("up", port=broker.port)
        upstream.subscribe("faults/numbered")
        publisher = Collector("numbered-publisher", path=stack.socket)

        # A cut of 0.5-1 s every 2-4 s: long enough to lose whole windows of frames.
        cutter = Repeating(lambda rng: sim.command(f"cut {rng.uniform(0.5, 1.0):.2f}"),
                           pause=lambda rng: rng.uniform(2.0, 4.0), seed=WIRE_SEED)
        cutter.start()
        started = time.monotonic()
        publishes = [publisher.client.publish("faults/numbered", numbered_payload(number), qos=1)
                     for number in range(count)]

        def numbers():
            return [int(payload[:5]) for payload in upstream.payloads()]

        wait_until(lambda: len(set(numbers())) >= count, 150, f"all {count} messages at the broker")
        cuts = cutter.stop()
        elapsed = time.monotonic() - started
        time.sleep(1)  # a late duplicate would still be counted
        for payload in upstream.payloads():
            assert payload == numbered_payload(int(payload[:5])), f"altered payload {payload!r}"
        duplicates = check_numbered_stream(numbers(), count)

        wire = sim.stats()
        link = stack.status()["link"]
        print(f"\nnoisy wire: {count} messages in {elapsed:.1f} s, {duplicates} duplicates, {cuts} cuts; "
              f"flipped bits to-esp {wire['to-esp.flipped-bits']} to-host {wire['to-host.flipped-bits']}, "
              f"bytes lost to cuts to-esp {wire['to-esp.lost-to-cut']} to-host {wire['to-host.lost-to-cut']}; "
              f"daemon: {link['retransmissions']} retransmissions, {link['rejects']} REJs sent, "
              f"{link['duplicates']} duplicate frames, {link['crcErrors']} CRC and "
              f"{link['framingErrors']} framing errors, {link['resets']} resets, {link['linkTimeouts']} link timeouts")
        assert cuts >= 3, "the test must cut the line several times while messages flow"
        wait_until(lambda: all(info.is_published() for info in publishes), 60, "a PUBACK for every publish")
        # Cuts of at most 1 s are well within the 5 s link timeout: the link rides them out.
        assert link["linkTimeouts"] == 0 and link["resets"] == 1, "the daemon reset an ESP that was alive"
        assert int(wire["to-esp.flipped-bits"]) > 0 and int(wire["to-host.flipped-bits"]) > 0
        publisher.close()
        upstream.close()


def test_a_hung_esp_is_reset_by_the_daemon_and_everything_comes_back(tmp_path, broker):
    link_timeout = 3
    with faulty_stack(tmp_path, broker, daemon_args=("--link-timeout", str(link_timeout))) as (stack, sim):
        local = Collector("local-sub", path=stack.socket)
        local.subscribe("hang/down/#")
        upstream = Collector("up", port=broker.port)
        upstream.subscribe("hang/up/#")
        stack.wait_for_broker_subscriptions(1)
        upstream.client.publish("hang/down/x", b"before", qos=1)
        wait_until(lambda: local.payloads() == [b"before"], 20, "the first message at the local subscriber")

        before = stack.status()
        restarts_before = int(sim.stats()["firmware-restarts"])
        # Frozen well past the link timeout: only a reset through RESET brings it back in time.
        sim.command(f"hang {4 * link_timeout}")
        hung_at = time.monotonic()
        local_publisher = Collector("local-pub", path=stack.socket)
        local_publisher.client.publish("hang/up/x", b"published while the ESP hung", qos=1)

        after = wait_until(
            lambda: (s := stack.status()) and s["link"]["resets"] > before["link"]["resets"]
            and s["link"]["state"] == "running" and s["broker"]["state"] == "connected" and s,
            60, "the daemon to reset the hung ESP and reconnect")
        recovered_in = time.monotonic() - hung_at
        assert after["link"]["linkTimeouts"] > before["link"]["linkTimeouts"]
        assert after["esp"]["resetReason"] == "external reset"
        assert after["esp"]["bootCount"] > before["esp"]["bootCount"]
        wire = sim.stats()
        assert int(wire["firmware-restarts"]) > restarts_before
        # The RESET line ended the hang: esp-sim killed the frozen firmware rather than thawing it.
        sim_log = stack.sim.log()
        frozen_at = sim_log.rindex("frozen (SIGSTOP)")
        assert "RESET asserted" in sim_log[frozen_at:], "the daemon never reset the hung ESP"
        assert "thawed" not in sim_log[frozen_at:sim_log.index("RESET asserted", frozen_at)], (
            "the ESP was reset only after the hang had ended by itself")

        # The daemon replays the subscription by itself; the subscriber does nothing.
        stack.wait_for_broker_subscriptions(1, timeout=30)
        upstream.client.publish("hang/down/x", b"after", qos=1)
        wait_until(lambda: local.payloads() == [b"before", b"after"], 30,
                   "the message published after recovery at the local subscriber")
        wait_until(lambda: b"published while the ESP hung" in upstream.payloads(), 30,
                   "the message published during the hang at the broker")
        info = local_publisher.client.publish("hang/up/x", b"published after recovery", qos=1)
        info.wait_for_publish(30)
        wait_until(lambda: b"published after recovery" in upstream.payloads(), 30,
                   "the message published after recovery at the broker")
        print(f"\nhung ESP: back {recovered_in:.1f} s after the hang began (link timeout {link_timeout} s); "
              f"resets {before['link']['resets']} -> {after['link']['resets']}, link timeouts "
              f"{after['link']['linkTimeouts']}, boot {after['esp']['bootCount']} "
              f"({after['esp']['resetReason']}), fifo-dropped {wire['to-esp.fifo-dropped']}, "
              f"messages at the broker {upstream.payloads()}")
        for client in (local, local_publisher, upstream):
            client.close()


def test_a_short_hang_is_ridden_out_without_a_reset(tmp_path, broker):
    # Frozen for less than the link timeout: the 128-byte UART FIFO keeps a little, the rest of what
    # the daemon sent is lost, and retransmission alone must bring every message through.
    with faulty_stack(tmp_path, broker, sim_args=("--baud", "115200")) as (stack, sim):
        local, upstream, local_publisher = both_ways(stack, broker, "short")
        resets_before = stack.status()["link"]["resets"]

        sim.command("hang 1.5")
        up_sent = [f"up {n} ".encode() * 8 for n in range(20)]
        down_sent = [f"down {n}".encode() for n in range(20)]
        for up_payload, down_payload in zip(up_sent, down_sent):
            local_publisher.client.publish("short/up/x", up_payload, qos=1)
            upstream.client.publish("short/down/x", down_payload, qos=1)
        wait_until(lambda: set(upstream.payloads()) == set(up_sent), 60, "every local message at the broker")
        wait_until(lambda: set(local.payloads()) == set(down_sent), 60, "every broker message at the local subscriber")

        status = stack.status()
        wire = sim.stats()
        print(f"\nshort hang: fifo-dropped {wire['to-esp.fifo-dropped']}, {status['link']['retransmissions']} "
              f"retransmissions, duplicates at the broker {len(upstream.payloads()) - len(up_sent)}, "
              f"at the local subscriber {len(local.payloads()) - len(down_sent)}")
        assert status["link"]["resets"] == resets_before, "the daemon reset an ESP that was only slow"
        assert int(wire["to-esp.fifo-dropped"]) > 0, "the hang must cost bytes for the test to mean anything"
        for client in (local, local_publisher, upstream):
            client.close()


def random_payload(rng):
    # Lengths from empty to 400 bytes (near the ESP's largest frame), every byte value (zeros too).
    length = rng.choice((0, 1, 2, rng.randint(3, 40), rng.randint(41, 300), rng.randint(301, 400)))
    return bytes(rng.getrandbits(8) for _ in range(length))


def noise_burst_length(rng):
    # Log-uniform from 1 byte to several thousand: single bytes, frame-sized, and whole-window bursts.
    return max(1, int(10 ** rng.uniform(0, 3.7)))


def test_garbage_on_the_wire_never_yields_a_false_message(tmp_path, broker):
    per_direction = 800
    with faulty_stack(tmp_path, broker, sim_args=("--baud", "115200", "--seed", str(WIRE_SEED + 1))) as (stack, sim):
        local, upstream, local_publisher = both_ways(stack, broker, "garbage")

        rng = random.Random(WIRE_SEED + 2)
        up_sent = [(f"garbage/up/{n}", random_payload(rng)) for n in range(per_direction)]
        down_sent = [(f"garbage/down/{n}", random_payload(rng)) for n in range(per_direction)]

        bursts = []

        def inject_noise(rng):
            length, direction = noise_burst_length(rng), rng.choice(("to-host", "to-esp", "both"))
            sim.command(f"noise {length} {direction}")
            bursts.append((length, direction))

        noiser = Repeating(inject_noise, pause=lambda rng: rng.uniform(0.02, 0.4), seed=WIRE_SEED + 3)
        noiser.start()
        # Both directions at once, paced a little so that noise keeps landing among the frames.
        publishes = []
        for (up_topic, up_payload), (down_topic, down_payload) in zip(up_sent, down_sent):
            publishes.append(local_publisher.client.publish(up_topic, up_payload, qos=1))
            upstream.client.publish(down_topic, down_payload, qos=1)
            time.sleep(0.02)

        def missing():
            return (set(up_sent) - {(t, p) for t, p, _, _ in upstream.messages},
                    set(down_sent) - {(t, p) for t, p, _, _ in local.messages})

        try:
            wait_until(lambda: missing() == (set(), set()), 150, "every message at its subscriber")
        except BaseException:
            up_missing, down_missing = missing()
            print(f"\nmissing at the broker: {sorted(t for t, _ in up_missing)}\n"
                  f"missing at the local subscriber: {sorted(t for t, _ in down_missing)}\n"
                  f"status: {stack.status()}\nesp-sim: {sim.stats()}")
            raise
        finally:
            noiser.stop()
        time.sleep(1)  # a false message arriving late would still be caught

        # Every publish of the local client was acknowledged to it: none is stuck in the daemon for
        # want of a PUBACK from the ESP.
        wait_until(lambda: all(info.is_published() for info in publishes), 60, "a PUBACK for every local publish")
        for name, collector, sent in (("broker", upstream, up_sent), ("local", local, down_sent)):
            expected = set(sent)
            for topic, payload, _, _ in collector.messages:
                assert (topic, payload) in expected, f"a false message at the {name} subscriber: {topic} {payload!r}"
        up_duplicates = len(upstream.messages) - per_direction
        down_duplicates = len(local.messages) - per_direction

        wire = sim.stats()
        link = stack.status()["link"]
        noise_bytes = sum(length for length, _ in bursts)
        # The firmware reports its own link errors every 10 s; the last report, for the record.
        reports = re.findall(r"ESP: link errors: ([^\n]*)", stack.daemon.log())
        print(f"\ngarbage: {len(bursts)} noise bursts, {noise_bytes} bytes (lengths "
              f"{min(length for length, _ in bursts)}-{max(length for length, _ in bursts)}); "
              f"noise to-esp {wire['to-esp.noise']} to-host {wire['to-host.noise']}; "
              f"duplicates at the broker {up_duplicates}, at the local subscriber {down_duplicates}; "
              f"daemon: {link['crcErrors']} CRC, {link['framingErrors']} framing, {link['oversizeFrames']} "
              f"oversize errors, {link['retransmissions']} retransmissions, {link['rejects']} REJs, "
              f"{link['resets']} resets; firmware: {reports[-1] if reports else 'no errors reported'}")
        assert len(bursts) >= 30 and max(length for length, _ in bursts) >= 1000
        for client in (local, local_publisher, upstream):
            client.close()
