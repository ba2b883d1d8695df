# CONFIG (firmware-protocol.md section 5.2): parse and check the items.
# Imported only while a CONFIG is handled and dropped afterwards (app.py):
# between configurations its code would only take heap.
#
# The configuration is kept as the list of values indexed by CONFIG key:
#   1 wifi_ssid str, 2 wifi_password str, 3 broker_host str, 4 broker_port,
#   5 client_id bytes, 6 username bytes or None, 7 password bytes or None,
#   8 keepalive, 9 clean_session, 10 will_topic bytes or None,
#   11 will_payload bytes, 12 will_qos, 13 will_retain, 14 tls,
#   15 ntp_server (accepted and ignored: this firmware has no NTP).


def parse(data):
    # data: the CONFIG payload (memoryview). -> (result, detail, values)
    # with CONFIG_ACK's results: 0 accepted, 1 missing, 2 invalid,
    # 3 unsupported.
    # Per key 1..15: the name; the kind, t UTF-8 text, b bytes or i integer;
    # the length (the exact size of an integer, else the least) and the most
    # (length of a text, value of an integer). Local constants: no global
    # names to intern.
    names = (
        "wifi_ssid wifi_password broker_host broker_port client_id username password keepalive"
        " clean_session will_topic will_payload will_qos will_retain tls ntp_server"
    )
    kind = "tttittbiitbiiit"
    least = b"\x01\x00\x01\x02\x01\x00\x00\x02\x01\x01\x00\x01\x01\x01\x01"
    most = (32, 64, 253, 65535, 65535, 65535, 65535, 65535, 1, 65535, 65535, 1, 1, 1, 253)
    v = [None, None, b"", None, 1883, None, None, None, 60, 1, None, b"", 0, 0, 0, None]
    n = 0
    while n < len(data):
        k = data[n]
        e = n + 3 + (int.from_bytes(data[n + 1 : n + 3], "big") if n + 3 <= len(data) else 1 << 16)
        if e > len(data):
            return 2, "item at offset %d is truncated" % n, None
        if 0 < k < 16:  # unknown keys are ignored; the last one counts
            x = bytes(data[n + 3 : e])
            t = kind[k - 1]
            lo = least[k - 1]
            hi = most[k - 1]
            if t == "i":
                x = int.from_bytes(x, "big") if len(x) == lo else -1
                t = 0 <= x <= hi and (x or k != 4)  # port 0 is no port
            elif t == "t":
                try:
                    x.decode()
                    t = lo <= len(x) <= hi and b"\x00" not in x
                    t = t and not (k == 10 and (b"+" in x or b"#" in x))
                except UnicodeError:
                    t = False
            if not t:
                return 2, "key %d (%s) is invalid: %s" % (
                    k,
                    names.split()[k - 1],
                    ("%d-byte integer, %d to %d" % (lo, k == 4, hi))
                    if kind[k - 1] == "i"
                    else ("UTF-8 of %d to %d bytes, no NUL" % (lo, hi) + (", no wildcard" if k == 10 else "")),
                ), None
            v[k] = x
        n = e
    for k in (1, 3, 5):
        if v[k] is None:
            return 1, "key %d (%s) is missing" % (k, names.split()[k - 1]), None
    if v[7] is not None and v[6] is None:
        # MQTT 3.1.1 section 3.1.2.9: no password without a user name.
        return 2, "key 7 (password) needs key 6 (username)", None
    if v[14]:
        return 3, "key 14 (tls): this firmware has no TLS", None
    for k in (1, 2, 3):
        v[k] = v[k].decode()
    return 0, "", v
