#!/usr/bin/env bash
# io-priority against a real etcd in its own network namespace: every thread is set, the
# audit agrees, rollback restores every thread, and a restarted etcd voids the change.
# Checked with ionice(1), not with medic's reader. Exit 77 = skipped.
set -euo pipefail
MEDIC=${MEDIC_BIN:-${MEDIC_ASAN:-${MEDIC:-build/test/medic}}}
ETCD=${ETCD:-$(command -v etcd || true)}
[ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 77; }
[ -x "$ETCD" ] || { echo "skipped: no etcd binary (make deps unpacks Debian's etcd-server)"; exit 77; }
export ASAN_OPTIONS=detect_leaks=0

ns=medic-io-$$
tmp=$(mktemp -d)
etcd_pid=
cleanup() {
        set +e
        [ -n "$etcd_pid" ] && kill "$etcd_pid" 2>/dev/null && wait "$etcd_pid" 2>/dev/null
        ip netns del "$ns" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up

start_etcd() {
        rm -rf "$tmp/etcd"
        # ip netns exec execs etcd in place: $! is etcd's pid.
        ip netns exec "$ns" "$ETCD" --name t --data-dir "$tmp/etcd" \
                --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
                --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
                --initial-cluster t=http://127.0.0.1:2380 >"$tmp/etcd.log" 2>&1 &
        etcd_pid=$!
        for _ in $(seq 100); do
                grep -q "ready to serve client requests" "$tmp/etcd.log" 2>/dev/null && break
                sleep 0.1
        done
        grep -q "ready to serve client requests" "$tmp/etcd.log" || fail "etcd did not start: $(tail -3 "$tmp/etcd.log")"
        [ "$(cat /proc/$etcd_pid/comm)" = etcd ] || fail "pid $etcd_pid is not etcd"
        echo "$etcd_pid" >"$tmp/etcd.pid"
}

# "TID class" lines for every thread, from ionice -p.
snapshot() {
        local pid=$1
        for t in /proc/"$pid"/task/*; do
                t=${t##*/}
                printf '%s %s\n' "$t" "$(ionice -p "$t" 2>/dev/null || echo gone)"
        done | sort -n
}

start_etcd
# The pidfile rule names exactly the etcd this test started, never another process.
cat >"$tmp/policy.yaml" <<POL
medic: 1
name: io-test
targets:
  etcd:
    process: {pidfile: $tmp/etcd.pid}
actions:
  - name: etcd disk I/O first
    io-priority: {target: etcd, class: best-effort, level: 0, data-dir: $tmp}
POL
chmod 0644 "$tmp/policy.yaml"
medic() { "$MEDIC" -p "$tmp/policy.yaml" --state-dir "$tmp/state" --audit-log "$tmp/audit.jsonl" "$@"; }

nthreads=$(ls /proc/$etcd_pid/task | wc -l)
[ "$nthreads" -ge 4 ] || fail "etcd has only $nthreads threads"
before=$(snapshot "$etcd_pid")
echo "$before" | grep -qv "none: prio 0" && fail "etcd threads did not start at none/0: $before"

rc=0; out=$(medic audit) || rc=$?
[ $rc = 2 ] || fail "audit before apply: rc $rc, want 2: $out"
echo "$out" | grep -q "pid $etcd_pid (etcd)" || fail "audit does not name pid $etcd_pid: $out"
echo "$out" | grep -q "found by pidfile" || fail "audit does not say which rule found etcd: $out"

rc=0; out=$(medic apply) || rc=$?
[ $rc = 2 ] || fail "apply: rc $rc, want 2: $out"
after=$(snapshot "$etcd_pid")
bad=$(echo "$after" | grep -v "best-effort: prio 0" || true)
[ -z "$bad" ] || fail "threads not at best-effort/0 after apply: $bad"
[ "$(echo "$after" | wc -l)" -ge "$nthreads" ] || fail "threads vanished"

rc=0; out=$(medic audit) || rc=$?
[ $rc = 0 ] || fail "audit after apply: rc $rc, want 0: $out"
rc=0; out=$(medic apply) || rc=$?
[ $rc = 0 ] || fail "second apply: rc $rc, want 0: $out"

rc=0; out=$(medic rollback) || rc=$?
[ $rc = 2 ] || fail "rollback: rc $rc, want 2: $out"
restored=$(snapshot "$etcd_pid")
# Every thread that existed before is back to what ionice showed; threads born since have
# the process's original value (none/0 here).
bad=$(echo "$restored" | grep -v "none: prio 0" || true)
[ -z "$bad" ] || fail "threads not restored: $bad"
join -j1 <(echo "$before") <(echo "$restored") | awk '{ if ($2 != $5 || $3 != $6 || $4 != $7) exit 1 }' ||
        fail "a thread's value differs from before"

# A restart between apply and rollback voids the change: rollback touches nothing.
rc=0; out=$(medic apply) || rc=$?
[ $rc = 2 ] || fail "apply before restart: rc $rc: $out"
old_pid=$etcd_pid
kill "$etcd_pid"; wait "$etcd_pid" 2>/dev/null || true
start_etcd
[ "$etcd_pid" != "$old_pid" ] || fail "etcd restarted with the same pid"
new_before=$(snapshot "$etcd_pid")
rc=0; out=$(medic rollback) || rc=$?
[ $rc = 0 ] || fail "rollback after restart: rc $rc, want 0: $out"
echo "$out" | grep -q "void" || fail "rollback does not say the change is void: $out"
[ "$(snapshot "$etcd_pid" | awk '{print $2, $3, $4}')" = "$(echo "$new_before" | awk '{print $2, $3, $4}')" ] ||
        fail "rollback touched the new etcd"
echo "ok: $nthreads etcd threads set, restored, restart voids the change"
