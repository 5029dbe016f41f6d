# shellcheck shell=bash
# Helpers for the diagnose tests, sourced after lib.sh (or mount-lib.sh):
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/diagnose-lib.sh"

# diag_start_etcd CPU SECONDS: a one-member etcd in $NS on 127.0.0.1, pinned to CPU, with a
# 10 ms heartbeat that keeps its threads waking up (the run-queue delay has something to
# measure). Its pid goes to $etcd and $T/etcd.pid (killed at exit), its output to
# $T/etcd.log; the test fails unless etcd serves within SECONDS.
diag_start_etcd() {
        ip netns exec "$NS" taskset -c "$1" "$ETCD" --name t --data-dir "$T/etcd" \
                --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
                --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
                --initial-cluster t=http://127.0.0.1:2380 --heartbeat-interval 10 --election-timeout 100 >"$T/etcd.log" 2>&1 &
        etcd=$!
        helper_pid "$etcd"
        echo "$etcd" >"$T/etcd.pid"
        wait_until "$2" grep -qs "ready to serve client requests" "$T/etcd.log" ||
                fail "etcd did not start: $(tail -3 "$T/etcd.log")"
}
