# Modules loaded and dropped again and again (MicroPython, the twin's build):
# the bridge loads hello.py, net.py, config.py and apply.py when it needs them and
# drops them after (app.py get() and _drop()), for as long as it runs. Under
# the Unix port a module compiled to native code leaves some heap behind at
# every load; build.sh unix therefore compiles these four to bytecode, which
# leaves nothing. A firmware that ran out of heap after a few dozen broker
# reconnections, CONFIGs or rare messages is what this would catch.

import gc
import sys
from t import check
import asyncio  # noqa: F401  (the modules import it; loaded once, as in the firmware)
import bridge.app as app

LOADS = 40


def cycle(n):
    __import__("bridge." + n)
    app._drop(n)


for n in ("hello", "net", "config", "apply"):
    for i in range(3):  # the first loads intern the module's names, for good
        cycle(n)
    gc.collect()
    before = gc.mem_alloc()
    for i in range(LOADS):
        cycle(n)
    gc.collect()
    left = gc.mem_alloc() - before
    check("%s.py loaded and dropped %d times: no heap left behind (%d bytes)" % (n, LOADS, left), left <= 0, left)
