"""Fixtures for the integration tests: every real part, each test with its own.

A test gets its own mosquitto (on a free loopback port), its own esp-sim (the real firmware under
the MicroPython Unix port behind pseudo-terminals, with a fake sysfs GPIO tree) and its own
mqttbridged serving its own Unix socket. Nothing is shared between tests.

The binaries come from MQTTBRIDGE_BIN (scripts/test sets it to `swift build --show-bin-path`).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("MQTTBRIDGE_BIN", ROOT / ".build" / "debug"))
sys.path.insert(0, str(ROOT / "tests"))
import harness  # noqa: E402
from harness import Process, esp_sim_command, free_port  # noqa: E402,F401  (re-exported for the tests)


LOG_TAIL_LINES = 80


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with the last lines of every log its processes wrote under its
    tmp_path (mqttbridged, esp-sim, mosquitto): in CI they are gone with the machine."""
    outcome = yield
    report = outcome.get_result()
    directory = item.funcargs.get("tmp_path") if hasattr(item, "funcargs") else None
    if not report.failed or directory is None:
        return
    for log in sorted(Path(directory).rglob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        report.sections.append((f"{log.relative_to(directory)}, last {len(lines)} lines", "\n".join(lines)))


def wait_until(predicate, timeout, what):
    """Polls `predicate` until it returns a true value; fails the test with `what` on timeout."""
    try:
        return harness.wait_until(predicate, timeout, what)
    except TimeoutError as error:
        pytest.fail(str(error))


class Broker:
    def __init__(self, directory):
        self.port = free_port()
        self.directory = Path(directory)
        conf = self.directory / "mosquitto.conf"
        conf.write_text(harness.mosquitto_config(self.port))
        self.conf = conf
        self.start()

    def start(self):
        """Starts mosquitto on this broker's port (again, after stop())."""
        self.process = Process("mosquitto", ["mosquitto", "-c", str(self.conf)], self.directory)
        wait_until(lambda: harness.accepts_connections(self.port), 10, "mosquitto to listen")

    def stop(self):
        self.process.stop()


class Collector:
    """A paho client that records every message it receives."""

    def __init__(self, client_id, clean_session=True, **connect):
        transport = "unix" if "path" in connect else "tcp"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, transport=transport,
                                  clean_session=clean_session)
        self.messages = []
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload, m.qos, m.retain))
        self.subscribed = []
        self.client.on_subscribe = lambda c, u, mid, codes, props: self.subscribed.append(mid)
        if "path" in connect:
            self.client.connect(connect["path"], keepalive=30)
        else:
            self.client.connect("127.0.0.1", connect["port"], keepalive=30)
        self.client.loop_start()

    def subscribe(self, topic, qos=1):
        result, mid = self.client.subscribe(topic, qos)
        assert result == mqtt.MQTT_ERR_SUCCESS
        wait_until(lambda: mid in self.subscribed, 10, f"SUBACK for {topic}")

    def payloads(self):
        return [payload for _, payload, _, _ in self.messages]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class Stack:
    """esp-sim + mqttbridged against a broker, in one temporary directory."""

    def __init__(self, directory, broker, start_sim=True, daemon_args=(), sim_args=(), firmware=None,
                 controlled=False, ntp_server="none"):
        """`sim_args` go to esp-sim; `firmware` replaces the bridge firmware's directory;
        `controlled` gives esp-sim a control socket at `self.control` (see esp_sim_command);
        `ntp_server` is mqttbridged's --ntp-server: none unless a test gives one, so that no test
        depends on the network outside (the default, pool.ntp.org, would be asked)."""
        self.directory = Path(directory)
        self.ntp_server = ntp_server
        self.sim_args = list(sim_args)
        self.control = self.directory / "esp-sim.sock" if controlled else None
        if controlled:
            self.sim_args += ["--control", str(self.control)]
        self.firmware = Path(firmware or ROOT / "firmware")
        self.broker = broker
        self.link = self.directory / "esp-link"
        self.gpio = self.directory / "gpio"
        self.socket = str(self.directory / "mqtt.sock")
        self.spool = self.directory / "spool"
        self.sim = None
        self.daemon = None
        if start_sim:
            self.start_sim()
        try:
            self.daemon = self.start_daemon(*daemon_args)
        except BaseException:
            self.stop()  # no esp-sim left running when the daemon did not start
            raise

    def start_sim(self):
        self.sim = Process("esp-sim", [
            str(BIN / "esp-sim"), "--link", str(self.link), "--gpio-root", str(self.gpio),
            "--state-dir", str(self.directory / "esp-state"), "--firmware", str(self.firmware), *self.sim_args],
            self.directory, stdout=subprocess.PIPE)  # its "ready" line
        line = self.sim.popen.stdout.readline().decode()
        assert "ready" in line, f"esp-sim did not start: {self.sim.log()}"

    def daemon_argv(self, *extra):
        return [
            str(BIN / "mqttbridged"), "--device", str(self.link), "--gpio-root", str(self.gpio),
            "--socket", self.socket, "--broker", f"127.0.0.1:{self.broker.port}",
            "--client-id", "mqttbridge-test", "--wifi-ssid", "mqttbridge-sim", "--keepalive", "10",
            "--spool", str(self.spool), "--ntp-server", self.ntp_server, "--log-level", "debug", *extra]

    def start_daemon(self, *extra):
        process = Process("mqttbridged", self.daemon_argv(*extra), self.directory)
        wait_until(lambda: os.path.exists(self.socket) or process.popen.poll() is not None, 20,
                   "mqttbridged to open its socket")
        assert process.popen.poll() is None, f"mqttbridged exited: {process.log()}"
        return process

    def status(self):
        """The daemon's status, read from its retained $bridge/status topic."""
        out = subprocess.run(
            [str(BIN / "mqttbridge"), "status", "--json", "--socket", self.socket, "--timeout", "5"],
            capture_output=True, timeout=20)
        if out.returncode != 0:
            return None
        return json.loads(out.stdout)

    def wait_for_broker(self, timeout=30):
        return wait_until(
            lambda: (s := self.status()) and s["broker"]["state"] == "connected" and s["link"]["state"] == "running" and s,
            timeout, "the bridge to reach the broker")

    def wait_for_broker_subscriptions(self, count, timeout=15):
        """Waits until the broker has acknowledged exactly `count` subscriptions of the bridge."""
        return wait_until(
            lambda: (s := self.status()) and s["traffic"]["brokerSubscriptionsAcknowledged"] == count
            and s["traffic"]["brokerSubscriptions"] == count,
            timeout, f"{count} broker subscriptions acknowledged")

    def stop(self):
        if self.daemon:
            self.daemon.stop()
        if self.sim:
            self.sim.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.stop()


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    yield b
    b.stop()


@pytest.fixture
def stack(tmp_path, broker):
    with Stack(tmp_path, broker) as s:
        s.wait_for_broker()
        yield s


@pytest.fixture
def controlled_stack(tmp_path, broker):
    """A stack whose esp-sim takes control commands at `stack.control`."""
    with Stack(tmp_path, broker, controlled=True) as s:
        s.wait_for_broker(timeout=45)
        yield s
