#!/bin/bash
# medic agent and a real etcd (Debian's etcd-server) that is killed and started again: every
# thread of the new etcd gets the policy's I/O priority from the proc connector's exec
# event, and so do the threads Go starts after that, checked with ionice per thread. The
# target is etcd's executable copied to this test's temp dir, so no other etcd on the
# machine can match; etcd listens inside a network namespace of the test's own.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ioprio-lib.sh"
need_etcd
ioprio_setup
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

all_threads_be0() { all_threads_are "$1" "best-effort: prio 0"; }
threads() { thread_classes "$1"; }

start_etcd "$T/bin/etcd"
first=$ETCD_PID
wait_etcd_ready

step "the agent starts and sets every thread of etcd"
start_agent --sysctl-interval 3600
wait_until 10 all_threads_be0 "$first" || fail "threads of etcd $first: $(threads "$first"); $(cat "$T/agent.log")"
skip_without_proc_events

step "etcd is killed and started again: the new one is set from its exec event"
stop_etcd
t0=$(now_ms)
start_etcd "$T/bin/etcd"
wait_until 5 grep -q "^medic agent: repaired .*(pid $ETCD_PID started)" "$T/agent.log" ||
        fail "no repair for etcd $ETCD_PID: $(cat "$T/agent.log")"
log "repaired within $(( $(now_ms) - t0 )) ms of the exec (the log polled every 100 ms)"
wait_until 10 etcd_ready || fail "etcd did not start again"
all_threads_be0 "$ETCD_PID" || fail "threads of etcd $ETCD_PID once it serves: $(threads "$ETCD_PID")"
log "etcd $ETCD_PID serves with $(ls /proc/$ETCD_PID/task | wc -l) threads, all best-effort: prio 0"

step "SIGTERM: exit 0, etcd keeps its priority"
stop_agent
all_threads_be0 "$ETCD_PID" || fail "the priority went with the agent"
