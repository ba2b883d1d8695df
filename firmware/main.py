# mqttbridge bridge firmware: the entry point on the ESP8266 and under
# esp-sim (micropython -X heapsize=36k firmware/main.py). Picks the hardware
# twin (importing it starts the board) and starts the bridge.
#
# The modules run precompiled on both twins: compiling them from source on
# the board would need more heap than it has (the parser holds a whole
# module's tree). On the ESP8266 they are flashed (or frozen) next to this
# file; under the Unix port `build.sh unix` refreshes firmware/build/unix/
# first (native code kept outside the heap, as frozen code is on the board),
# which is quick when nothing changed. mpy-cross is looked for next to the
# micropython executable first. The firmware directory becomes the current
# one: module paths are interned, the shorter the better.

import sys

if sys.platform == "esp8266":
    import hw_esp8266 as hw
else:
    import os

    os.chdir(sys.path[0])
    if os.system("BIN=%s sh build.sh unix" % sys.executable.rsplit("/", 1)[0]):
        raise SystemExit("firmware build failed")
    sys.path[0] = "build/unix"
    import hw_unix as hw

if hw.run:  # else maintenance: leave the REPL alone
    import asyncio

    # All the firmware uses of asyncio is its core module: the package's
    # namespace (a copy of core's and a table of lazily loaded parts) can
    # go, which saves 0.8 KB of heap.
    sys.modules["asyncio"] = asyncio = asyncio.core
    # The resident code first, then what is made once (boot.py), which
    # then leaves one free region in the heap rather than scattered holes.
    import bridge.app
    import bridge.boot

    app = bridge.boot.start(hw)
    del sys.modules["bridge.boot"], bridge.boot  # made once: its code can go
    try:
        asyncio.run(app.run())
    except Exception as e:
        if sys.platform != "esp8266":
            raise  # the traceback to stderr and exit status 1, for esp-sim
        hw.fatal(e)
