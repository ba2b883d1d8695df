"""Bad input gets a clear answer and loses nothing: bad clients are closed alone, bad devices are
refused with a message that says what to do, a silent ESP and an unreachable broker are retried."""

import os
import socket
import subprocess

import pytest

from conftest import BIN, Collector, Stack, free_port, wait_until


def raw_client(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def closed_by_peer(s):
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True


CONNECT = bytes([0x10, 0x10, 0x00, 0x04]) + b"MQTT" + bytes([0x04, 0x02, 0x00, 0x3C, 0x00, 0x04]) + b"raw1"


@pytest.mark.parametrize("name,data", [
    ("garbage", b"\xff\xfe this is not MQTT at all \x00\x01\x02"),
    ("publish before connect", bytes([0x30, 0x05, 0x00, 0x01]) + b"ahi"),
    ("wildcard in a publish topic", CONNECT + bytes([0x30, 0x06, 0x00, 0x03]) + b"a/#x"),
    ("subscribe with reserved flags 0", CONNECT + bytes([0x80, 0x06, 0x00, 0x01, 0x00, 0x01]) + b"a" + bytes([0x00])),
    ("remaining length of five bytes", CONNECT + bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])),
])
def test_a_bad_client_is_closed_and_others_keep_working(stack, name, data):
    good = Collector("good", path=stack.socket)
    upstream = Collector("up", port=stack.broker.port)
    upstream.subscribe("ok/#")

    bad = raw_client(stack.socket)
    bad.sendall(data)
    # A CONNECT first is answered with CONNACK; what follows must close the connection.
    if data.startswith(CONNECT):
        assert bad.recv(4) == bytes([0x20, 0x02, 0x00, 0x00])
    assert closed_by_peer(bad), f"{name}: the daemon kept a client that sent bad input"

    info = good.client.publish("ok/after", name.encode(), qos=1)
    info.wait_for_publish(15)
    wait_until(lambda: upstream.payloads() == [name.encode()], 15, "the good client's message at the broker")
    assert stack.daemon.popen.poll() is None
    good.close()
    upstream.close()


def run_daemon(*argv):
    return subprocess.run([str(BIN / "mqttbridged"), *argv], capture_output=True, timeout=30)


COMMON = ["--broker", "127.0.0.1:1", "--wifi-ssid", "x", "--gpio-root", "/nonexistent-gpio"]


def test_missing_device_says_what_to_do(tmp_path):
    result = run_daemon("--device", "/dev/ttyNOPE0", "--socket", str(tmp_path / "s"), *COMMON)
    assert result.returncode != 0
    assert b"/dev/ttyNOPE0 does not exist" in result.stderr
    assert b"check --device" in result.stderr


def test_a_regular_file_is_not_a_serial_device(tmp_path):
    path = tmp_path / "not-a-tty"
    path.write_text("x")
    result = run_daemon("--device", str(path), "--socket", str(tmp_path / "s"), *COMMON)
    assert result.returncode != 0
    assert b"is a regular file, not a serial device" in result.stderr


def test_a_character_device_that_is_not_a_tty(tmp_path):
    result = run_daemon("--device", "/dev/null", "--socket", str(tmp_path / "s"), *COMMON)
    assert result.returncode != 0
    assert b"not a terminal" in result.stderr


def test_a_bad_broker_address_is_refused(tmp_path):
    result = run_daemon("--device", "/dev/null", "--socket", str(tmp_path / "s"), "--broker", "host:99999",
                        "--wifi-ssid", "x")
    assert result.returncode != 0
    assert b"--broker port must be a number from 1 to 65535" in result.stderr


def test_an_esp_that_never_says_hello_is_reset_again_with_backoff(tmp_path, broker):
    # A pseudo-terminal with nobody on the other side: the daemon must keep retrying, not exit.
    controller, replica = os.openpty()
    link = tmp_path / "esp-link"
    os.symlink(os.ttyname(replica), link)
    gpio = tmp_path / "gpio"
    for line in (17, 27):
        d = gpio / f"gpio{line}"
        d.mkdir(parents=True)
        for name, value in (("direction", "in"), ("value", "0"), ("active_low", "0"), ("edge", "none")):
            (d / name).write_text(value + "\n")
    (gpio / "export").write_text("")
    stack = Stack(tmp_path, broker, start_sim=False, daemon_args=("--hello-timeout", "1"))
    try:
        status = wait_until(lambda: (s := stack.status()) and s["link"]["helloTimeouts"] >= 2 and s, 20,
                            "two HELLO timeouts")
        assert status["link"]["state"] in ("waiting-for-hello", "resetting")
        assert "no HELLO from the ESP" in status["link"]["detail"]
        assert status["link"]["resets"] >= 2
        # Each reset is a real pulse on the fake RESET line, left released.
        assert (gpio / "gpio17" / "value").read_text().strip() == "1"
        assert stack.daemon.popen.poll() is None
        assert "resetting again in 2 s" in stack.daemon.log()
    finally:
        stack.stop()
        os.close(controller)
        os.close(replica)


def test_an_unreachable_broker_is_retried_and_reported(tmp_path, broker):
    broker.stop()  # keep its port: nothing listens there now
    with Stack(tmp_path, broker) as stack:
        status = wait_until(
            lambda: (s := stack.status()) and s["link"]["state"] == "running" and s["wifi"]["state"] == "up"
            and s["broker"]["state"] in ("disconnected", "connecting") and s["broker"]["reason"] and s,
            30, "the daemon to report the broker as unreachable")
        assert stack.daemon.popen.poll() is None
        assert "the ESP retries by itself" in stack.daemon.log()
        # The broker comes back: the bridge reaches it by itself.
        broker.start()
        stack.wait_for_broker(timeout=60)
