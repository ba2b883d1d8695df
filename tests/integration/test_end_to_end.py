"""Messages cross every real part both ways: local client ↔ mqttbridged ↔ pseudo-terminal wire ↔
firmware under MicroPython ↔ mosquitto."""

import subprocess
import time

from conftest import BIN, Collector, wait_until


def run(*argv, timeout=30):
    return subprocess.run(argv, capture_output=True, timeout=timeout, check=True)


def test_mosquitto_clients_both_ways(stack):
    upstream = Collector("up", port=stack.broker.port)
    upstream.subscribe("demo/#")
    run("mosquitto_pub", "--unix", stack.socket, "-t", "demo/x", "-m", "hello", "-q", "1")
    wait_until(lambda: upstream.payloads() == [b"hello"], 15, "hello at the broker subscriber")

    sub = subprocess.Popen(
        ["mosquitto_sub", "--unix", stack.socket, "-t", "demo/+", "-C", "1", "-v"], stdout=subprocess.PIPE)
    try:
        # The daemon subscribes upstream after the local SUBACK; publish until the message comes back.
        def arrived():
            run("mosquitto_pub", "-h", "127.0.0.1", "-p", str(stack.broker.port), "-t", "demo/y", "-m", "from-broker")
            try:
                return sub.wait(1) == 0
            except subprocess.TimeoutExpired:
                return False
        wait_until(arrived, 20, "a broker message at mosquitto_sub --unix")
        assert sub.stdout.read().decode().strip() == "demo/y from-broker"
    finally:
        sub.kill()
    upstream.close()


def test_paho_both_ways(stack):
    upstream = Collector("up", port=stack.broker.port)
    upstream.subscribe("paho/#")
    local = Collector("local-paho", path=stack.socket)
    local.subscribe("paho/down/+", qos=1)

    info = local.client.publish("paho/up/1", b"qos1 from paho", qos=1)
    info.wait_for_publish(15)
    assert info.is_published()
    local.client.publish("paho/up/0", b"qos0 from paho", qos=0)
    wait_until(lambda: sorted(upstream.payloads()) == [b"qos0 from paho", b"qos1 from paho"], 15,
               "both paho messages at the broker")

    upstream.client.publish("paho/down/a", b"to paho", qos=1)
    wait_until(lambda: local.messages, 15, "the broker message at the local paho client")
    topic, payload, qos, _ = local.messages[0]
    assert (topic, payload, qos) == ("paho/down/a", b"to paho", 1)
    local.close()
    upstream.close()


def test_cli_both_ways(stack):
    upstream = Collector("up", port=stack.broker.port)
    upstream.subscribe("cli/#")
    run(str(BIN / "mqttbridge"), "pub", "--socket", stack.socket, "-t", "cli/up", "-m", "from cli", "-q", "1")
    wait_until(lambda: upstream.payloads() == [b"from cli"], 15, "the CLI's message at the broker")

    sub = subprocess.Popen(
        [str(BIN / "mqttbridge"), "sub", "--socket", stack.socket, "-t", "cli/down/#", "-C", "2", "-v"],
        stdout=subprocess.PIPE)
    # Wait until the daemon holds the subscription at the broker, then publish two messages.
    wait_until(lambda: stack.status()["traffic"]["brokerSubscriptions"] >= 1, 15, "the CLI's subscription")
    time.sleep(0.5)  # the ESP's SUBSCRIBE to the broker follows the local SUBACK
    upstream.client.publish("cli/down/a", b"one", qos=1)
    upstream.client.publish("cli/down/b/c", b"two", qos=0)
    out, _ = sub.communicate(timeout=20)
    assert out.decode().splitlines() == ["cli/down/a one", "cli/down/b/c two"]
    upstream.close()


def test_overlapping_filters_deliver_once_per_client(stack):
    a = Collector("a", path=stack.socket)
    b = Collector("b", path=stack.socket)
    a.subscribe("home/#")
    a.subscribe("home/+/temp")  # overlaps its own first filter
    b.subscribe("home/kitchen/temp")
    upstream = Collector("up", port=stack.broker.port)
    time.sleep(0.5)
    for topic, payload in [("home/kitchen/temp", b"21"), ("home/hall/light", b"on"), ("office/temp", b"19")]:
        upstream.client.publish(topic, payload, qos=1)
    wait_until(lambda: len(a.messages) >= 2 and len(b.messages) >= 1, 15, "routed messages")
    time.sleep(1)  # anything extra would have arrived by now
    assert sorted(a.payloads()) == [b"21", b"on"]
    assert b.payloads() == [b"21"]

    a.client.unsubscribe("home/#")
    a.client.unsubscribe("home/+/temp")
    time.sleep(0.5)
    upstream.client.publish("home/kitchen/temp", b"22", qos=1)
    wait_until(lambda: len(b.messages) == 2, 15, "the second message at b")
    time.sleep(1)
    assert b.payloads() == [b"21", b"22"]
    assert sorted(a.payloads()) == [b"21", b"on"], "a unsubscribed and must receive nothing more"
    for c in (a, b, upstream):
        c.close()
