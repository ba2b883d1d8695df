"""Local MQTT semantics across both hops: retained messages, wills of local clients, the daemon's
own birth and will, persistent local sessions and qos 2 from local clients. Every test drives real
clients (paho-mqtt, mosquitto_pub/mosquitto_sub) against the daemon's Unix socket and a real
subscriber or publisher at the real broker."""

import socket
import struct
import subprocess
import sys
import textwrap

import paho.mqtt.client as mqtt
import paho.mqtt.publish as broker_publish

from conftest import Collector, Stack, esp_sim_command, wait_until

STATUS_TOPIC = "mqttbridge/mqttbridge-test/status"


def at_broker(stack, topic, payload, qos=1, retain=False):
    """Publishes straight at the broker, as another client of it would."""
    broker_publish.single(topic, payload, qos=qos, retain=retain, hostname="127.0.0.1", port=stack.broker.port)


def flush(collector, topic="flush/never"):
    """A SUBSCRIBE round trip: whatever the server sent the collector before its SUBACK has arrived."""
    collector.subscribe(topic)


# MARK: - Retained messages


def test_retained_publishes_reach_the_broker_retained_and_an_empty_one_clears(stack):
    local = Collector("ret-pub", path=stack.socket)
    local.client.publish("ret/a", b"first", qos=1, retain=True).wait_for_publish(15)
    subprocess.run(["mosquitto_pub", "--unix", stack.socket, "-t", "ret/b", "-m", "kept", "-r", "-q", "1"],
                   check=True, timeout=30)

    late = Collector("ret-late-1", port=stack.broker.port)
    late.subscribe("ret/#")
    wait_until(lambda: len(late.messages) == 2, 15, "both retained messages at a new broker subscriber")
    assert sorted(late.messages) == [("ret/a", b"first", 1, True), ("ret/b", b"kept", 1, True)]

    local.client.publish("ret/a", b"", qos=1, retain=True).wait_for_publish(15)
    cleared = Collector("ret-late-2", port=stack.broker.port)
    cleared.subscribe("ret/#")
    wait_until(lambda: cleared.messages, 15, "the remaining retained message")
    flush(cleared)
    assert cleared.messages == [("ret/b", b"kept", 1, True)], "ret/a should have been cleared"
    for c in (local, late, cleared):
        c.close()


def test_a_local_subscriber_gets_retained_messages_also_when_the_bridge_holds_the_filter(stack):
    at_broker(stack, "held/x", b"r1", retain=True)
    first = Collector("held-first", path=stack.socket)
    first.subscribe("held/#", qos=1)
    wait_until(lambda: first.messages, 15, "the retained message at the first local subscriber")
    assert first.messages == [("held/x", b"r1", 1, True)]

    # Live while subscribed: retain 0 (MQTT 3.1.1 §3.3.1.3), even though it is retained at the broker.
    at_broker(stack, "held/y", b"r2", retain=True)
    wait_until(lambda: len(first.messages) == 2, 15, "the live message at the first subscriber")
    assert first.messages[1] == ("held/y", b"r2", 1, False)

    # The ESP already holds held/# at the broker: the second subscriber still gets every retained one.
    second = Collector("held-second", path=stack.socket)
    second.subscribe("held/#", qos=1)
    wait_until(lambda: len(second.messages) == 2, 15, "both retained messages at the second subscriber")
    assert sorted(second.messages) == [("held/x", b"r1", 1, True), ("held/y", b"r2", 1, True)]

    # Another filter over the same topics, with mosquitto_sub: retained messages only.
    out = subprocess.run(["mosquitto_sub", "--unix", stack.socket, "-t", "held/+", "--retained-only", "-C", "2",
                          "-W", "20", "-v"], capture_output=True, timeout=30, check=True)
    assert sorted(out.stdout.decode().split("\n")[:2]) == ["held/x r1", "held/y r2"]

    # The first subscriber had them already: no copies for it, only the next live message.
    at_broker(stack, "held/z", b"live")
    wait_until(lambda: len(first.messages) == 3, 15, "the next live message at the first subscriber")
    assert first.messages[2] == ("held/z", b"live", 1, False), first.messages
    # Each client reads on its own thread: the second may see it a moment after the first.
    wait_until(lambda: len(second.messages) == 3, 15, "the next live message at the second subscriber")
    assert second.messages[2] == ("held/z", b"live", 1, False), second.messages
    first.close()
    second.close()


