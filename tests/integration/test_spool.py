"""The durable spool (--spool), against the real parts: a publish the daemon acknowledged reaches
the broker whatever happens in between — an outage, SIGKILL of the daemon, a full spool — and a
full spool does what --spool-full says."""

import os
import signal
import subprocess
import threading
import time
from contextlib import contextmanager

import paho.mqtt.client as mqtt

from conftest import BIN, Collector, Stack, esp_sim_command, wait_until


class Publisher:
    """A paho client on the local socket that publishes numbered qos 1 messages and knows which
    ones the daemon acknowledged."""

    def __init__(self, stack, client_id="spool-pub"):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, transport="unix")
        self.client.max_inflight_messages_set(100)
        self.sent = []  # (number, MQTTMessageInfo)
        self.client.connect(stack.socket, keepalive=60)
        self.client.loop_start()

    def publish(self, number, topic="spool/n", size=0):
        payload = str(number).encode().ljust(size, b".")
        self.sent.append((number, self.client.publish(topic, payload, qos=1)))

    def acknowledged(self):
        return [number for number, info in self.sent if info.is_published()]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def numbers(collector):
    return [int(payload.split(b".")[0]) for payload in collector.payloads()]


def spool_status(stack):
    s = stack.status()
    return s and s["spool"]


def broker_out_of_reach(stack):
    esp_sim_command(stack.control, "wifi down")
    wait_until(lambda: (s := stack.status()) and s["broker"]["state"] != "connected", 30, "the broker connection to drop")


def restart_daemon(stack, sig, *args):
    stack.daemon.stop(sig)
    if os.path.exists(stack.socket):
        os.unlink(stack.socket)  # SIGKILL leaves it behind; the new daemon replaces it anyway
    stack.daemon = stack.start_daemon(*args)


@contextmanager
def spool_bridge(tmp_path, broker, *daemon_args):
    """A bridge with a controlled esp-sim that has reached the broker, and a subscriber at the
    broker to spool/#."""
    with Stack(tmp_path, broker, controlled=True, daemon_args=list(daemon_args)) as stack:
        stack.wait_for_broker()
        subscriber = Collector("spool-sub", port=broker.port)
        subscriber.subscribe("spool/#")
        try:
            yield stack, subscriber
        finally:
            subscriber.close()


def test_publishes_accepted_during_an_outage_survive_sigkill_and_reach_the_broker_in_order(tmp_path, broker):
    with spool_bridge(tmp_path, broker) as (stack, subscriber):
        broker_out_of_reach(stack)

        publisher = Publisher(stack)
        for n in range(300):
            publisher.publish(n)
        # Acknowledged while the broker is out of reach: they are on disk.
        wait_until(lambda: len(publisher.acknowledged()) == 300, 30, "300 acknowledgements from the spool")
        spool = spool_status(stack)
        assert spool["messages"] == 300 and spool["enabled"], spool
        assert spool["commits"] < 300, "group commit: fewer transactions than messages"
        publisher.close()

        restart_daemon(stack, signal.SIGKILL)
        wait_until(lambda: (s := spool_status(stack)) and s["messages"] == 300, 15, "the spool read back")
        esp_sim_command(stack.control, "wifi up")
        wait_until(lambda: len(subscriber.messages) >= 300, 60, "the spooled messages at the broker")
        time.sleep(0.5)  # anything more (a duplicate) would arrive now
        assert numbers(subscriber) == list(range(300)), "all of them, once each, in order"
        wait_until(lambda: spool_status(stack)["messages"] == 0, 15, "an empty spool")


