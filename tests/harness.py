"""What the integration tests and the benchmarks share: free loopback ports, waiting for a
condition, the configuration of a private mosquitto, and esp-sim's control socket."""

import socket
import time


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
