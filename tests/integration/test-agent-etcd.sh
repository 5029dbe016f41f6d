#!/bin/bash
# medic agent and a real etcd (Debian's etcd-server) that is killed and started again: every
# thread of the new etcd gets the policy's I/O priority from the proc connector's exec
# event, and so do the threads Go starts after that, checked with ionice per thread. The
# target is etcd's executable copied to this test's temp dir, so no other etcd on the
# machine can match; etcd listens inside a network namespace of the test's own.
. "$(dirname "$0")/lib.sh"
ETCD=${ETCD:-$(command -v etcd || true)}
[ -x "$ETCD" ] || skip "no etcd binary (make deps unpacks Debian's etcd-server)"
command -v ionice >/dev/null || skip "needs ionice"
setup
mkdir -m 0755 "$T/bin"
cp "$ETCD" "$T/bin/etcd"
write_policy "$POLICY" <<YAML
medic: 1
name: agent-etcd
targets:
  etcd: {process: {exe: $T/bin/etcd}}
actions:
  - name: etcd disk I/O first
    io-priority: {target: etcd, class: best-effort, level: 0}
YAML
ip -n "$NS" link set lo up

start_etcd() {
        rm -rf "$T/etcd"
        ip netns exec "$NS" "$T/bin/etcd" --name t --data-dir "$T/etcd" \
                --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
                --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
                --initial-cluster t=http://127.0.0.1:2380 >"$T/etcd.log" 2>&1 &
        ETCD_PID=$!
        helper_pid "$ETCD_PID"
}
all_threads_be0() {
        local t n=0
        for t in /proc/"$1"/task/*; do
                [ "$(ionice -p "${t##*/}" 2>/dev/null)" = "best-effort: prio 0" ] || return 1
                n=$((n + 1))
        done
        [ "$n" -gt 1 ]
}
threads() { for t in /proc/"$1"/task/*; do ionice -p "${t##*/}" 2>/dev/null; done | sort | uniq -c | tr '\n' ';'; }

start_etcd
first=$ETCD_PID
wait_until 10 grep -q "ready to serve client requests" "$T/etcd.log" || fail "etcd did not start: $(tail -3 "$T/etcd.log")"

step "the agent starts and sets every thread of etcd"
"$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" agent --sysctl-interval 3600 >"$T/agent.log" 2>&1 &
AGENT=$!
helper_pid "$AGENT"
wait_until 10 all_threads_be0 "$first" || fail "threads of etcd $first: $(threads "$first"); $(cat "$T/agent.log")"
grep -q "no process events" "$T/agent.log" && skip "the proc connector is refused here: $(grep 'no process events' "$T/agent.log")"

step "etcd is killed and started again: the new one is set from its exec event"
kill "$first"
wait "$first" 2>/dev/null || true
t0=$(now_ms)
start_etcd
wait_until 5 grep -q "^medic agent: repaired .*(pid $ETCD_PID started)" "$T/agent.log" ||
        fail "no repair for etcd $ETCD_PID: $(cat "$T/agent.log")"
log "repaired within $(( $(now_ms) - t0 )) ms of the exec (the log polled every 100 ms)"
wait_until 10 grep -q "ready to serve client requests" "$T/etcd.log" || fail "etcd did not start again"
all_threads_be0 "$ETCD_PID" || fail "threads of etcd $ETCD_PID once it serves: $(threads "$ETCD_PID")"
log "etcd $ETCD_PID serves with $(ls /proc/$ETCD_PID/task | wc -l) threads, all best-effort: prio 0"

step "SIGTERM: exit 0, etcd keeps its priority"
kill -TERM "$AGENT"
rc=0
wait "$AGENT" || rc=$?
assert_eq 0 "$rc" "the agent's exit code"
all_threads_be0 "$ETCD_PID" || fail "the priority went with the agent"