def test_while_the_broker_is_unreachable_a_new_subscriber_gets_the_cached_retained_messages(controlled_stack):
    stack = controlled_stack
    at_broker(stack, "cache/x", b"known")
    at_broker(stack, "cache/x", b"known", retain=True)
    first = Collector("cache-first", path=stack.socket)
    first.subscribe("cache/#")
    wait_until(lambda: first.messages, 15, "the retained message at the first subscriber")
    wait_until(lambda: (s := stack.status()) and s["traffic"]["retainedCached"] >= 1, 15, "the retained cache")

    esp_sim_command(stack.control, "wifi down")
    wait_until(lambda: (s := stack.status()) and s["broker"]["state"] != "connected", 30, "the broker to be gone")
    offline = Collector("cache-offline", path=stack.socket)
    offline.subscribe("cache/#")
    wait_until(lambda: offline.messages, 15, "the cached retained message")
    assert offline.messages == [("cache/x", b"known", 1, True)]
    first.close()
    offline.close()


# MARK: - Wills of local clients

CLIENT_WITH_WILL = textwrap.dedent("""
    import sys, time
    import paho.mqtt.client as mqtt
    path, client_id, topic, clean_exit = sys.argv[1:5]
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, transport="unix")
    c.will_set(topic, b"gone " + client_id.encode(), qos=1, retain=False)
    c.connect(path, keepalive=30)
    c.loop_start()
    while not c.is_connected():
        time.sleep(0.05)
    print("connected", flush=True)
    if clean_exit == "1":
        c.disconnect()
        c.loop_stop()
    else:
        time.sleep(600)
""")


def run_client_with_will(stack, client_id, topic, clean_exit):
    process = subprocess.Popen([sys.executable, "-c", CLIENT_WITH_WILL, stack.socket, client_id, topic,
                                "1" if clean_exit else "0"], stdout=subprocess.PIPE)
    assert process.stdout.readline().strip() == b"connected"
    return process


def test_the_will_of_a_killed_local_client_is_published_and_a_clean_disconnect_publishes_none(stack):
    upstream = Collector("will-watch", port=stack.broker.port)
    upstream.subscribe("will/#")

    clean = run_client_with_will(stack, "will-clean", "will/clean", clean_exit=True)
    assert clean.wait(30) == 0
    killed = run_client_with_will(stack, "will-killed", "will/killed", clean_exit=False)
    killed.kill()
    killed.wait(30)
    wait_until(lambda: upstream.messages, 20, "the killed client's will at the broker")
    # The clean one left first: had it sent a will, it would be here before the killed one's.
    at_broker(stack, "will/marker", b"end")
    wait_until(lambda: len(upstream.messages) >= 2, 15, "the marker")
    assert upstream.messages == [("will/killed", b"gone will-killed", 1, False), ("will/marker", b"end", 1, False)]
    assert "publishing its will to 'will/killed'" in stack.daemon.log()
    upstream.close()


# MARK: - The daemon's birth and will


def retained_status(stack, client_id):
    """What a new broker subscriber to the status topic gets: its retained message."""
    late = Collector(client_id, port=stack.broker.port)
    late.subscribe(STATUS_TOPIC)
    wait_until(lambda: late.messages, 15, "the retained status")
    late.close()
    return late.messages


def test_birth_online_and_the_esp_connection_will_offline_are_retained_at_the_broker(controlled_stack):
    stack = controlled_stack
    watcher = Collector("status-watch", port=stack.broker.port)
    watcher.subscribe(STATUS_TOPIC)
    wait_until(lambda: watcher.messages, 15, "the birth")
    assert watcher.messages == [(STATUS_TOPIC, b"online", 1, True)]

    esp_sim_command(stack.control, "wifi down")
    wait_until(lambda: len(watcher.messages) >= 2, 30, "the ESP's will at the broker")
    assert watcher.messages[1] == (STATUS_TOPIC, b"offline", 1, False)
    assert retained_status(stack, "status-late") == [(STATUS_TOPIC, b"offline", 1, True)]

    esp_sim_command(stack.control, "wifi up")
    wait_until(lambda: len(watcher.messages) >= 3, 60, "the birth again")
    assert watcher.messages[2] == (STATUS_TOPIC, b"online", 1, False)
    watcher.close()


def test_a_stopping_daemon_says_offline_although_the_esp_stays_connected(stack):
    watcher = Collector("farewell-watch", port=stack.broker.port)
    watcher.subscribe(STATUS_TOPIC)
    wait_until(lambda: watcher.messages, 15, "the birth")
    assert stack.daemon.stop() == 0
    wait_until(lambda: len(watcher.messages) >= 2, 15, "the farewell at the broker")
    assert watcher.messages[1] == (STATUS_TOPIC, b"offline", 1, False)
    assert "publishing 'offline' (retained)" in stack.daemon.log_path.read_text()
    assert retained_status(stack, "farewell-late") == [(STATUS_TOPIC, b"offline", 1, True)]
    watcher.close()


