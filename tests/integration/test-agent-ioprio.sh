#!/bin/bash
# medic agent and a restarted process: the proc connector announces the new process (exec,
# then its comm), and every thread of it gets the policy's I/O priority, checked with
# ionice per thread. The proc connector only speaks in the initial network namespace, so
# this agent runs there — with a policy that touches nothing but this test's own process.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ioprio-lib.sh"
comm=ag$$
comm=${comm:0:15}
setup - <<YAML
medic: 1
name: agent-ioprio
targets:
  etcd: {process: {comm: $comm}}
actions:
  - name: etcd disk I/O first
    io-priority: {target: etcd, class: best-effort, level: 2}
YAML
command -v ionice >/dev/null || skip "needs ionice"

has_4_threads() { [ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" = 4 ]; }
start_target() { # a process with 4 threads that names itself $comm
        python3 - "$comm" <<'PY' &
import ctypes, sys, threading, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
for _ in range(3):
    threading.Thread(target=time.sleep, args=(120,), daemon=True).start()
time.sleep(120)
PY
        TARGET=$!
        helper_pid "$TARGET"
        wait_until 5 has_4_threads "$TARGET" || fail "the target did not start its threads"
}
all_threads_be2() { all_threads_are "$1" "best-effort: prio 2" 4; }

start_target
first=$TARGET
step "the agent starts and sets every thread"
start_agent --sysctl-interval 3600
wait_until 10 all_threads_be2 "$first" || fail "threads of pid $first: $(thread_classes "$first")"
skip_without_proc_events

step "the process restarts: the new one is set too, without waiting for a timer"
kill "$first"
wait "$first" 2>/dev/null || true
t0=$(now_ms)
start_target
wait_until 5 all_threads_be2 "$TARGET" || fail "threads of the new pid $TARGET: $(thread_classes "$TARGET"); $(cat "$T/agent.log")"
log "set within $(( $(now_ms) - t0 )) ms of the start (polled every 100 ms)"
wait_until 5 grep -q "^medic agent: repaired .*(pid $TARGET started)" "$T/agent.log" ||
        fail "no repair for pid $TARGET in the log: $(cat "$T/agent.log")"
id=$(ls "$STATE/changes" | sed -n 's/^\([0-9]*\)\.json$/\1/p' | sort -n | tail -1)
assert_eq "repair" "$(py "$(journal_file "$id")" 'd["kind"]')" "kind of set $id"

step "SIGTERM: exit 0"
stop_agent
all_threads_be2 "$TARGET" || fail "the priority went with the agent"
