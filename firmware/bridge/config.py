# CONFIG (firmware-protocol.md section 5.2): decode and check the items
# (decode); apply.py then makes them take effect. Imported only while a
# CONFIG is handled and dropped before apply.py loads (app.py): between
# configurations its code would only take heap, and the two together need
# more heap in pieces than a running bridge may have free.
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
    # v[0]: the CONNECT packet, made by apply.py.
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
