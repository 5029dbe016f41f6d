#!/usr/bin/env bash
# io-priority against a real etcd in its own network namespace: every thread is set, the
# audit agrees, rollback restores every thread, and a restarted etcd voids the change.
# Checked with ionice(1), not with medic's reader. Exit 77 = skipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ioprio-lib.sh"
need_etcd
ioprio_setup

# etcd, ready, and the pid its pidfile names.
start_ready_etcd() {
        start_etcd
        wait_etcd_ready
        [ "$(cat /proc/$ETCD_PID/comm)" = etcd ] || fail "pid $ETCD_PID is not etcd"
        etcd_pid=$ETCD_PID
}
snapshot() { ioprio_snapshot "$@"; }

start_ready_etcd
# The pidfile rule names exactly the etcd this test started, never another process.
write_policy "$POLICY" <<POL
medic: 1
name: io-test
targets:
  etcd:
    process: {pidfile: $T/etcd.pid}
actions:
  - name: etcd disk I/O first
    io-priority: {target: etcd, class: best-effort, level: 0, data-dir: $T}
POL

nthreads=$(ls /proc/$etcd_pid/task | wc -l)
[ "$nthreads" -ge 4 ] || fail "etcd has only $nthreads threads"
before=$(snapshot "$etcd_pid")
echo "$before" | grep -qv "none: prio 0" && fail "etcd threads did not start at none/0: $before"

rc=0; out=$(medic_host audit) || rc=$?
[ $rc = 2 ] || fail "audit before apply: rc $rc, want 2: $out"
echo "$out" | grep -q "pid $etcd_pid (etcd)" || fail "audit does not name pid $etcd_pid: $out"
echo "$out" | grep -q "found by pidfile" || fail "audit does not say which rule found etcd: $out"

rc=0; out=$(medic_host apply) || rc=$?
[ $rc = 2 ] || fail "apply: rc $rc, want 2: $out"
after=$(snapshot "$etcd_pid")
bad=$(echo "$after" | grep -v "best-effort: prio 0" || true)
[ -z "$bad" ] || fail "threads not at best-effort/0 after apply: $bad"
[ "$(echo "$after" | wc -l)" -ge "$nthreads" ] || fail "threads vanished"

rc=0; out=$(medic_host audit) || rc=$?
[ $rc = 0 ] || fail "audit after apply: rc $rc, want 0: $out"
rc=0; out=$(medic_host apply) || rc=$?
[ $rc = 0 ] || fail "second apply: rc $rc, want 0: $out"

rc=0; out=$(medic_host rollback) || rc=$?
[ $rc = 2 ] || fail "rollback: rc $rc, want 2: $out"
restored=$(snapshot "$etcd_pid")
# Every thread that existed before is back to what ionice showed; threads born since have
# the process's original value (none/0 here).
bad=$(echo "$restored" | grep -v "none: prio 0" || true)
[ -z "$bad" ] || fail "threads not restored: $bad"
join -j1 <(echo "$before") <(echo "$restored") | awk '{ if ($2 != $5 || $3 != $6 || $4 != $7) exit 1 }' ||
        fail "a thread's value differs from before"

# A restart between apply and rollback voids the change: rollback touches nothing.
rc=0; out=$(medic_host apply) || rc=$?
[ $rc = 2 ] || fail "apply before restart: rc $rc: $out"
old_pid=$etcd_pid
stop_etcd
start_ready_etcd
[ "$etcd_pid" != "$old_pid" ] || fail "etcd restarted with the same pid"
new_before=$(snapshot "$etcd_pid")
rc=0; out=$(medic_host rollback) || rc=$?
[ $rc = 0 ] || fail "rollback after restart: rc $rc, want 0: $out"
echo "$out" | grep -q "void" || fail "rollback does not say the change is void: $out"
[ "$(snapshot "$etcd_pid" | awk '{print $2, $3, $4}')" = "$(echo "$new_before" | awk '{print $2, $3, $4}')" ] ||
        fail "rollback touched the new etcd"
echo "ok: $nthreads etcd threads set, restored, restart voids the change"
