"""READY watching: the daemon notices an ESP that stopped by READY falling, recovers with the
subscriptions restored, and says from READY why a reset brought no HELLO."""

import subprocess

import paho.mqtt.publish as broker_publish

from conftest import BIN, Collector, Stack, esp_sim_command, wait_until


def test_a_crashed_esp_is_noticed_by_ready_and_serves_again_with_its_subscriptions(tmp_path, broker):
    with Stack(tmp_path, broker, controlled=True) as stack:
        stack.wait_for_broker()
        subscriber = Collector("local-sub", path=stack.socket)
        subscriber.subscribe("ready/#")
        stack.wait_for_broker_subscriptions(1)

        esp_sim_command(stack.control, "reboot")
        wait_until(lambda: "READY fell" in stack.daemon.log(), 10, "the daemon to log that READY fell")
        status = wait_until(
            lambda: (s := stack.status()) and s["esp"]["readyDrops"] >= 1 and s["esp"]["ready"] == "high"
            and s["link"]["state"] == "running" and s["traffic"]["brokerSubscriptionsAcknowledged"] == 1 and s,
            30, "the ESP to serve again with its subscription")
        assert status["esp"]["resetReason"] != "", status

        # Nothing was done by the local client: the subscription was restored for it.
        wait_until(lambda: (broker_publish.single("ready/after", b"back", qos=1, hostname="127.0.0.1",
                                                  port=broker.port), b"back" in subscriber.payloads())[1],
                   20, "a broker message after the crash at the local subscriber")
        subscriber.close()


def silent_firmware(directory, raise_ready):
    """A stand-in firmware that never speaks on the UART; it raises READY or leaves it low."""
    directory.mkdir()
    ready = ""
    if raise_ready:
        ready = (
            "root = os.getenv('BRIDGE_GPIO_ROOT') + '/gpio' + (os.getenv('BRIDGE_READY_GPIO') or '27')\n"
            "try:\n    os.mkdir(root)\nexcept OSError:\n    pass\n"
            "with open(root + '/value', 'w') as f:\n    f.write('1')\n")
    (directory / "main.py").write_text("import os, time\n" + ready + "while True:\n    time.sleep(1)\n")
    return directory


def hello_timeout_warnings(stack):
    return [line for line in stack.daemon.log().splitlines() if "no HELLO from the ESP" in line]


def test_no_hello_with_ready_low_says_the_firmware_did_not_start(tmp_path, broker):
    with Stack(tmp_path, broker, firmware=silent_firmware(tmp_path / "fw", raise_ready=False),
               daemon_args=["--hello-timeout", "1"]) as stack:
        wait_until(lambda: hello_timeout_warnings(stack), 20, "a HELLO timeout")
        warning = hello_timeout_warnings(stack)[0]
        assert "READY stayed low: the firmware did not start" in warning, warning
        assert stack.status()["esp"]["ready"] == "low"


def test_no_hello_with_ready_high_points_at_the_serial_line(tmp_path, broker):
    with Stack(tmp_path, broker, firmware=silent_firmware(tmp_path / "fw", raise_ready=True),
               daemon_args=["--hello-timeout", "1"]) as stack:
        # The first timeout may come before the stand-in has raised READY; a later one sees it.
        wait_until(lambda: any("READY is high" in w for w in hello_timeout_warnings(stack)), 30,
                   "a HELLO timeout that reports READY high")
        assert stack.status()["esp"]["ready"] == "high"


def test_status_prints_the_link_counters(stack):
    out = subprocess.run([str(BIN / "mqttbridge"), "status", "--socket", stack.socket, "--timeout", "5"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    for counter in ("frames in/out", "bytes in/out", "CRC errors", "resyncs", "retransmissions", "resets",
                    "round trip", "READY high"):
        assert counter in out.stdout, (counter, out.stdout)
