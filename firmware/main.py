# mqttbridge bridge firmware: the entry point on the ESP8266 and under
# esp-sim (micropython -X heapsize=36k firmware/main.py). Picks the hardware
# twin and starts the bridge.
#
# The modules run as precompiled .mpy bytecode on both twins: compiling them
# from source on the board would need more heap than it has (the parser holds
# a whole module's tree). On the ESP8266 they are flashed next to this file;
# under the Unix port build.sh refreshes firmware/build/ first (next to this
# file), which is quick when nothing changed. mpy-cross is looked for next to
# the micropython executable first.

import sys

if sys.platform == "esp8266":
    import hw_esp8266 as hw
else:
    import os

    if os.system("BIN=%s sh %s/build.sh" % (sys.executable.rsplit("/", 1)[0], sys.path[0])):
        raise SystemExit("firmware build failed")
    sys.path.insert(0, sys.path[0] + "/build")
    import hw_unix as hw

if hw.init():  # else maintenance: leave the REPL alone
    import asyncio
    from bridge.link import Link

    link = Link(hw.uart())  # first: its buffers want contiguous heap
    from bridge.app import Bridge

    try:
        asyncio.run(Bridge(hw, link).run())
    except Exception as e:
        hw.fatal(e)
