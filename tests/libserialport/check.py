"""The libserialport path of mqttbridged, exercised against a pseudo-terminal.

Run by run.sh inside a private mount namespace (unshare --mount), as root. libserialport refuses a
PTY twice: it looks the device up under /sys/class/tty/NAME/device, and its sp_open() asks for
the modem lines (TIOCMGET), which a PTY answers with ENOTTY. Here a tmpfs over /sys/class/tty
(private to the namespace) holds a fake entry that makes the PTY look like a CP2102 USB adapter,
and modemshim.so (LD_PRELOAD into mqttbridged only) answers the modem-line ioctls on PTYs and logs
every DTR/RTS change. Everything else is the real thing: libserialport's lookup, open and
configuration, the descriptor handed to SwiftNIO, the daemon's reset logic.

Prints one "ok - ..." or "FAIL - ..." line per check; run.sh counts them.

    python3 check.py BIN_DIR SHIM_SO
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

BIN = Path(sys.argv[1])
SHIM = sys.argv[2]
WORK = Path(tempfile.mkdtemp(prefix="mqttbridge-lsp-"))
FAKE_PORT = "/dev/ttyUSB7"
FAKE_PORT_TEXT = "/dev/ttyUSB7 (CP2102 USB to UART Bridge Controller, 10c4:ea60, serial 0001)"
failures = 0


def report(passed, what, detail=""):
    global failures
    if passed:
        print(f"ok - {what}", flush=True)
    else:
        failures += 1
        print(f"FAIL - {what}" + (f"\n    {detail}" if detail else ""), flush=True)


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def fake_sysfs():
    """A tmpfs over /sys/class/tty and a fake USB interface of a CP2102 adapter; ttyUSB7 is listed
    only (there is no /dev/ttyUSB7), PTYs are added by add_tty_entry()."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=755", "mqttbridge-fake-tty", "/sys/class/tty"],
                   check=True)
    usb_device = WORK / "devices/pci0000:00/0000:00:14.0/usb1/1-3"
    (usb_device / "1-3:1.0/ttyUSB7").mkdir(parents=True)
    for name, value in {"busnum": "1", "devnum": "4", "idVendor": "10c4", "idProduct": "ea60",
                        "manufacturer": "Silicon Labs", "product": "CP2102 USB to UART Bridge Controller",
                        "serial": "0001"}.items():
        (usb_device / name).write_text(value + "\n")
    add_tty_entry(FAKE_PORT)


def add_tty_entry(device):
    """/sys/class/tty/NAME/device for /dev/NAME, pointing at the fake adapter's interface.
    libserialport 0.1.1 looks "/dev/pts/N" up as /sys/class/tty/pts/N."""
    directory = Path("/sys/class/tty") / device[len("/dev/"):]
    directory.mkdir(parents=True)
    (directory / "device").symlink_to(WORK / "devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/ttyUSB7")


class Wire:
    """A PTY pair: the daemon opens `name`, the test plays the ESP on `controller`."""

    def __init__(self):
        self.controller, self.replica = os.openpty()
        self.name = os.ttyname(self.replica)
        add_tty_entry(self.name)

    def close(self):
        for fd in (self.controller, self.replica):
            try:
                os.close(fd)
            except OSError:
                pass


