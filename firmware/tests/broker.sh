#!/bin/sh
# A private mosquitto for the tests: tests/broker.sh start|stop DIR PORT.
# start returns once the broker accepts connections; stop once it is gone.
set -u
cmd=$1 dir=$2 port=$3
case $cmd in
start)
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\nmax_inflight_messages 0\n' \
        "$port" >"$dir/mosquitto.conf"
    mosquitto -c "$dir/mosquitto.conf" >>"$dir/mosquitto.log" 2>&1 &
    echo $! >"$dir/mosquitto.pid"
    i=0
    until mosquitto_pub -p "$port" -t probe -n 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 50 ] && { echo "mosquitto did not start on port $port" >&2; exit 1; }
        sleep 0.1
    done
    ;;
stop)
    pid=$(cat "$dir/mosquitto.pid" 2>/dev/null) || exit 0
    kill "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    rm -f "$dir/mosquitto.pid"
    ;;
esac
