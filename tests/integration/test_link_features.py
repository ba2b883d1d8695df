"""Version 2 of the link between the daemon and the real firmware: messages larger than a frame
in fragments (§8.6), topic ids (§8.7) and the line-rate switch (§8.8) with its fallback."""

import random

import pytest
from conftest import Collector, Stack, esp_sim_command, wait_until

SMALL, LARGE = 4096, 100 * 1024


def payload(size, seed):
    """Random bytes with every value (zeros included, as COBS must handle), reproducible."""
    return random.Random(seed).randbytes(size)


def wire_stats(path):
    return dict(kv.split("=", 1) for kv in esp_sim_command(path, "stats").split())


@pytest.fixture
def paced_stack(tmp_path, broker, request):
    """A stack on a wire paced at 115200 baud with a control socket; `request.param` holds extra
    (daemon_args, sim_args)."""
    daemon_args, sim_args = request.param
    with Stack(tmp_path, broker, daemon_args=daemon_args, sim_args=("--baud", "115200", *sim_args),
               controlled=True) as s:
        s.wait_for_broker(timeout=45)
        yield s


def exchange(stack, sizes, prefix):
    """Sends one message of each size each way and checks that every byte arrived."""
    upstream = Collector(f"{prefix}-up", port=stack.broker.port)
    upstream.subscribe(f"{prefix}/up/#")
    local = Collector(f"{prefix}-local", path=stack.socket)
    local.subscribe(f"{prefix}/down/#", qos=1)
    stack.wait_for_broker_subscriptions(1)

    sent_up = {f"{prefix}/up/{size}": payload(size, size) for size in sizes}
    for topic, data in sent_up.items():
        local.client.publish(topic, data, qos=1).wait_for_publish(60)
    wait_until(lambda: len(upstream.messages) == len(sent_up), 60, "the large messages at the broker")
    assert {topic: data for topic, data, _, _ in upstream.messages} == sent_up

    sent_down = {f"{prefix}/down/{size}": payload(size, size + 1) for size in sizes}
    for topic, data in sent_down.items():
        upstream.client.publish(topic, data, qos=1).wait_for_publish(60)
    wait_until(lambda: len(local.messages) == len(sent_down), 60, "the large messages at the local client")
    assert {topic: data for topic, data, _, _ in local.messages} == sent_down
    local.close()
    upstream.close()


def test_large_messages_cross_both_ways_byte_exact(stack):
    exchange(stack, (SMALL, LARGE), "big")
    status = stack.status()
    # 100 KiB cannot cross in frames of 512 bytes any other way.
    assert status["link"]["fragmentsOut"] > LARGE // 512
    assert status["link"]["fragmentsIn"] > LARGE // 512
    assert status["traffic"]["droppedFromBroker"] == 0


def test_message_over_the_limit_is_refused_not_half_delivered(tmp_path, broker):
    with Stack(tmp_path, broker, daemon_args=("--max-message-size", "8192")) as stack:
        stack.wait_for_broker()
        upstream = Collector("limit-up", port=stack.broker.port)
        upstream.subscribe("limit/up/#")
        local = Collector("limit-local", path=stack.socket)
        local.subscribe("limit/down/#", qos=1)
        stack.wait_for_broker_subscriptions(1)

        upstream.client.publish("limit/down/big", payload(SMALL * 4, 1), qos=1).wait_for_publish(30)
        upstream.client.publish("limit/down/ok", payload(SMALL, 2), qos=1).wait_for_publish(30)
        wait_until(lambda: local.messages, 30, "the message within the limit")
        wait_until(lambda: stack.status()["traffic"]["droppedFromBroker"] == 1, 10, "the refusal counted")
        assert [(t, p) for t, p, _, _ in local.messages] == [("limit/down/ok", payload(SMALL, 2))]
        assert "16384-byte message on 'limit/down/big' is larger than the largest accepted, 8192 bytes" in \
            stack.daemon.log()

        # The other way the local publish is refused before it reaches the link.
        local.client.publish("limit/up/big", payload(SMALL * 4, 3), qos=1).wait_for_publish(30)
        local.client.publish("limit/up/ok", b"small", qos=1).wait_for_publish(30)
        wait_until(lambda: upstream.messages, 30, "the small message at the broker")
        assert [(t, p) for t, p, _, _ in upstream.messages] == [("limit/up/ok", b"small")]
        assert "16384-byte message to 'limit/up/big' is larger than the largest the bridge carries" in \
            stack.daemon.log()
        local.close()
        upstream.close()


def publish_all(local, topics_and_payloads):
    for topic, data in topics_and_payloads:
        local.client.publish(topic, data, qos=1).wait_for_publish(30)