class Daemon:
    def __init__(self, device, *extra, preload=True):
        self.socket = WORK / f"mqtt-{time.monotonic_ns()}.sock"
        self.log_path = WORK / f"daemon-{time.monotonic_ns()}.log"
        env = dict(os.environ)
        if preload:
            env["LD_PRELOAD"] = SHIM
            env["MODEMSHIM_LOG"] = str(WORK / "modem.log")
        argv = [str(BIN / "mqttbridged"), "--device", device, "--socket", str(self.socket),
                "--broker", "127.0.0.1:1", "--wifi-ssid", "x", "--log-level", "debug", *extra]
        self.log_file = open(self.log_path, "wb")
        self.popen = subprocess.Popen(argv, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_for_socket(self):
        return wait_until(lambda: self.socket.exists() or self.popen.poll() is not None, 20) and self.socket.exists()

    def status(self):
        out = subprocess.run([str(BIN / "mqttbridge"), "status", "--json", "--socket", str(self.socket),
                              "--timeout", "5"], capture_output=True, timeout=20)
        return json.loads(out.stdout) if out.returncode == 0 else None

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log_file.close()


def modem_states():
    """(ms, dtr, rts, device) for every change of the lines the shim recorded, in order."""
    path = WORK / "modem.log"
    states = []
    if not path.exists():
        return states
    for line in path.read_text().splitlines():
        ms, _op, dtr, rts, device = line.split(" ", 4)
        state = (int(dtr[4:]), int(rts[4:]))
        if not states or states[-1][1:3] != state:
            states.append((int(ms), *state, device))
    return states


def reset_pulses(states):
    """(start ms, width ms, state released into, device) for each time EN went low (DTR off, RTS on)
    and back."""
    pulses = []
    for (t0, dtr0, rts0, device), (t1, dtr1, rts1, _) in zip(states, states[1:]):
        if (dtr0, rts0) == (0, 1):
            pulses.append((t0, t1 - t0, (dtr1, rts1), device))
    return pulses


def drain(fd, timeout):
    """Whatever arrives on fd within timeout."""
    received = b""
    os.set_blocking(fd, False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            received += os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.02)
    return received


def main():
    try:
        fake_sysfs()
        wire = Wire()
    except (subprocess.CalledProcessError, OSError) as error:
        report(False, "fake /sys/class/tty in the private mount namespace", str(error))
        return
    report(True, f"fake /sys/class/tty entry for {wire.name} (as a CP2102 USB adapter)")
    # The daemon opens a symlink, as /dev/serial/by-id/... would be, so the wire can be swapped.
    link = WORK / "esp"
    link.symlink_to(wire.name)

    # 1. Modem-line reset at 57600 baud.
    daemon = Daemon(str(link), "--reset-method", "modem-lines", "--baud", "57600", "--hello-timeout", "1")
    try:
        up = daemon.wait_for_socket()
        report(up, "mqttbridged starts on the PTY through libserialport with --reset-method modem-lines",
               daemon.log()[-2000:])
        if not up:
            return
        opened = f"serial device {link} is a UART, opened with libserialport at 57600 baud"
        report(opened in daemon.log(), "the device kind is UART, opened with libserialport", daemon.log()[-2000:])
        speed = termios.tcgetattr(wire.controller)[5]
        report(speed == termios.B57600, "the baud rate reached the tty (tcgetattr on the other end: 57600)",
               f"ospeed constant {speed}, expected {termios.B57600}")
        pulses = wait_until(lambda: len(reset_pulses(modem_states())) >= 2 and reset_pulses(modem_states()), 8)
        states = modem_states()
        report(bool(pulses), "DTR/RTS pulse EN low and release it, again after a HELLO timeout",
               f"line states (ms, dtr, rts, device): {states}")
        if pulses:
            start, width, _, _ = pulses[0]
            report(90 <= width <= 1000, f"EN is held low (DTR off, RTS on) for ~100 ms (measured {width} ms)",
                   f"pulses: {pulses}")
            report(all(p[2] == (0, 0) for p in pulses),
                   "each release goes to DTR off, RTS off: EN rises with GPIO0 high (firmware, not bootloader)",
                   f"pulses: {pulses}")
            before = [state[1:3] for state in states if state[0] < start]
            report(before[-1:] != [(1, 0)], "no GPIO0-low state (DTR on, RTS off) right before the reset",
                   f"states: {states}")
        junk = bytes(range(1, 200)) + b"\x00"
        os.write(wire.controller, junk)
        status = wait_until(lambda: (s := daemon.status()) and s["link"]["bytesIn"] >= len(junk) and s, 10)
        report(bool(status), f"bytes written on the other end reach the daemon's NIO channel ({len(junk)} bytes)",
               f"status: {daemon.status()}")

        # The device goes away (USB unplugged) and comes back as another tty: the reset must follow.
        old, wire = wire, Wire()
        replacement = WORK / "esp.new"
        replacement.symlink_to(wire.name)
        replacement.replace(link)
        old.close()
        pulses = wait_until(lambda: [p for p in reset_pulses(modem_states()) if p[3] == wire.name], 15)
        report(bool(pulses) and pulses[0][2] == (0, 0),
               f"after the device is lost and reopened ({old.name} -> {wire.name}) the reset drives the new one",
               f"states: {modem_states()[-6:]}; log: {daemon.log()[-1500:]}")
    finally:
        daemon.stop()

    # 2. No reset: the daemon speaks first (HELLO), which shows bytes flowing out.
    drain(wire.controller, 0.2)
    daemon = Daemon(wire.name, "--reset-method", "none")
    try:
        up = daemon.wait_for_socket()
        hello = drain(wire.controller, 3) if up else b""
        report(len(hello) >= 4 and hello.endswith(b"\x00"),
               f"bytes the daemon writes arrive on the other end (a HELLO frame, {len(hello)} bytes)",
               f"received {hello[:64]!r}; log: {daemon.log()[-1500:]}")
    finally:
        daemon.stop()

    # 3. A missing device: the error lists what libserialport enumerates.
    result = subprocess.run([str(BIN / "mqttbridged"), "--device", "/dev/ttyNOPE0", "--socket", str(WORK / "x"),
                             "--broker", "127.0.0.1:1", "--wifi-ssid", "x"],
                            capture_output=True, timeout=30, env=dict(os.environ, LD_PRELOAD=SHIM))
    text = result.stderr.decode(errors="replace")
    report(result.returncode != 0 and "does not exist" in text and "check --device" in text
           and f"serial ports on this machine: {FAKE_PORT_TEXT}" in text,
           "a missing --device lists the serial ports libserialport sees", text[-1500:])

    # 4. Control: without the shim, libserialport's own open fails on the PTY. This shows the
    #    checks above went through libserialport (the termios path would have opened it).
    daemon = Daemon(wire.name, "--reset-method", "none", preload=False)
    try:
        exited = wait_until(lambda: daemon.popen.poll() is not None, 20)
        text = daemon.log()
        report(exited and daemon.popen.returncode != 0 and f"could not configure {wire.name}: open" in text,
               "control: without the shim libserialport refuses the PTY (TIOCMGET), so the path above is real",
               text[-1500:])
    finally:
        daemon.stop()
    wire.close()


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # report, then let run.sh count it
        report(False, "the checker itself", repr(error))
    finally:
        if not os.environ.get("MQTTBRIDGE_LSP_KEEP"):
            shutil.rmtree(WORK, ignore_errors=True)
        else:
            print(f"kept {WORK}")
    sys.exit(1 if failures else 0)
