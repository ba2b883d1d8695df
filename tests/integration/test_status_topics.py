"""The daemon's retained, read-only `$bridge/…` topics on the local socket: the whole status and
its parts, each sent again only when it changed."""

import json

import paho.mqtt.client as mqtt
from conftest import Collector, esp_sim_command, wait_until

PARTS = ("$bridge/link", "$bridge/wifi", "$bridge/broker", "$bridge/esp", "$bridge/counters")
TOPICS = ("$bridge/status", *PARTS)


def of_topic(collector, topic):
    """(payload as JSON, retain flag) of every message on `topic`, in order."""
    return [(json.loads(payload), retain) for t, payload, _, retain in list(collector.messages) if t == topic]


def latest(collector, topic):
    messages = of_topic(collector, topic)
    return messages[-1][0] if messages else None


def snapshot(collector):
    """Waits for one retained message on every `$bridge/…` topic; returns them by topic."""
    wait_until(lambda: all(of_topic(collector, t) for t in TOPICS), 20, "every $bridge/ topic")
    return {t: of_topic(collector, t)[0] for t in TOPICS}


def assert_sent_on_change_only(collector):
    """A part is never sent twice in a row with the same content. The retained counters a new
    subscriber gets are the current ones, not the last sent, so only live ones are compared."""
    for topic in PARTS:
        payloads = [payload for payload, retain in of_topic(collector, topic)
                    if topic != "$bridge/counters" or not retain]
        repeats = [p for previous, p in zip(payloads, payloads[1:]) if previous == p]
        assert not repeats, f"{topic} sent again unchanged: {repeats}"


def test_subscriber_to_bridge_wildcard_gets_every_topic_retained(stack):
    watcher = Collector("status-all", path=stack.socket)
    watcher.subscribe("$bridge/#", qos=0)
    first = snapshot(watcher)
    assert all(retain for _, retain in first.values()), first

    link, wifi, broker, esp, counters = (first[t][0] for t in PARTS)
    assert set(link) == {"state", "device", "baudRate", "detail"}
    assert (link["state"], link["device"], link["baudRate"]) == ("running", str(stack.link), 115200)
    assert wifi["state"] == "up" and wifi["address"], wifi
    assert broker["connected"] is True and broker["state"] == "connected", broker
    assert broker["address"] == f"127.0.0.1:{stack.broker.port}"
    assert esp["software"].startswith("mqttbridge-fw") and esp["protocolVersion"] == 2, esp
    assert esp["bootCount"] >= 1 and esp["freeHeap"] > 0 and esp["resetReason"], esp
    assert esp["ready"] == "high", esp
    assert counters["link"]["framesIn"] > 0 and "publishedToBroker" in counters["traffic"], counters
    assert first["$bridge/status"][0]["link"]["state"] == "running"

    # A filter for one part gets that part only.
    one = Collector("status-one", path=stack.socket)
    one.subscribe("$bridge/broker", qos=1)
    wait_until(lambda: one.messages, 10, "the retained $bridge/broker")
    assert [(t, json.loads(p)["connected"], r) for t, p, _, r in one.messages] == [("$bridge/broker", True, True)]
    # `#` does not match topics starting with `$` (MQTT 3.1.1 §4.7.2).
    everything = Collector("status-none", path=stack.socket)
    everything.subscribe("#", qos=0)
    one.client.publish("plain/topic", b"x", qos=1).wait_for_publish(30)
    wait_until(lambda: any(t == "plain/topic" for t, _, _, _ in everything.messages), 20,
               "the plain message through the broker")
    assert not [t for t, _, _, _ in everything.messages if t.startswith("$")]

    # The counters move with the traffic; the other parts do not.
    wait_until(lambda: latest(watcher, "$bridge/counters")["traffic"]["publishedToBroker"] >= 1, 30,
               "the counters to show the publish")
    assert len(of_topic(watcher, "$bridge/link")) == 1
    assert len(of_topic(watcher, "$bridge/broker")) == 1
    assert_sent_on_change_only(watcher)
    for c in (watcher, one, everything):
        c.close()


