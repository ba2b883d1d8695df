# A decoded CONFIG takes effect (firmware-protocol.md section 5.2): the old
# state goes, an accepted configuration gets its CONNECT packet and becomes
# the MQTT client's, and CONFIG_ACK answers. Loaded once config.py has
# decoded the items and been dropped, and dropped right after (app.py):
# the two never share the heap.
#
# CONFIG_ACK is sent once everything that allocates is done: until then a
# MemoryError has app.py take the frame back, the host sends it again, and
# what ran before runs again harmlessly. A CONFIG is never half applied nor
# acknowledged and then lost.


def run(app, d):
    # d: config.decode()'s (result, detail, values).
    # CONFIG replaces the whole state: the broker connection is closed
    # (app.py had the client's task do it), subscriptions and held publishes
    # are forgotten; the latter are answered PUBACK `offline` so that the
    # host sends them again.
    r, t, v = d
    c = app.mqtt
    held = c.held
    c.held = []
    for x in held:
        if x[2]:
            c.buffer.append(x[2])
        app.link.send(0x20, "HB", x[1], 1)  # PUBACK offline
    c.subs = {}
    c.pending = {}
    c.t[4] = -1
    if r:
        # Refused: the ESP is left unconfigured, WiFi included.
        app.hw.wifi_connect(None, None)
        if app.mode and app.mode[0]:
            app.state(0, "not configured", 0, "")
        e = "CONFIG refused: " + t
    else:
        _connect(v)
        e = "configured: WiFi %s, broker %s:%d" % (v[1], v[3], v[4])
    if not app.link.send(0x03, "Bs", r, t):  # CONFIG_ACK
        # Not queued (the send queue full, or no heap for it): taken back
        # as well, for the host to send again.
        raise MemoryError
    if not r:
        app.done = True
        app.mode = None
        app.cfg = c.cfg = v
    app.send(0x25, "Br", 3 if r else 1, e)  # LOG error or info


def _connect(v):
    # The CONNECT packet for the configuration v, in v[0]: protocol name and
    # level, flags, keepalive, client id, will topic and message, user
    # name, password. What only went into it is dropped from v.
    w = v[10] is not None
    n = 12 + len(v[5]) + (4 + len(v[10]) + len(v[11]) if w else 0)
    for k in v[6:8]:
        n += 2 + len(k) if k is not None else 0
    k = 1 if n < 0x80 else 2  # remaining length, < 16384
    b = v[0] = bytearray(1 + k + n)
    b[0] = 0x10
    b[1] = n & 0x7F | (0x80 if k > 1 else 0)
    if k > 1:
        b[2] = n >> 7
    _fields(b, k + 1, v, w)
    for k in (5, 6, 7, 10, 11):
        v[k] = None  # in the CONNECT packet now


def _fields(b, n, v, w):
    # The variable header and payload of CONNECT into b from offset n.
    from struct import pack_into

    h = n + 6  # after the protocol name
    for k in (b"MQTT", v[5], v[10] if w else None, v[11] if w else None, v[6], v[7]):
        if k is not None:
            pack_into(">H", b, n, len(k))
            b[n + 2 : n + 2 + len(k)] = k
            n += 2 + len(k)
        if n == h:
            # After the protocol name: level 4, the flags, the keepalive.
            b[n] = 4
            b[n + 1] = (
                (2 if v[9] else 0)
                | (4 | v[12] << 3 | v[13] << 5 if w else 0)
                | (0x80 if v[6] is not None else 0)
                | (0x40 if v[7] is not None else 0)
            )
            pack_into(">H", b, n + 2, v[8])
            n += 4