@pytest.mark.parametrize("paced_stack", [((), ())], indirect=True)
def test_topic_ids_make_repeated_messages_smaller(paced_stack):
    stack = paced_stack
    upstream = Collector("ids-up", port=stack.broker.port)
    upstream.subscribe("ids/#")
    local = Collector("ids-local", path=stack.socket)
    count = 20
    # 40 bytes: the longest topic the firmware registers.
    long_name = "ids/living-room/temperature/celsius/aaaa"
    assert len(long_name) == 40

    def bytes_to_esp(messages):
        # Counted once the broker has them all: the spool acknowledges before the ESP has them.
        expected = len(upstream.messages) + len(messages)
        before = int(wire_stats(stack.control)["to-esp.delivered"])
        publish_all(local, messages)
        wait_until(lambda: len(upstream.messages) == expected, 20, "the messages at the broker")
        return int(wire_stats(stack.control)["to-esp.delivered"]) - before

    # Every topic once: nothing is worth an id. Same lengths as the repeated topic below.
    once = [(long_name[:-3] + f"{i:03d}", b"x" * 20) for i in range(count)]
    by_name = bytes_to_esp(once)
    repeated = [(long_name, b"x" * 20) for _ in range(count)]
    with_ids = bytes_to_esp(repeated)
    wait_until(lambda: len(upstream.messages) == 2 * count, 20, "every message at the broker")
    assert [(t, p) for t, p, _, _ in upstream.messages] == once + repeated

    status = stack.status()
    assert status["link"]["topicRegistrations"] == 1
    assert status["link"]["topicIDs"] == 1
    assert f"topic id 1 registered for '{long_name}'" in stack.daemon.log()
    print(f"bytes to the ESP for {count} messages: by name {by_name}, with a topic id {with_ids}")
    # The topic's 42 bytes become a 2-byte id in 19 of the 20 frames.
    assert with_ids < by_name - 25 * count, (with_ids, by_name)
    local.close()
    upstream.close()


def test_topic_ids_are_replaced_and_topics_stay_right(stack):
    """More topics than the ESP's 8 ids: every message still reaches the broker on its topic."""
    upstream = Collector("lru-up", port=stack.broker.port)
    upstream.subscribe("lru/#")
    local = Collector("lru-local", path=stack.socket)
    hot = [f"lru/hot/{i}" for i in range(8)]
    messages = [(t, f"{t} a".encode()) for t in hot] + [(t, f"{t} b".encode()) for t in hot]  # 8 ids
    messages += [(f"lru/once/{i}", b"once") for i in range(40)]  # the 8 ids go idle
    messages += [("lru/new", f"new {i}".encode()) for i in range(3)]  # replaces the oldest id
    messages += [(hot[0], f"{hot[0]} c".encode()), (hot[1], f"{hot[1]} c".encode())]
    publish_all(local, messages)
    wait_until(lambda: len(upstream.messages) == len(messages), 30, "every message at the broker")
    assert sorted((t, p) for t, p, _, _ in upstream.messages) == sorted(messages)
    status = stack.status()
    assert status["link"]["topicRegistrations"] == 9
    assert status["link"]["topicIDs"] == 8
    local.close()
    upstream.close()


@pytest.mark.parametrize("paced_stack", [(("--max-baud", "921600"), ())], indirect=True)
def test_baud_switch_reaches_921600_and_messages_flow(paced_stack):
    stack = paced_stack
    status = wait_until(lambda: (s := stack.status()) and s["link"]["baudRate"] == 921600 and s, 20,
                        "the line at 921600 baud")
    assert status["link"]["baudFallbacks"] == 0
    stats = wire_stats(stack.control)
    assert (stats["host-baud"], stats["esp-baud"]) == ("921600", "921600")
    garbled = int(stats["to-esp.garbled"]) + int(stats["to-host.garbled"])
    exchange(stack, (16, SMALL), "fast")
    stats = wire_stats(stack.control)
    assert int(stats["to-esp.garbled"]) + int(stats["to-host.garbled"]) == garbled
    assert "the line runs at 921600 baud" in stack.daemon.log()


@pytest.mark.parametrize("paced_stack", [(("--max-baud", "921600"), ("--line-limit", "460800"))], indirect=True)
def test_baud_switch_falls_back_when_the_line_cannot_carry_the_rate(paced_stack):
    stack = paced_stack
    wait_until(lambda: "no PONG within 1 s at 921600 baud" in stack.daemon.log(), 20, "the failed switch")
    status = wait_until(lambda: (s := stack.status()) and s["link"]["state"] == "running" and s, 20,
                        "the link running again")
    assert status["link"]["baudRate"] == 115200
    assert status["link"]["baudFallbacks"] == 1
    assert status["link"]["resets"] == 1  # the start-up reset only: the fallback needed none
    stats = wire_stats(stack.control)
    assert (stats["host-baud"], stats["esp-baud"]) == ("115200", "115200")
    assert int(stats["to-esp.garbled"]) > 0
    exchange(stack, (16, SMALL), "slow")
