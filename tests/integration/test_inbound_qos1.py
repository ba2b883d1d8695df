"""Inbound qos 1 end to end (firmware-protocol.md §5.11): the ESP acknowledges a broker message only
once the host's link ack covers it, so with a persistent broker session (--persistent-session) a
fault that costs the ESP its link (a line cut or a frozen firmware, each longer than the link
timeout, so that the daemon resets the ESP) loses nothing: the broker sends again what the host did
not hold. Duplicates are allowed, and counted. The line cut is the case that fails with a firmware
acknowledging on write (every message of the cut lost); a frozen firmware reads nothing from the
broker meanwhile, so it checks the redelivery after the reset."""

import time

import paho.mqtt.client as mqtt
import pytest

from conftest import Collector, wait_until
from test_link_faults import faulty_stack

BEFORE = 5  # messages before the fault, to see the path works
DURING = 25  # messages published while the fault lasts


def publisher(port):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="inbound-publisher")
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    return client


def publish(client, payload):
    info = client.publish("inbound/q1", payload, qos=1)
    info.wait_for_publish(30)
    assert info.is_published(), f"the broker did not take {payload!r}"


@pytest.mark.parametrize("fault", ["cut 8", "hang 8"])
def test_every_qos1_message_reaches_the_local_subscriber_after_the_esp_lost_its_link(tmp_path, broker, fault):
    with faulty_stack(tmp_path, broker, daemon_args=("--persistent-session",)) as (stack, sim):
        local = upstream = None
        try:
            local = Collector("inbound-local", path=stack.socket)
            local.subscribe("inbound/#", qos=1)
            stack.wait_for_broker_subscriptions(1)
            upstream = publisher(broker.port)
            want = [b"m%03d" % i for i in range(BEFORE + DURING)]
            for payload in want[:BEFORE]:
                publish(upstream, payload)
            wait_until(lambda: set(want[:BEFORE]) <= set(local.payloads()), 30, "the messages before the fault")
            restarts_before = int(sim.stats()["firmware-restarts"])

            sim.command(fault)
            for payload in want[BEFORE:]:
                publish(upstream, payload)
                time.sleep(0.1)  # spread over the fault, not a timing assertion

            wait_until(lambda: int(sim.stats()["firmware-restarts"]) > restarts_before, 60,
                       "the daemon to reset the ESP after the fault")
            wait_until(lambda: set(want) <= set(local.payloads()), 120,
                       f"every message at the local subscriber (missing: {sorted(set(want) - set(local.payloads()))})")
            got = local.payloads()
            duplicates = len(got) - len(set(got))
            print(f"{fault}: {len(want)} messages, {len(got)} received, {duplicates} duplicates")
            assert set(got) == set(want), "a message the broker never sent arrived"
            assert all(qos == 1 for _, _, qos, _ in local.messages)
        finally:
            if upstream:
                upstream.loop_stop()
                upstream.disconnect()
            if local:
                local.close()
