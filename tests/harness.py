"""What the integration tests, the fault campaign and the benchmarks share: free loopback ports,
waiting for a condition, child processes with a log file each, the configuration of a private
mosquitto, and esp-sim's control socket."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what):
    """Polls `predicate` until it returns a true value and returns that value; raises
    TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Process:
    """A child process in its own session (a stop reaches whatever it started), its output in
    DIRECTORY/NAME.log, which log() reads. `append`: the log follows an earlier one of the same
    name (a restarted daemon's after the killed one's), behind a line saying when it started.
    `stdout` (e.g. subprocess.PIPE) replaces the log for standard output."""

    def __init__(self, name, argv, directory, env=None, stdin=None, stdout=None, append=False):
        self.name = name
        self.log_path = Path(directory) / f"{name}.log"
        self._log = open(self.log_path, "ab" if append else "wb")
        if append:
            self._log.write(f"==== {time.monotonic():.3f} started: {' '.join(map(str, argv))}\n".encode())
            self._log.flush()
        self.popen = subprocess.Popen(argv, stdin=stdin, stdout=stdout or self._log, stderr=self._log,
                                      env={**os.environ, **(env or {})}, start_new_session=True)

    def log(self):
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends `sig`; SIGKILL to the whole session when the process has not ended `timeout` s
        later. Returns its exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()
        if self.popen.stdin:
            try:
                self.popen.stdin.close()
            except BrokenPipeError:
                pass  # what was not read is of no use to a dead process
        return self.popen.returncode


def mosquitto_config(port):
    """A mosquitto configuration on 127.0.0.1:`port`. The queue limits are raised because
    mosquitto's defaults (1000 queued, 20 in flight per client) drop a fast stream silently."""
    return (f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 1000000\nmax_inflight_messages 0\nuser root\n")


def accepts_connections(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def esp_sim_command(path, command):
    """One command to esp-sim's control socket (docs/esp-sim.md §5); its answer after `ok`."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(path))
        s.sendall(command.encode() + b"\n")
        answer = s.makefile().readline().rstrip("\n")
    if not answer.startswith("ok"):
        raise RuntimeError(f"esp-sim refused '{command}': {answer}")
    return answer[2:].strip()
