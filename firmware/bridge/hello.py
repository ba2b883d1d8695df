# The rare messages from the host, and the rare lines to it, handled here
# rather than in app.py so that their code is in the heap only while they
# come: app.py loads this module for them and drops it again after 2 s
# without one. A HELLO of another version (ERROR version), BAUD (8.8),
# ERROR, unknown types, a CONFIG after a HELLO of another version; the LOG
# lines of the link's error counters (errors) and of a rejected PUBLISH
# (reject); the rate change (set).
#
# Should the heap lack room to load it (it is fragmented), app.py takes a
# sequenced frame back and the host sends it again.

from micropython import const
from time import ticks_ms
from bridge.link import START_RATE

_HEARD = const(17)  # link.py's indexes in Link.s
_RATE = const(27)


def set(link, n):
    # Set the UART to n baud (8.8). -> False when it cannot take that rate.
    if not link.baud(link.stream, n):
        return False
    link.s[_RATE] = n
    link.s[_HEARD] = ticks_ms()
    return True


def errors(app):
    # The link's error counters, when they changed (app.py looks).
    app.send(0x25, "Br", 2, "link errors: %d CRC, %d framing, %d oversize, %d unsupported, %d not sent" % tuple(app.link.errors))


def reject(app, n, r, v):
    # The LOG line for PUBLISH n rejected (app.py answered PUBACK): r is
    # why, v the topic id or total_length it is about.
    r = ("flags", "message id 0", "topic id %d" % v, "total_length %d" % v, "topic")[r]
    app.send(0x25, "Br", 2, "PUBLISH %d rejected: %s" % (n, r))


def baud(app, data):
    # BAUD (8.8): the ACK that covers it at the old rate, then the new rate.
    # (Small functions: each is loaded into the heap in one piece, and the
    # heap has no large free pieces left.)
    link = app.link
    if len(data) < 4:
        raise ValueError("BAUD: payload too short")
    v = int.from_bytes(data[:4], "big")
    link.flush(1)
    if not (app.cfg and START_RATE < v <= app.hw.MAX_BAUD and set(link, v)):
        app.send(0x25, "Br", 2, "BAUD %d refused: staying at %d" % (v, link.s[_RATE]))


def get(app, t, data):
    # A message of type t with payload data (a memoryview) from the host.
    link = app.link
    n = len(data)
    if t == 0x01:  # HELLO of another version
        app.send(
            0x04, "Bs", 1,  # ERROR version
            "firmware speaks link protocol 2, host speaks %d:"
            " update mqttbridged or flash a matching firmware" % (data[0] if n else 0),
        )
        app.hello()
    elif t == 0x14:  # BAUD: rate
        baud(app, data)
    elif t == 0x02:  # CONFIG, after a HELLO of another version
        app.send(0x25, "Br", 2, "CONFIG ignored: host speaks another protocol version")
    elif t == 0x04:  # ERROR: code, detail (str8)
        app.hw.log("ERROR %s" % bytes(data))
    elif t != 0x06:  # PONG: nothing to do
        app.send(0x04, "Bs", 2, "type %d" % t)  # ERROR unknown-type