def test_wifi_down_and_up_change_wifi_and_broker_topics(controlled_stack):
    stack = controlled_stack
    watcher = Collector("status-wifi", path=stack.socket)
    watcher.subscribe("$bridge/#", qos=1)
    snapshot(watcher)

    esp_sim_command(stack.control, "wifi down")
    wait_until(lambda: latest(watcher, "$bridge/wifi")["state"] == "down", 30, "$bridge/wifi down")
    wait_until(lambda: latest(watcher, "$bridge/broker")["connected"] is False, 30, "$bridge/broker disconnected")
    assert ("down", "AP lost") in [(p["state"], p["reason"]) for p, _ in of_topic(watcher, "$bridge/wifi")]
    changes = of_topic(watcher, "$bridge/wifi")[1:]
    assert changes and not any(retain for _, retain in changes), "a live change carries retain 0"

    esp_sim_command(stack.control, "wifi up")
    wait_until(lambda: latest(watcher, "$bridge/wifi")["state"] == "up", 60, "$bridge/wifi up again")
    wait_until(lambda: latest(watcher, "$bridge/broker")["connected"] is True, 60, "$bridge/broker connected again")
    assert any(not p["connected"] for p, _ in of_topic(watcher, "$bridge/broker")[1:-1])
    # WiFi went; the link to the ESP did not.
    assert [p["state"] for p, _ in of_topic(watcher, "$bridge/link")] == ["running"]
    # The broker's reason is empty again once it reconnects; the last one stays.
    assert (latest(watcher, "$bridge/broker")["reason"], latest(watcher, "$bridge/broker")["lastReason"]) == \
        ("", "WiFi down")
    assert_sent_on_change_only(watcher)

    # A new subscriber gets the parts as they are now.
    late = Collector("status-late", path=stack.socket)
    late.subscribe("$bridge/wifi", qos=0)
    wait_until(lambda: late.messages, 10, "the retained $bridge/wifi")
    assert latest(late, "$bridge/wifi")["state"] == "up"
    watcher.close()
    late.close()


def test_publishing_under_bridge_is_refused_and_changes_nothing(stack):
    watcher = Collector("status-guard", path=stack.socket)
    watcher.subscribe("$bridge/#", qos=0)
    before = snapshot(watcher)
    upstream = Collector("status-upstream", port=stack.broker.port)
    upstream.subscribe("$bridge/#")
    upstream.subscribe("sync/#")

    intruder = Collector("status-intruder", path=stack.socket)
    forged = json.dumps({"state": "forged", "device": "x", "baudRate": 1, "detail": ""}).encode()
    # Acknowledged (so that the client does not retry forever) and dropped.
    intruder.client.publish("$bridge/link", forged, qos=1, retain=True).wait_for_publish(30)
    intruder.client.publish("$bridge/wifi", b'{"state": "forged"}', qos=0).wait_for_publish(30)
    intruder.client.publish("$bridge/counters", b"{}", qos=2).wait_for_publish(30)
    # Published after them on the same connection: once it is at the broker, they were handled.
    intruder.client.publish("sync/done", b"1", qos=1).wait_for_publish(30)
    wait_until(lambda: upstream.messages, 30, "the message after the refused ones at the broker")

    assert [t for t, _, _, _ in upstream.messages] == ["sync/done"], "nothing under $bridge/ reaches the broker"
    log = stack.daemon.log()
    for topic in ("$bridge/link", "$bridge/wifi", "$bridge/counters"):
        assert f"published to '{topic}': $bridge/ topics are read-only; dropped" in log
    assert [p for p, _ in of_topic(watcher, "$bridge/link")] == [before["$bridge/link"][0]]
    assert all(p["state"] != "forged" for p, _ in of_topic(watcher, "$bridge/wifi"))

    # A new subscriber still gets the daemon's own values, not the forged ones.
    late = Collector("status-late-guard", path=stack.socket)
    late.subscribe("$bridge/link", qos=0)
    wait_until(lambda: late.messages, 10, "the retained $bridge/link")
    assert latest(late, "$bridge/link")["state"] == "running"
    counters = wait_until(lambda: (c := latest(watcher, "$bridge/counters")) and c["traffic"]["rejected"] >= 3 and c,
                          30, "the refusals counted")
    assert counters["traffic"]["rejected"] == 3
    for c in (watcher, upstream, intruder, late):
        c.close()


def test_will_under_bridge_is_refused(stack):
    refused = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="status-will", transport="unix")
    client.will_set("$bridge/broker", b'{"connected": false}', qos=1, retain=True)
    client.on_connect = lambda c, u, flags, reason, props: refused.append(reason)
    client.connect(stack.socket)
    client.loop_start()
    try:
        wait_until(lambda: refused, 10, "the CONNACK")
        assert refused[0] == "Not authorized", refused
        assert "has a will on '$bridge/broker': $bridge/ topics are read-only; refused" in stack.daemon.log()
    finally:
        client.loop_stop()
