"""Local clients that misbehave, against the real parts: one that stops reading is disconnected
after --slow-client-timeout without holding up the others; one that floods is slowed by
back-pressure, and no one else's data is dropped."""

import socket
import struct
import threading

from conftest import Collector, Stack, esp_sim_command, wait_until
from test_spool import Publisher, broker_out_of_reach, numbers, spool_status


def mqtt_string(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def raw_subscriber(path, client_id, topic, clean_session=True, qos=0):
    """A client that connects and subscribes by hand, then does nothing more by itself."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    variable = mqtt_string("MQTT") + bytes([4, 2 if clean_session else 0]) + struct.pack(">H", 600)
    body = variable + mqtt_string(client_id)
    s.sendall(bytes([0x10, len(body)]) + body)
    assert s.recv(4) == b"\x20\x02\x00\x00", "CONNACK accepted"
    subscribe = struct.pack(">H", 1) + mqtt_string(topic) + bytes([qos])
    s.sendall(bytes([0x82, len(subscribe)]) + subscribe)
    assert s.recv(5)[:1] == b"\x90", "SUBACK"
    return s


def test_a_client_that_stops_reading_is_disconnected_and_does_not_hold_up_the_others(tmp_path, broker):
    with Stack(tmp_path, broker, daemon_args=["--slow-client-timeout", "2", "--max-baud", "921600"]) as stack:
        stack.wait_for_broker()
        stuck = raw_subscriber(stack.socket, "stuck", "flood/#")
        reader = Collector("reader", path=stack.socket)
        reader.subscribe("flood/#", qos=0)
        stack.wait_for_broker_subscriptions(1)

        # 2 MB from the broker: more than the stuck client's socket buffers and the daemon's 1 MiB
        # high water mark take.
        sender = Collector("sender", port=broker.port)
        for n in range(200):
            sender.client.publish("flood/x", str(n).encode().ljust(10_000, b"."), qos=1)
        wait_until(lambda: len(reader.messages) == 200, 90, "every message at the client that reads")
        assert numbers(reader) == list(range(200))
        wait_until(lambda: stack.status()["traffic"]["slowClientsDisconnected"] == 1, 30,
                   "the stuck client disconnected")
        assert "'stuck' has not read what it was sent" in stack.daemon.log()
        # Its connection is closed: what the kernel still held, then the end.
        stuck.settimeout(10)
        while stuck.recv(1 << 16):
            pass
        wait_until(lambda: "local client 'stuck' gone" in stack.daemon.log(), 10, "the stuck client's session ended")
        sender.close()
        reader.close()


def test_a_flooding_publisher_is_slowed_and_a_subscriber_keeps_getting_its_messages(tmp_path, broker):
    with Stack(tmp_path, broker, controlled=True, daemon_args=["--spool-size", "1M"]) as stack:
        stack.wait_for_broker()
        watcher = Collector("watcher", path=stack.socket)
        watcher.subscribe("news/#", qos=1)
        stack.wait_for_broker_subscriptions(1)
        broker_out_of_reach(stack)
        flooder = Publisher(stack, "flooder")
        for n in range(600):  # 600 × 4 KiB into a 1 MiB spool while the broker is out of reach
            flooder.publish(n, topic="flood/in", size=4096)
        wait_until(lambda: (s := spool_status(stack)) and s["full"], 30, "a full spool")
        assert len(flooder.acknowledged()) < 600, "the flooder waits"

        esp_sim_command(stack.control, "wifi up")
        wait_until(lambda: (s := stack.status()) and s["broker"]["state"] == "connected", 60, "the broker again")
        # The subscriber, which publishes nothing, is not paused: it gets broker messages meanwhile.
        sender = Collector("news-sender", port=broker.port)
        for n in range(20):
            sender.client.publish("news/today", str(n).encode(), qos=1)
        wait_until(lambda: len(watcher.messages) == 20, 60, "the news at the subscriber")
        assert numbers(watcher) == list(range(20))
        wait_until(lambda: len(flooder.acknowledged()) == 600, 120, "every flooded message accepted in the end")
        assert spool_status(stack)["dropped"] == 0
        flooder.close()
        sender.close()
        watcher.close()


def test_a_persistent_client_that_never_acknowledges_is_disconnected_and_keeps_its_messages(tmp_path, broker):
    with Stack(tmp_path, broker) as stack:
        stack.wait_for_broker()
        silent = raw_subscriber(stack.socket, "no-acks", "acks/#", clean_session=False, qos=1)
        stack.wait_for_broker_subscriptions(1)
        received = []

        def read_until_closed():
            while data := silent.recv(1 << 16):  # reads everything, acknowledges nothing
                received.append(len(data))

        reader = threading.Thread(target=read_until_closed)
        reader.start()
        sender = Collector("acks-sender", port=broker.port)
        for n in range(1100):
            sender.client.publish("acks/x", str(n).encode(), qos=1)
        reader.join(90)
        assert not reader.is_alive(), "the daemon closed the connection"
        assert "'no-acks' has 1001 qos 1 messages unacknowledged; disconnecting it" in stack.daemon.log()
        wait_until(lambda: (t := stack.status()["traffic"]) and t["unacknowledgingClientsDisconnected"] == 1
                   and t["slowClientsDisconnected"] == 0, 10, "counted as a client that does not acknowledge")

        # Back with clean session 0: the unacknowledged ones again, then what came meanwhile.
        back = Collector("no-acks", path=stack.socket, clean_session=False)
        wait_until(lambda: len(set(numbers(back))) == 1100, 90, "every message after the return")
        sender.close()
        back.close()
