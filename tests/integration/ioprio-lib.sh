# shellcheck shell=bash
# Helpers for the io-priority tests, sourced after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/ioprio-lib.sh"
#   ioprio_setup                      # setup, and skip without ionice
#   need_etcd; start_etcd; wait_etcd_ready   # ETCD_PID, its pidfile $T/etcd.pid
#   expect_rc 2 medic_host apply
#   ioprio_snapshot "$ETCD_PID"       # "TID class" per thread, from ionice -p
#
# io-priority is not per network namespace, and a unit rule reads /sys/fs/cgroup, which
# `ip netns exec` hides behind a fresh /sys: medic runs in the host's namespaces here, with
# a policy that changes nothing but this test's own processes (host_safe_policy).

. "$(dirname "${BASH_SOURCE[0]}")/agent-lib.sh"

ETCD=${ETCD:-$(command -v etcd || true)}
ETCD_PID=""

ioprio_setup() {
        setup
        command -v ionice >/dev/null || skip "needs ionice"
}

# medic_host ARGS...: medic in the host's namespaces with the test's policy, state and log.
medic_host() {
        host_safe_policy
        "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" "$@"
}

need_etcd() { [ -x "$ETCD" ] || skip "no etcd binary (make deps unpacks Debian's etcd-server)"; }

# start_etcd [BINARY]: etcd ($ETCD unless given) in the test's network namespace on
# 127.0.0.1:2379/2380, with a fresh data dir in $T; ETCD_PID is its pid (ip netns exec
# execs it in place), also written to $T/etcd.pid; killed at exit.
start_etcd() {
        local bin=${1:-$ETCD}
        rm -rf "$T/etcd"
        ip -n "$NS" link set lo up
        ip netns exec "$NS" "$bin" --name t --data-dir "$T/etcd" \
                --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
                --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
                --initial-cluster t=http://127.0.0.1:2380 >"$T/etcd.log" 2>&1 &
        ETCD_PID=$!
        helper_pid "$ETCD_PID"
        echo "$ETCD_PID" >"$T/etcd.pid"
}

etcd_ready() { grep -q "ready to serve client requests" "$T/etcd.log" 2>/dev/null; }
wait_etcd_ready() { wait_until 10 etcd_ready || fail "etcd did not start: $(tail -3 "$T/etcd.log")"; }

# stop_etcd: kills the etcd start_etcd started last.
stop_etcd() {
        kill "$ETCD_PID"
        wait "$ETCD_PID" 2>/dev/null || true
}

# ioprio_snapshot PID: "TID class" for every thread of PID, from ionice -p, by TID.
ioprio_snapshot() {
        local t
        for t in /proc/"$1"/task/*; do
                t=${t##*/}
                printf '%s %s\n' "$t" "$(ionice -p "$t" 2>/dev/null || echo gone)"
        done | sort -n
}

# all_threads_are PID CLASS [N]: every thread of PID shows CLASS in ionice -p ("best-effort:
# prio 0"), and there are N of them (default: more than one).
all_threads_are() {
        local t n=0
        for t in /proc/"$1"/task/*; do
                [ "$(ionice -p "${t##*/}" 2>/dev/null)" = "$2" ] || return 1
                n=$((n + 1))
        done
        if [ -n "${3:-}" ]; then [ "$n" = "$3" ]; else [ "$n" -gt 1 ]; fi
}

# thread_classes PID: "COUNT CLASS;" per class among PID's threads (for failure messages).
thread_classes() {
        local t
        for t in /proc/"$1"/task/*; do ionice -p "${t##*/}" 2>/dev/null; done | sort | uniq -c | tr '\n' ';'
}