def test_sigkill_in_the_middle_of_a_stream_loses_no_acknowledged_message(tmp_path, broker):
    with spool_bridge(tmp_path, broker) as (stack, subscriber):
        publisher = Publisher(stack)
        stop = threading.Event()

        def stream():
            n = 0
            while not stop.is_set() and n < 4000:
                publisher.publish(n, size=200)
                n += 1
                if n % 50 == 0:
                    time.sleep(0.01)

        thread = threading.Thread(target=stream)
        thread.start()
        # Killed while messages flow: some in flight to the broker, some only on disk, some unwritten.
        wait_until(lambda: len(publisher.acknowledged()) >= 600, 60, "600 acknowledged messages")
        stack.daemon.stop(signal.SIGKILL)
        stop.set()
        thread.join()
        acknowledged = set(publisher.acknowledged())
        publisher.client.loop_stop()
        delivered_before = len(subscriber.messages)

        restart_daemon(stack, signal.SIGKILL)
        wait_until(lambda: acknowledged <= set(numbers(subscriber)), 90,
                   "every acknowledged message at the broker")
        received = numbers(subscriber)
        duplicates = len(received) - len(set(received))
        print(f"\nSIGKILL mid-stream: {len(publisher.sent)} published, {len(acknowledged)} acknowledged, "
              f"{delivered_before} at the broker before the kill, {len(set(received))} after the restart "
              f"({duplicates} duplicates, {len(set(received) - acknowledged)} unacknowledged ones delivered too)")
        # Each publisher's order: the first arrival of every message comes in publishing order.
        firsts = list(dict.fromkeys(received))
        assert firsts == sorted(firsts), "in publishing order"


def test_a_full_spool_pushes_back_on_publishers_until_the_broker_takes_messages(tmp_path, broker):
    with spool_bridge(tmp_path, broker, "--spool-size", "1M") as (stack, subscriber):
        broker_out_of_reach(stack)
        publisher = Publisher(stack)
        for n in range(400):  # 400 × 4 KiB: more than 1 MiB
            publisher.publish(n, size=4096)
        wait_until(lambda: (s := spool_status(stack)) and s["full"], 30, "a full spool")
        time.sleep(1)
        acknowledged = len(publisher.acknowledged())
        spool = spool_status(stack)
        assert acknowledged < 400, "publishers wait while the spool is full"
        assert spool["bytes"] <= (1 << 20) + 100 * 4200, spool  # at most what was read before the pause
        assert stack.status()["traffic"]["readPauses"] >= 1
        assert spool["dropped"] == 0

        esp_sim_command(stack.control, "wifi up")
        wait_until(lambda: len(publisher.acknowledged()) == 400, 90, "every publish acknowledged once there is room")
        wait_until(lambda: len(subscriber.messages) >= 400, 90, "every message at the broker")
        assert numbers(subscriber) == list(range(400))
        publisher.close()


def test_a_full_spool_with_drop_oldest_keeps_the_newest_and_counts_the_dropped(tmp_path, broker):
    with spool_bridge(tmp_path, broker, "--spool-size", "1M", "--spool-full", "drop-oldest") as (stack, subscriber):
        broker_out_of_reach(stack)
        publisher = Publisher(stack)
        for n in range(400):
            publisher.publish(n, size=4096)
        wait_until(lambda: len(publisher.acknowledged()) == 400, 30, "every publish acknowledged")
        spool = spool_status(stack)
        assert spool["dropped"] > 0 and spool["bytes"] <= 1 << 20, spool
        kept = spool["messages"]
        assert kept + spool["dropped"] == 400

        esp_sim_command(stack.control, "wifi up")
        wait_until(lambda: len(subscriber.messages) >= kept, 90, "the kept messages at the broker")
        time.sleep(0.5)
        assert numbers(subscriber) == list(range(400 - kept, 400)), "the newest, in order"
        assert "dropping the oldest" in stack.daemon.log()
        publisher.close()


def daemon_refusal(stack, *args):
    """Runs mqttbridged with `args` and returns its exit code and what it printed."""
    out = subprocess.run(stack.daemon_argv(*args), capture_output=True, timeout=30)
    return out.returncode, out.stderr.decode() + out.stdout.decode()


def test_an_unusable_or_shared_spool_is_a_clear_error(tmp_path, broker):
    with Stack(tmp_path, broker) as stack:
        not_a_directory = tmp_path / "file"
        not_a_directory.write_text("x")
        code, output = daemon_refusal(stack, "--spool", str(not_a_directory), "--socket", str(tmp_path / "b.sock"))
        assert code != 0 and "it is not a directory" in output and "--spool DIR" in output, output

        code, output = daemon_refusal(stack, "--socket", str(tmp_path / "b.sock"))  # the running daemon's spool
        assert code != 0 and "in use by another process" in output, output

        code, output = daemon_refusal(stack, "--spool-size", "12")
        assert code != 0 and "--spool-size must be a size of at least 1M" in output, output
        code, output = daemon_refusal(stack, "--spool-full", "sometimes")
        assert code != 0 and "--spool-full must be back-pressure or drop-oldest" in output, output
        assert stack.daemon.popen.poll() is None, "the running daemon is unharmed"
