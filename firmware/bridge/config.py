# CONFIG (firmware-protocol.md section 5.2): decode and check the items,
# and apply them (run: the teardown of the old configuration first).
# Imported only while a CONFIG is handled and dropped afterwards (app.py):
# between configurations its code would only take heap.
#
# The configuration is kept as the list of values indexed by CONFIG key:
#   1 wifi_ssid str, 2 wifi_password str, 3 broker_host str, 4 broker_port,
#   5 client_id bytes, 6 username bytes or None, 7 password bytes or None,
#   8 keepalive, 9 clean_session, 10 will_topic bytes or None,
#   11 will_payload bytes, 12 will_qos, 13 will_retain, 14 tls,
#   15 ntp_server bytes (empty: no NTP), 16 ntp_port (ntp.py).


def _name(k):
    # -> the name of CONFIG key k (1..16).
    return (
        "wifi_ssid wifi_password broker_host broker_port client_id username password keepalive"
        " clean_session will_topic will_payload will_qos will_retain tls ntp_server ntp_port"
    ).split()[k - 1]


def _item(k, x):
    # Check the value x (bytes) of CONFIG key k: -> (the value to keep,
    # None), or (None, why not). Per key: the kind, t UTF-8 text, b bytes or
    # i integer; the length (the exact size of an integer, else the least)
    # and the most (length of a text, value of an integer). (Small
    # functions: each is loaded into the heap in one piece, and the heap has
    # no large free pieces left.)
    t = "tttittbiitbiiiti"[k - 1]
    n = b"\x01\x00\x01\x02\x01\x00\x00\x02\x01\x01\x00\x01\x01\x01\x00\x02"[k - 1]
    e = (32, 64, 253, 65535, 65535, 65535, 65535, 65535, 1, 65535, 65535, 1, 1, 1, 253, 65535)[k - 1]
    if t == "i":
        return _int(k, x, n, e)
    if t == "t":
        return _text(k, x, n, e)
    return x, None


def _int(k, x, n, e):
    x = int.from_bytes(x, "big") if len(x) == n else -1
    p = k == 4 or k == 16  # a port: 0 is no port
    if 0 <= x <= e and (x or not p):
        return x, None
    return None, "%d-byte integer, %d to %d" % (n, p, e)


def _text(k, x, n, e):
    try:
        x.decode()
    except UnicodeError:
        x = b"\x00"
    if n <= len(x) <= e and b"\x00" not in x and not (k == 10 and (b"+" in x or b"#" in x)):
        return x, None
    return None, "UTF-8 of %d to %d bytes, no NUL" % (n, e) + (", no wildcard" if k == 10 else "")


def decode(data):
    # data: the CONFIG payload (memoryview). -> (result, detail, values)
    # with CONFIG_ACK's results: 0 accepted, 1 missing, 2 invalid,
    # 3 unsupported. (Small functions: each is loaded into the heap in one
    # piece, and the heap has no large free pieces left.)
    # v[0]: the CONNECT packet, made by run().
    v = [None, None, b"", None, 1883, None, None, None, 60, 1, None, b"", 0, 0, 0, b"", 123]
    n = 0
    while n < len(data):
        k = data[n]
        e = n + 3 + (int.from_bytes(data[n + 1 : n + 3], "big") if n + 3 <= len(data) else 1 << 16)
        if e > len(data):
            return 2, "item at offset %d is truncated" % n, None
        if 0 < k < 17:  # unknown keys are ignored; the last one counts
            x, t = _item(k, bytes(data[n + 3 : e]))
            if t:
                return 2, "key %d (%s) is invalid: %s" % (k, _name(k), t), None
            v[k] = x
        n = e
    return _final(v)


def _final(v):
    # The checks of the whole configuration v, as decode() does.
    for k in (1, 3, 5):
        if v[k] is None:
            return 1, "key %d (%s) is missing" % (k, _name(k)), None
    if v[7] is not None and v[6] is None:
        # MQTT 3.1.1 section 3.1.2.9: no password without a user name.
        return 2, "key 7 (password) needs key 6 (username)", None
    if v[14]:
        return 3, "key 14 (tls): this firmware has no TLS", None
    for k in (1, 2, 3):
        v[k] = v[k].decode()
    return 0, "", v


async def run(app, data):
    # CONFIG replaces the whole state (section 5.2): the broker connection
    # is closed (app.py had the client's task do it before this module
    # loaded), subscriptions and held publishes are forgotten; the latter
    # are answered PUBACK `offline` so that the host sends them again.
    # Accepted, the configuration becomes the client's, with its CONNECT
    # packet in v[0].
    import gc

    c = app.mqtt
    for t in c.held:
        if t[2]:
            c.buffer.append(t[2])
        app.link.send(0x20, "HB", t[1], 1)  # PUBACK offline
    c.held = []
    c.subs = {}
    c.pending = {}
    c.t[4] = -1
    t = None
    gc.collect()
    r, t, v = decode(data)
    gc.collect()
    app.link.send(0x03, "Bs", r, t)  # CONFIG_ACK
    if r:
        # Refused: the ESP is left unconfigured, WiFi included.
        app.hw.wifi_connect(None, None)
        if app.mode and app.mode[0]:
            app.state(0, "not configured", 0, "")
        app.send(0x25, "Br", 3, "CONFIG refused: " + t)  # LOG error
        return
    _accept(app, c, v)


def _accept(app, c, v):
    # The accepted configuration v becomes client c's.
    app.done = True
    app.mode = None
    app.send(0x25, "Br", 1, "configured: WiFi %s, broker %s:%d" % (v[1], v[3], v[4]))  # LOG info
    _connect(v)
    app.cfg = c.cfg = v


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
