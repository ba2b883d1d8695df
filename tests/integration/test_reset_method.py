"""--reset-method and GPIO line names: chip+offset lines are resolved through the gpiochips of the
sysfs tree, bad names and missing modem lines are refused with advice, --no-gpio still works."""

import os
import subprocess

import pytest

from conftest import BIN, Process, wait_until

COMMON = ["--broker", "127.0.0.1:1", "--wifi-ssid", "x", "--hello-timeout", "1", "--log-level", "debug"]


@pytest.fixture
def pty():
    controller, replica = os.openpty()
    yield os.ttyname(replica)
    os.close(controller)
    os.close(replica)


def pi4_kernel66_tree(root):
    """/sys/class/gpio of a Raspberry Pi 4 on kernel 6.6+: the SoC's chip at base 512."""
    for name, label, base, count in (("gpiochip512", "pinctrl-bcm2711", 512, 58),
                                     ("gpiochip570", "raspberrypi-exp-gpio", 570, 8)):
        chip = root / name
        chip.mkdir(parents=True)
        for attribute, value in (("base", base), ("label", label), ("ngpio", count)):
            (chip / attribute).write_text(f"{value}\n")
    (root / "export").write_text("")
    for line in (529, 539):
        directory = root / f"gpio{line}"
        directory.mkdir()
        for attribute, value in (("direction", "in"), ("value", "0"), ("active_low", "1"), ("edge", "none")):
            (directory / attribute).write_text(value + "\n")
    return root


def refused(*argv):
    result = subprocess.run([str(BIN / "mqttbridged"), *argv], capture_output=True, timeout=30)
    assert result.returncode != 0
    return result.stderr.decode()


def started(tmp_path, *argv):
    socket = tmp_path / "mqtt.sock"
    daemon = Process("mqttbridged", [str(BIN / "mqttbridged"), "--socket", str(socket), *COMMON, *argv], tmp_path)
    wait_until(lambda: socket.exists() or daemon.popen.poll() is not None, 20, "mqttbridged to open its socket")
    assert daemon.popen.poll() is None, daemon.log()
    return daemon


def test_a_chip_label_and_offset_name_the_line_on_a_kernel_66_tree(tmp_path, pty):
    gpio = pi4_kernel66_tree(tmp_path / "gpio")
    daemon = started(tmp_path, "--device", pty, "--gpio-root", str(gpio),
                     "--reset-gpio", "pinctrl-bcm2711:17", "--ready-gpio", "gpiochip512:27")
    try:
        wait_until(lambda: "no HELLO from the ESP" in daemon.log(), 20, "a reset and a HELLO timeout")
        assert f"resetting the ESP through GPIO 529 under {gpio} (active low)" in daemon.log()
        # RESET is claimed released (high), with active_low pinned to 0 and the inversion in software.
        assert (gpio / "gpio529" / "direction").read_text().strip() == "high"
        assert (gpio / "gpio529" / "active_low").read_text().strip() == "0"
        assert (gpio / "gpio539" / "direction").read_text().strip() == "in"
        wait_until(lambda: (gpio / "gpio529" / "value").read_text().strip() == "1", 5, "RESET released")
    finally:
        daemon.stop()


def test_an_unknown_chip_label_lists_the_chips(tmp_path, pty):
    gpio = pi4_kernel66_tree(tmp_path / "gpio")
    text = refused("--device", pty, "--socket", str(tmp_path / "s"), *COMMON, "--gpio-root", str(gpio),
                   "--reset-gpio", "pinctrl-rp1:17")
    assert "no gpiochip named or labelled 'pinctrl-rp1'" in text
    assert 'gpiochip512 "pinctrl-bcm2711" (lines 512-569)' in text


def test_a_bcm_number_on_a_kernel_66_tree_gets_advice(tmp_path, pty):
    gpio = pi4_kernel66_tree(tmp_path / "gpio")
    text = refused("--device", pty, "--socket", str(tmp_path / "s"), *COMMON, "--gpio-root", str(gpio),
                   "--reset-gpio", "17")
    assert "GPIO 17 belongs to no gpiochip" in text
    assert "pinctrl-bcm2711:17" in text


def test_an_offset_past_the_chip_is_refused(tmp_path, pty):
    gpio = pi4_kernel66_tree(tmp_path / "gpio")
    text = refused("--device", pty, "--socket", str(tmp_path / "s"), *COMMON, "--gpio-root", str(gpio),
                   "--reset-gpio", "pinctrl-bcm2711:58")
    assert "line offset 58 is out of range" in text


def test_a_malformed_line_name_is_refused_before_anything_opens(tmp_path):
    text = refused("--device", "/dev/null", "--socket", str(tmp_path / "s"), *COMMON, "--reset-gpio", "GPIO17")
    assert "'GPIO17' is not a GPIO line" in text


def test_modem_line_reset_needs_a_real_serial_port(tmp_path, pty):
    text = refused("--device", pty, "--socket", str(tmp_path / "s"), *COMMON, "--reset-method", "modem-lines")
    assert "modem-line reset needs a real serial port" in text
    assert "is a pseudo-terminal" in text


@pytest.mark.parametrize("flags", [["--reset-method", "none"], ["--no-gpio"]])
def test_without_a_reset_the_daemon_asks_for_hello(tmp_path, pty, flags):
    daemon = started(tmp_path, "--device", pty, "--gpio-root", "/nonexistent-gpio", *flags)
    try:
        assert "no reset wired" in daemon.log()
    finally:
        daemon.stop()


def test_no_gpio_and_another_reset_method_conflict(tmp_path, pty):
    text = refused("--device", pty, "--socket", str(tmp_path / "s"), *COMMON, "--no-gpio",
                   "--reset-method", "modem-lines")
    assert "--no-gpio means --reset-method none" in text