def test_no_birth_publishes_no_status(tmp_path, broker):
    with Stack(tmp_path, broker, daemon_args=["--no-birth"]) as stack:
        stack.wait_for_broker()
        watcher = Collector("no-birth-watch", port=broker.port)
        watcher.subscribe("mqttbridge/#")
        watcher.subscribe("nb/#")
        local = Collector("no-birth-local", path=stack.socket)
        local.client.publish("nb/marker", b"after", qos=1).wait_for_publish(15)
        wait_until(lambda: watcher.messages, 15, "the marker")
        assert watcher.messages == [("nb/marker", b"after", 1, False)]
        local.close()
        watcher.close()


# MARK: - Persistent local sessions


class Persistent:
    """A paho client with clean session 0 that records its messages and CONNACK's session present."""

    def __init__(self, stack, client_id, clean_session=False):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, transport="unix",
                                  clean_session=clean_session)
        self.messages = []
        self.session_present = None
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload, m.qos))
        self.client.on_connect = lambda c, u, flags, rc, p: setattr(self, "session_present", flags.session_present)
        self.client.connect(stack.socket, keepalive=30)
        self.client.loop_start()
        wait_until(lambda: self.session_present is not None, 15, f"CONNACK for {client_id}")

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def traffic(stack, key):
    s = stack.status()
    return s and s["traffic"][key]


def test_a_persistent_session_keeps_its_subscriptions_and_queues_qos1_messages_while_away(stack):
    first = Persistent(stack, "persist")
    assert first.session_present is False
    result, mid = first.client.subscribe("sess/#", qos=1)
    assert result == mqtt.MQTT_ERR_SUCCESS
    stack.wait_for_broker_subscriptions(1)
    first.close()
    wait_until(lambda: traffic(stack, "storedSessions") == 1, 15, "the stored session")
    assert traffic(stack, "brokerSubscriptions") == 1, "the broker subscription stays while the client is away"

    # The qos 0 one goes first: the broker forwards in order, so once the three qos 1 messages are
    # queued it has passed the daemon too (sent last, it could arrive after the client is back).
    at_broker(stack, "sess/q0", b"not queued", qos=0)
    for n in range(3):
        at_broker(stack, f"sess/{n}", f"queued {n}".encode(), qos=1)
    wait_until(lambda: traffic(stack, "queuedForSessions") == 3, 15, "three queued messages")

    back = Persistent(stack, "persist")
    assert back.session_present is True
    wait_until(lambda: len(back.messages) == 3, 15, "the queued messages")
    assert back.messages == [(f"sess/{n}", f"queued {n}".encode(), 1) for n in range(3)]
    # Its subscription is still there without subscribing again.
    at_broker(stack, "sess/live", b"live", qos=1)
    wait_until(lambda: len(back.messages) == 4, 15, "a live message")
    back.close()

    clean = Persistent(stack, "persist", clean_session=True)
    assert clean.session_present is False
    wait_until(lambda: traffic(stack, "brokerSubscriptions") == 0 and traffic(stack, "storedSessions") == 0, 15,
               "the discarded session and its broker subscription gone")
    clean.close()


def test_a_full_session_queue_drops_the_oldest_and_counts_them(tmp_path, broker):
    with Stack(tmp_path, broker, daemon_args=["--session-queue", "2"]) as stack:
        stack.wait_for_broker()
        first = Persistent(stack, "small")
        first.client.subscribe("small/#", qos=1)
        stack.wait_for_broker_subscriptions(1)
        first.close()
        wait_until(lambda: traffic(stack, "storedSessions") == 1, 15, "the stored session")
        for n in range(5):
            at_broker(stack, f"small/{n}", str(n).encode(), qos=1)
        wait_until(lambda: traffic(stack, "droppedFromSessionQueues") == 3, 15, "three dropped messages")
        back = Persistent(stack, "small")
        assert back.session_present is True
        wait_until(lambda: len(back.messages) == 2, 15, "the two newest messages")
        assert [payload for _, payload, _ in back.messages] == [b"3", b"4"]
        assert "(--session-queue); dropping the oldest" in stack.daemon.log()
        back.close()


# MARK: - qos 2


def test_qos2_publishes_from_paho_and_mosquitto_pub_reach_the_broker(stack):
    upstream = Collector("q2-watch", port=stack.broker.port)
    upstream.subscribe("q2/#", qos=2)
    local = Collector("q2-paho", path=stack.socket)
    info = local.client.publish("q2/paho", b"exactly", qos=2)
    info.wait_for_publish(15)
    assert info.is_published()
    subprocess.run(["mosquitto_pub", "--unix", stack.socket, "-t", "q2/cli", "-m", "twice?", "-q", "2"],
                   check=True, timeout=30)
    wait_until(lambda: len(upstream.messages) == 2, 15, "both qos 2 messages at the broker")
    assert sorted(m[:2] for m in upstream.messages) == [("q2/cli", b"twice?"), ("q2/paho", b"exactly")]
    local.close()
    upstream.close()


