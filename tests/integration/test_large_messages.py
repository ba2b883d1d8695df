"""256 KiB messages, the default --max-message-size, both ways through the real firmware under
esp-sim's default heap (36k), and one byte more refused both ways without breaking the link."""

import random

from conftest import Collector, wait_until

LIMIT = 256 * 1024  # the default --max-message-size


def payload(size, seed):
    """Random bytes, reproducible, with zero bytes (which COBS must carry) for certain."""
    data = bytearray(random.Random(seed).randbytes(size))
    data[0] = data[size // 2] = data[-1] = 0
    return bytes(data)


def clients(stack, prefix):
    upstream = Collector(f"{prefix}-up", port=stack.broker.port)
    upstream.subscribe(f"{prefix}/up/#")
    local = Collector(f"{prefix}-local", path=stack.socket)
    local.subscribe(f"{prefix}/down/#", qos=1)
    stack.wait_for_broker_subscriptions(1)
    return upstream, local


def small_message_still_crosses(upstream, local, prefix):
    local.client.publish(f"{prefix}/up/after", b"after", qos=1).wait_for_publish(60)
    wait_until(lambda: any(t == f"{prefix}/up/after" for t, _, _, _ in upstream.messages), 60,
               "a small message to the broker afterwards")
    upstream.client.publish(f"{prefix}/down/after", b"after", qos=1).wait_for_publish(60)
    wait_until(lambda: any(t == f"{prefix}/down/after" for t, _, _, _ in local.messages), 60,
               "a small message from the broker afterwards")


def test_256_kib_crosses_both_ways_byte_exact(stack):
    upstream, local = clients(stack, "huge")
    up, down = payload(LIMIT, 1), payload(LIMIT, 2)

    local.client.publish("huge/up/1", up, qos=1).wait_for_publish(300)
    wait_until(lambda: upstream.messages, 300, "256 KiB at the broker")
    assert [(t, len(p)) for t, p, _, _ in upstream.messages] == [("huge/up/1", LIMIT)]
    assert upstream.messages[0][1] == up

    upstream.client.publish("huge/down/1", down, qos=1).wait_for_publish(300)
    wait_until(lambda: local.messages, 300, "256 KiB at the local client")
    assert [(t, len(p)) for t, p, _, _ in local.messages] == [("huge/down/1", LIMIT)]
    assert local.messages[0][1] == down

    status = stack.status()
    assert status["traffic"]["droppedFromBroker"] == 0
    assert status["link"]["fragmentsOut"] >= LIMIT // 512 and status["link"]["fragmentsIn"] >= LIMIT // 512
    assert status["link"]["resets"] == 1, "the firmware did not restart (out of memory) on the way"
    small_message_still_crosses(upstream, local, "huge")
    local.close()
    upstream.close()


def test_one_byte_over_the_limit_is_refused_both_ways(stack):
    upstream, local = clients(stack, "over")
    too_large = LIMIT + 1

    # Local → broker: acknowledged (the client must not retry it forever), logged, dropped.
    local.client.publish("over/up/big", payload(too_large, 3), qos=1).wait_for_publish(120)
    small_message_still_crosses(upstream, local, "over")
    assert [t for t, _, _, _ in upstream.messages] == ["over/up/after"]
    assert (f"{too_large}-byte message to 'over/up/big' is larger than the largest the bridge carries, "
            f"{LIMIT} bytes (--max-message-size); dropped") in stack.daemon.log()

    # Broker → local: refused at its first fragment; the fragments after it are skipped.
    local.messages.clear()
    upstream.client.publish("over/down/big", payload(too_large, 4), qos=1).wait_for_publish(120)
    wait_until(lambda: "message on 'over/down/big'" in stack.daemon.log(), 300, "the refusal in the log")
    assert (f"{too_large}-byte message on 'over/down/big' is larger than the largest accepted, "
            f"{LIMIT} bytes (--max-message-size); dropped") in stack.daemon.log()
    small_message_still_crosses(upstream, local, "over")
    assert [t for t, _, _, _ in local.messages] == ["over/down/after"], "nothing of the large one delivered"
    status = stack.status()
    assert status["traffic"]["droppedFromBroker"] == 1
    assert status["traffic"]["rejected"] == 1
    assert status["link"]["resets"] == 1
    local.close()
    upstream.close()
