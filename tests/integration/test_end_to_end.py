"""Messages cross every real part both ways: local client ↔ mqttbridged ↔ pseudo-terminal wire ↔
firmware under MicroPython ↔ mosquitto."""

import subprocess
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
        stack.wait_for_broker_subscriptions(1)
        run("mosquitto_pub", "-h", "127.0.0.1", "-p", str(stack.broker.port), "-t", "demo/y", "-m", "from-broker")
        out, _ = sub.communicate(timeout=15)
        assert out.decode().strip() == "demo/y from-broker"
    finally:
        sub.kill()
    upstream.close()


def test_paho_both_ways(stack):
    upstream = Collector("up", port=stack.broker.port)
    upstream.subscribe("paho/#")
    local = Collector("local-paho", path=stack.socket)
    local.subscribe("paho/down/+", qos=1)
    stack.wait_for_broker_subscriptions(1)

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
    stack.wait_for_broker_subscriptions(1)
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
    # Both also take a sentinel topic: a message published after the others arrives after them on
    # each client's connection, so once it is there nothing earlier is still on the way.
    a.subscribe("sentinel/#")
    b.subscribe("sentinel/#")
    upstream = Collector("up", port=stack.broker.port)
    stack.wait_for_broker_subscriptions(4)

    def publish_then_sentinel(messages, sentinel):
        for topic, payload in messages:
            upstream.client.publish(topic, payload, qos=1)
        upstream.client.publish("sentinel/x", sentinel, qos=1)
        wait_until(lambda: sentinel in a.payloads() and sentinel in b.payloads(), 15, f"sentinel {sentinel}")

    publish_then_sentinel([("home/kitchen/temp", b"21"), ("home/hall/light", b"on"), ("office/temp", b"19")], b"s1")
    assert a.payloads() == [b"21", b"on", b"s1"]
    assert b.payloads() == [b"21", b"s1"]

    a.client.unsubscribe("home/#")
    a.client.unsubscribe("home/+/temp")
    stack.wait_for_broker_subscriptions(2)
    publish_then_sentinel([("home/kitchen/temp", b"22")], b"s2")
    assert b.payloads() == [b"21", b"s1", b"22", b"s2"]
    assert a.payloads() == [b"21", b"on", b"s1", b"s2"], "a unsubscribed and must receive nothing more"
    for c in (a, b, upstream):
        c.close()
