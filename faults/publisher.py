"""One local publisher of the fault campaign (and of the soak): a process of its own, so that the
campaign can kill it for real while it has messages in flight.

It connects a paho client to the daemon's socket and publishes numbered qos 1 messages on
TOPIC/ID (--topic, default faults), paced at --rate per second with at most --window
unacknowledged. It tells its parent what happens on stdout, one line per event, with the
CLOCK_MONOTONIC time (shared by every process on the host):

    c T          connected (CONNACK)
    s SEQ T      about to publish message SEQ
    a SEQ T      the daemon acknowledged SEQ (PUBACK)
    d N T        the connection is gone, N messages were unacknowledged (they may or may not arrive)
    n SENT ACKED T   (with --summary, instead of s and a lines: totals once a second)

When the connection is lost (the daemon killed, say) it does not send the unacknowledged messages
again: it connects a new client with the same client id and goes on with the next number. What
it reads on stdin steers it: `b K` lets it publish up to (not including) message K, `e` means
that budget is the last: it exits once everything up to it is sent and acknowledged (or lost
with a connection). It exits too when stdin closes: its parent is gone.

It runs its own paho loop in this one thread (client.loop), so nothing needs a lock and paho
never reconnects behind its back.
"""

import argparse
import collections
import os
import sys
import time

import paho.mqtt.client as mqtt


class Steering:
    """The budget and end signal from stdin, read without blocking."""

    def __init__(self, budget):
        self.budget = budget
        self.final = False
        self.closed = False
        self.pending = b""
        os.set_blocking(sys.stdin.fileno(), False)

    def poll(self):
        try:
            chunk = os.read(sys.stdin.fileno(), 4096)
        except BlockingIOError:
            return
        if not chunk:
            self.closed = True
            return
        self.pending += chunk
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            words = line.split()
            if words[:1] == [b"b"]:
                self.budget = int(words[1])
            elif words == [b"e"]:
                self.final = True


def say(*words):
    sys.stdout.write(" ".join(map(str, words)) + f" {time.monotonic():.6f}\n")
    sys.stdout.flush()


def payload(publisher, sequence, size):
    head = f"{publisher}:{sequence}:".encode()
    return head + b"x" * max(0, size - len(head))


def close(client):
    sock = client.socket()
    if sock:
        sock.close()


def connect(args, steering):
    """A connected client, or None when the parent is gone. Retries while the daemon is away."""
    while True:
        steering.poll()
        if steering.closed:
            return None
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"faults-pub-{args.id}",
                             transport="unix")
        client.max_inflight_messages_set(0)  # the window is ours (--window)
        client.max_queued_messages_set(0)
        acknowledged = []
        client.on_connect = lambda c, u, flags, reason, props: acknowledged.append(not reason.is_failure)
        try:
            client.connect(args.socket, keepalive=30)
            deadline = time.monotonic() + 10
            while not acknowledged and time.monotonic() < deadline:
                if client.loop(0.05) != mqtt.MQTT_ERR_SUCCESS:
                    break
            if acknowledged and acknowledged[0]:
                return client
        except OSError:
            pass  # the daemon is away (killed, restarting): try again shortly
        close(client)
        time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--start", type=int, default=0, help="the first message number")
    parser.add_argument("--budget", type=int, default=0, help="publish up to this number until told more")
    parser.add_argument("--rate", type=float, default=10, help="messages per second; 0: as fast as the window allows")
    parser.add_argument("--window", type=int, default=20, help="unacknowledged messages at most")
    parser.add_argument("--size", type=int, default=48, help="payload bytes")
    parser.add_argument("--topic", default="faults", help="the topic's first level")
    parser.add_argument("--summary", action="store_true", help="totals once a second instead of a line a message")
    args = parser.parse_args()

    steering = Steering(args.budget)
    topic = f"{args.topic}/{args.id}"
    sequence = args.start
    sent = acked = 0
    next_summary = time.monotonic() + 1
    while True:
        client = connect(args, steering)
        if client is None:
            return
        say("c")
        in_flight = collections.deque()  # (sequence, MQTTMessageInfo), in publishing order
        next_slot = time.monotonic()
        while True:
            steering.poll()
            if steering.closed:
                return
            now = time.monotonic()
            if sequence < steering.budget and len(in_flight) < args.window and (args.rate == 0 or now >= next_slot):
                if not args.summary:
                    say("s", sequence)
                in_flight.append((sequence, client.publish(topic, payload(args.id, sequence, args.size), qos=1)))
                sequence += 1
                sent += 1
                # After a stall (daemon away, window full) catch up by at most a second's worth.
                next_slot = max(next_slot + (1 / args.rate if args.rate else 0), now - 1)
                timeout = 0
            else:
                timeout = 0.005
            result = client.loop(timeout)
            # The daemon acknowledges in publishing order (the spool commits in order); one
            # acknowledged out of order would only be reported late, never wrongly.
            while in_flight and in_flight[0][1].is_published():
                acked += 1
                number, _ = in_flight.popleft()
                if not args.summary:
                    say("a", number)
            if result != mqtt.MQTT_ERR_SUCCESS:
                break
            if args.summary and now >= next_summary:
                say("n", sent, acked)
                next_summary = now + 1
            if steering.final and sequence >= steering.budget and not in_flight:
                client.disconnect()
                if args.summary:
                    say("n", sent, acked)
                return
        say("d", len(in_flight))
        close(client)
        if steering.final and sequence >= steering.budget:
            return


if __name__ == "__main__":
    main()
