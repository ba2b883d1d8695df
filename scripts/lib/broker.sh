# Starting a private mosquitto for scripts/demo and scripts/bench. Source it.

# Prints a free TCP port on the loopback interface.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_broker DIR PORT: runs mosquitto on 127.0.0.1:PORT with its files in DIR; sets BROKER_PID.
# The queue limits are raised because mosquitto's defaults (1000 queued, 20 in flight) drop a
# fast stream silently.
start_broker() {
    local dir=$1 port=$2
    cat > "$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 0
log_dest file $dir/mosquitto.log
user root
CONF
    mosquitto -c "$dir/mosquitto.conf" 2>>"$dir/mosquitto.log" &
    BROKER_PID=$!
    for _ in $(seq 100); do
        if mosquitto_pub -h 127.0.0.1 -p "$port" -t mqttbridge/probe -n 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "mosquitto did not start on port $port; see $dir/mosquitto.log" >&2
    return 1
}
