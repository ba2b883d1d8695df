"""The spool benchmark: the sustained rate at which the daemon makes local qos 1 publishes durable
(on disk, fsync'd, PUBACK sent), next to the message rate of a 921600-baud line.

The broker is out of reach (esp-sim's `wifi down`), as in an outage, so every message stays in the
spool and the rate is the spool's, not the line's. Several paho publishers on the local socket
publish 256-byte qos 1 messages as fast as their in-flight windows allow; the rate counts PUBACKs.

Run through `scripts/bench spool`, which builds in release mode and sets the paths.
"""

import argparse
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt

from bench import Bench, publisher
from harness import esp_sim_command, wait_until


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--wire-bytes", type=float, default=272.0,
                        help="bytes a 256-byte qos 1 message takes on the link, as `scripts/bench` measures it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mqttbridge-spool-bench-", dir="/var/tmp") as directory:
        bench = Bench(directory, 115200, control=True)
        try:
            esp_sim_command(bench.control, "wifi down")
            wait_until(lambda: (s := bench.status()) and s["broker"]["state"] != "connected", 30, "the outage")
            before = bench.status()["spool"]
            acknowledged = [0] * args.publishers
            stop = threading.Event()

            def publish(index):
                client = publisher(bench.socket)  # up to 1000 in flight; this loop keeps 500
                done = threading.Semaphore(0)
                client.on_publish = lambda c, u, mid, rc, p: done.release()
                body = b"x" * args.size
                in_flight = 0
                while not stop.is_set():
                    while in_flight < 500:
                        client.publish(f"spool/bench/{index}", body, qos=1)
                        in_flight += 1
                    if done.acquire(timeout=0.5):
                        in_flight -= 1
                        acknowledged[index] += 1
                client.disconnect()
                client.loop_stop()

            failures = []

            def run(index):
                try:
                    publish(index)
                except Exception as error:  # reported below: a dead publisher must not look like a slow spool
                    failures.append(error)
                    raise

            threads = [threading.Thread(target=run, args=(i,)) for i in range(args.publishers)]
            for thread in threads:
                thread.start()
            time.sleep(2)  # warm-up: connections, the first transactions
            start_count, start_time = sum(acknowledged), time.monotonic()
            start_spool = bench.status()["spool"]
            time.sleep(args.seconds)
            count, elapsed = sum(acknowledged) - start_count, time.monotonic() - start_time
            end_spool = bench.status()["spool"]
            stop.set()
            for thread in threads:
                thread.join()
        finally:
            bench.stop()
    if failures:
        sys.exit(f"a publisher failed: {failures[0]!r}")

    rate = count / elapsed
    commits = end_spool["commits"] - start_spool["commits"]
    stored = end_spool["committedMessages"] - start_spool["committedMessages"]
    line_rate = 921600 / 10 / args.wire_bytes
    print(f"spool: {args.publishers} publishers, {args.size}-byte qos 1 messages, broker out of reach, "
          f"{elapsed:.1f} s measured")
    print(f"  durable and acknowledged:     {rate:8.0f} messages/s ({rate * args.size / 1e6:.2f} MB/s of payload)")
    print(f"  transactions (one fsync each): {commits / elapsed:8.0f} /s, {stored / max(commits, 1):.1f} messages each")
    print(f"  921600-baud line:             {line_rate:8.0f} messages/s ({args.wire_bytes:.0f} wire bytes each)")
    print(f"  spool / line:                 {rate / line_rate:8.1f} ×")
    print(f"  spool at the end: {end_spool['messages']} messages, {end_spool['bytes']} bytes "
          f"(started with {before['messages']})", file=sys.stderr)


if __name__ == "__main__":
    main()
