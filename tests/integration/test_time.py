"""The ESP's clock, the host's only wall-clock time: the firmware sets it from a real NTP server
(chronyd serving its clock on a loopback port), mqttbridged publishes it on the retained
`$bridge/time` and shows it in `mqttbridge status`; with no server the status says not synced, and
the bridge goes on meanwhile."""

import json
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
from datetime import datetime

import pytest

from conftest import BIN, Collector, Process, Stack, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chronyd runs as root only")


def free_udp_port():
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sntp_answers(port):
    """Whether an NTP server answers an SNTP request on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        s.sendto(bytes([0x23]) + bytes(47), ("127.0.0.1", port))
        try:
            return len(s.recv(100)) >= 48
        except OSError:
            return False


class Chrony:
    """chronyd serving NTP from the host's clock (`local stratum 8`) on 127.0.0.1:`port`, with its
    files in `directory`; it leaves the system clock alone (-x) and has no command socket."""

    def __init__(self, directory, port=None):
        assert shutil.which("chronyd"), "chronyd is missing: scripts/lib/setup.sh installs the chrony package"
        self.port = port or free_udp_port()
        directory.mkdir(exist_ok=True)
        conf = directory / "chrony.conf"
        conf.write_text(
            f"port {self.port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\n"
            f"pidfile {directory}/chronyd.pid\ndriftfile {directory}/chrony.drift\ncmdport 0\nbindcmdaddress /\n")
        self.process = Process("chronyd", ["chronyd", "-d", "-x", "-u", "root", "-f", str(conf)], directory)
        wait_until(lambda: sntp_answers(self.port) or self.process.popen.poll() is not None, 10,
                   "chronyd to answer")
        assert self.process.popen.poll() is None, f"chronyd exited: {self.process.log()}"

    def stop(self):
        self.process.stop()


class AheadServer(threading.Thread):
    """An SNTP server whose clock runs `ahead` seconds before this host's: a host whose clock is
    wrong, as seen from the ESP (chronyd serves the host's own clock only)."""

    def __init__(self, ahead):
        super().__init__(daemon=True)
        self.ahead = ahead
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.start()

    def run(self):
        while True:
            try:
                request, peer = self.socket.recvfrom(100)
            except OSError:
                return
            now = time.time() + self.ahead
            stamp = struct.pack(">II", int(now) + 2208988800, int(now % 1 * (1 << 32)))
            # LI 0, version 4, mode 4 (server), stratum 2; originate, receive, transmit.
            self.socket.sendto(bytes([0x24, 2]) + bytes(22) + request[40:48] + stamp + stamp, peer)

    def stop(self):
        self.socket.close()


def parse_time(text):
    """An ISO-8601 UTC time from the status (`…Z`) as Unix seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def status_text(stack):
    out = subprocess.run([str(BIN / "mqttbridge"), "status", "--socket", stack.socket, "--timeout", "5"],
                         capture_output=True, timeout=20, check=True)
    return [line for line in out.stdout.decode().splitlines() if line.startswith("time:")]


def time_messages(collector):
    return [(json.loads(payload), retain) for topic, payload, _, retain in list(collector.messages)
            if topic == "$bridge/time"]


def test_time_from_an_ntp_server_on_bridge_time_and_in_status(tmp_path, broker):
    chrony = Chrony(tmp_path / "chrony")
    server = f"127.0.0.1:{chrony.port}"
    stack = Stack(tmp_path, broker, ntp_server=server)
    try:
        watcher = Collector("time-watcher", path=stack.socket)
        watcher.subscribe("$bridge/time", qos=0)
        synced = wait_until(
            lambda: [m for m, retain in time_messages(watcher) if m["state"] == "synced"], 40,
            "$bridge/time to say synced")[0]
        host = time.time()
        first, retained = time_messages(watcher)[0]
        assert retained, "a new subscriber gets $bridge/time retained"
        assert first["server"] == server, first
        assert synced["server"] == server and synced["syncFailures"] == 0 and synced["reason"] == "", synced
        # chronyd serves this host's clock: the ESP's time is the host's, give or take the link.
        assert abs(parse_time(synced["time"]) - host) < 3, (synced, host)
        assert abs(synced["hostOffsetSeconds"]) < 1, synced
        assert abs(parse_time(synced["lastSync"]) - host) < 5 and synced["secondsSinceSync"] <= 5, synced

        # A late subscriber gets the time as it is now, retained.
        time.sleep(2)
        late = Collector("time-late", path=stack.socket)
        late.subscribe("$bridge/time", qos=0)
        wait_until(lambda: time_messages(late), 10, "the retained $bridge/time")
        now, retained = time_messages(late)[0]
        assert retained and now["state"] == "synced", now
        assert abs(parse_time(now["time"]) - time.time()) < 3, now
        assert parse_time(now["time"]) >= parse_time(synced["time"]) + 1.5, (now, synced)

        status = stack.status()["time"]
        assert status["state"] == "synced" and status["server"] == server, status
        assert abs(parse_time(status["time"]) - time.time()) < 3, status
        [line] = status_text(stack)
        assert f"from {server}" in line and "host clock" in line, line
        assert "the ESP has the time from " + server in stack.daemon.log()
        # The ESP's next STATS (every 10 s) changes no synchronisation: $bridge/time stays quiet.
        count = len(time_messages(watcher))
        time.sleep(11)
        assert len(time_messages(watcher)) == count, time_messages(watcher)[count:]
        for c in (watcher, late):
            c.close()
    finally:
        stack.stop()
        chrony.stop()


def test_without_an_ntp_server_the_status_says_not_synced_until_one_answers(tmp_path, broker):
    port = free_udp_port()  # nothing answers there yet
    server = f"127.0.0.1:{port}"
    stack = Stack(tmp_path, broker, ntp_server=server)
    chrony = None
    try:
        stack.wait_for_broker()
        status = wait_until(lambda: (s := stack.status()) and s["time"]["syncFailures"] >= 1 and s, 30,
                            "a failed NTP attempt in the status")["time"]
        assert (status["state"], status["server"], status["reason"]) == ("not-synced", server, "no answer"), status
        assert status["time"] == "" and "hostOffsetSeconds" not in status, status
        [line] = status_text(stack)
        assert line == f"time:    not synced from {server}: no answer ({status['syncFailures']} failed attempt"\
            + ("" if status["syncFailures"] == 1 else "s") + ")", line
        assert f"the ESP could not get the time from {server}: no answer" in stack.daemon.log()

        # Nothing waits for the clock: a qos 1 publish goes through at once.
        upstream = Collector("up", port=stack.broker.port)
        upstream.subscribe("time/#")
        local = Collector("local", path=stack.socket)
        started = time.monotonic()
        local.client.publish("time/x", b"while no NTP server answers", qos=1).wait_for_publish(10)
        wait_until(lambda: upstream.payloads() == [b"while no NTP server answers"], 10, "the publish at the broker")
        assert time.monotonic() - started < 3

        # A server appears: the ESP's next attempt (10 s after a failure, doubling) finds it.
        chrony = Chrony(tmp_path / "chrony", port=port)
        status = wait_until(lambda: (s := stack.status()) and s["time"]["state"] == "synced" and s, 60,
                            "the ESP to sync once the server answers")["time"]
        assert abs(parse_time(status["time"]) - time.time()) < 3 and status["reason"] == "", status
        assert "the ESP has the time from " + server in stack.daemon.log()
        for c in (upstream, local):
            c.close()
    finally:
        stack.stop()
        if chrony:
            chrony.stop()


def test_a_host_clock_that_is_off_is_reported_once(tmp_path, broker):
    server = AheadServer(3600.25)
    stack = Stack(tmp_path, broker, ntp_server=f"127.0.0.1:{server.port}")
    try:
        status = wait_until(lambda: (s := stack.status()) and s["time"]["state"] == "synced" and s, 40,
                            "the ESP to sync")["time"]
        assert abs(status["hostOffsetSeconds"] - 3600.25) < 0.5, status
        assert abs(parse_time(status["time"]) - (time.time() + 3600.25)) < 3, status
        [line] = status_text(stack)
        assert "host clock +3600.2" in line, line
        wait_until(lambda: "the host clock is 3600.2" in stack.daemon.log(), 10, "the warning")
        time.sleep(11)  # the next STATS measures the offset again: no second warning
        assert stack.daemon.log().count("the host clock is 3600.2") == 1, stack.daemon.log()
    finally:
        stack.stop()
        server.stop()


def test_ntp_off(stack):
    status = stack.status()["time"]
    assert status == {"state": "off", "server": "", "time": "", "lastSync": "", "syncFailures": 0, "reason": ""}
    assert status_text(stack) == ["time:    off (mqttbridged --ntp-server none)"]


@pytest.mark.parametrize("value,why", [
    ("bad name", "not a host name"),
    ("ntp.example:0", "not a number from 1 to 65535"),
    ("1.2.3.256", "not an IPv4 address"),
    ("::1", "IPv6"),
])
def test_a_bad_ntp_server_is_refused(tmp_path, value, why):
    out = subprocess.run(
        [str(BIN / "mqttbridged"), "--device", "/dev/null", "--socket", str(tmp_path / "s"), "--broker", "127.0.0.1:1",
         "--wifi-ssid", "x", "--ntp-server", value], capture_output=True, timeout=30)
    assert out.returncode != 0
    assert "Error: --ntp-server " in out.stderr.decode() and why in out.stderr.decode(), out.stderr.decode()