def mqtt_packet(kind, flags, body):
    length, encoded = len(body), b""
    while True:
        byte, length = length % 128, length // 128
        encoded += bytes([byte | (0x80 if length else 0)])
        if not length:
            return bytes([kind << 4 | flags]) + encoded + body


def mqtt_string(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def read_packet(sock):
    header = sock.recv(1)
    assert header, "the daemon closed the connection"
    length, shift = 0, 0
    while True:
        byte = sock.recv(1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return header[0] >> 4, body


def test_a_qos2_publish_repeated_before_pubrel_is_forwarded_once(stack):
    upstream = Collector("dup-watch", port=stack.broker.port)
    upstream.subscribe("dup/#")
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(stack.socket)
        s.sendall(mqtt_packet(1, 0, mqtt_string("MQTT") + bytes([4, 2]) + struct.pack(">H", 30)
                              + mqtt_string("dup-raw")))
        assert read_packet(s) == (2, b"\x00\x00")
        publish = mqtt_string("dup/once") + struct.pack(">H", 7) + b"one message"
        s.sendall(mqtt_packet(3, 0x4, publish))
        s.sendall(mqtt_packet(3, 0x4 | 0x8, publish))  # DUP, same packet id, before PUBREC
        assert read_packet(s) == (5, struct.pack(">H", 7))  # PUBREC
        s.sendall(mqtt_packet(3, 0x4 | 0x8, publish))  # again after PUBREC: answered, not forwarded
        assert read_packet(s) == (5, struct.pack(">H", 7))
        s.sendall(mqtt_packet(6, 0x2, struct.pack(">H", 7)))  # PUBREL
        assert read_packet(s) == (7, struct.pack(">H", 7))  # PUBCOMP
        # A qos 1 marker: once the broker has it, any copy of the qos 2 message would be there too.
        s.sendall(mqtt_packet(3, 0x2, mqtt_string("dup/marker") + struct.pack(">H", 8) + b"end"))
        assert read_packet(s) == (4, struct.pack(">H", 8))
    wait_until(lambda: any(m[0] == "dup/marker" for m in upstream.messages), 15, "the marker")
    assert [m[:2] for m in upstream.messages] == [("dup/once", b"one message"), ("dup/marker", b"end")]
    upstream.close()


def test_a_local_qos2_subscriber_receives_at_the_lower_of_its_and_the_message_qos(stack):
    local = Collector("q2-sub", path=stack.socket)
    local.subscribe("lvl/#", qos=2)
    stack.wait_for_broker_subscriptions(1)
    for qos in (0, 1, 2):
        at_broker(stack, f"lvl/{qos}", b"x", qos=qos)
    wait_until(lambda: len(local.messages) == 3, 15, "three messages")
    assert sorted((topic, qos) for topic, _, qos, _ in local.messages) == [("lvl/0", 0), ("lvl/1", 1), ("lvl/2", 1)]
    local.close()


def raw_connect(stack, client_id, clean_session):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(stack.socket)
    s.sendall(mqtt_packet(1, 0, mqtt_string("MQTT") + bytes([4, 2 if clean_session else 0]) + struct.pack(">H", 30)
                          + mqtt_string(client_id)))
    kind, body = read_packet(s)
    assert kind == 2 and body[1] == 0, (kind, body)
    return s, body[0] == 1


def test_a_persistent_session_sends_unacknowledged_messages_again_with_dup_and_their_packet_ids(stack):
    s, present = raw_connect(stack, "unacked", clean_session=False)
    assert not present
    s.sendall(mqtt_packet(8, 0x2, struct.pack(">H", 1) + mqtt_string("unacked/#") + b"\x01"))
    assert read_packet(s)[0] == 9  # SUBACK
    stack.wait_for_broker_subscriptions(1)
    at_broker(stack, "unacked/x", b"ack me", qos=1)
    kind, body = read_packet(s)
    assert kind == 3
    packet_id = body[len(mqtt_string("unacked/x")):][:2]
    s.close()  # without PUBACK

    wait_until(lambda: traffic(stack, "storedSessions") == 1, 15, "the stored session")
    s, present = raw_connect(stack, "unacked", clean_session=False)
    assert present
    header = s.recv(1)[0]
    assert header >> 4 == 3 and header & 0x08, "a PUBLISH with DUP"
    s.recv(1)
    rest = s.recv(len(mqtt_string("unacked/x")) + 2 + len(b"ack me"))
    assert rest == mqtt_string("unacked/x") + packet_id + b"ack me"
    s.close()
