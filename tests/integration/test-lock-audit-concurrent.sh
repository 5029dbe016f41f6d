#!/bin/bash
# audit never takes STATE/lock, not even for a moment: an apply or rollback that starts
# while audits run never exits 1 ("another medic holds the lock"). First with an audit held
# inside its lock check for 3 seconds (strace delays the return of its flock/fcntl calls:
# an audit that took the lock would hold it all that time), then many audits in loops
# alongside a series of applies and rollbacks.
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || skip "needs strace"
setup

step "a first apply and rollback leave STATE/lock behind, as on any host medic ran on"
expect_rc 2 medic_ns apply
expect_rc 2 medic_ns rollback
[ -e "$STATE/lock" ] || fail "no $STATE/lock after apply"

step "an audit stopped in its lock check for 3 s: apply goes ahead meanwhile"
_need_ns
ip netns exec "$NS" strace -qq -e trace=flock,fcntl -e inject=flock,fcntl:delay_exit=3000000 -o "$T/audit.strace" \
        "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" audit >"$T/audit.out" 2>&1 &
slow=$!
helper_pid "$slow"
# The audit's probe comes after its plan, a few ms in; apply's lock attempt comes later.
sleep 1
kill -0 "$slow" 2>/dev/null || fail "the delayed audit ended before apply started: $(cat "$T/audit.out")"
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
slow_rc=0
wait "$slow" || slow_rc=$?
case $slow_rc in 0 | 2) ;; *) _dump "audit" "$T/audit.out"; fail "the delayed audit exited $slow_rc" ;; esac
# What the audit asked the kernel: never flock(2), never a lock it would hold.
assert_not_contains "$T/audit.strace" "flock(" "the audit's flock/fcntl calls"
assert_not_contains "$T/audit.strace" "F_SETLK" "the audit's flock/fcntl calls"
assert_not_contains "$T/audit.strace" "F_OFD_SETLK" "the audit's flock/fcntl calls"
assert_contains "$T/audit.strace" "F_OFD_GETLK" "the audit's flock/fcntl calls"
expect_rc 2 medic_ns rollback
assert_keepalive 7200 75 9

step "audits in loops alongside 20 applies and 20 rollbacks: none exits 1"
: >"$T/audit-rcs"
for n in 1 2 3; do
        (
                while [ ! -e "$T/stop" ]; do
                        rc=0
                        ip netns exec "$NS" "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" \
                                --audit-log "$AUDIT" audit >/dev/null 2>"$T/audit-err.$n" || rc=$?
                        echo "$rc" >>"$T/audit-rcs"
                        [ "$rc" = 0 ] || [ "$rc" = 2 ] || cp "$T/audit-err.$n" "$T/audit-failed.$n"
                done
        ) &
        helper_pid $!
done
wait_until 10 test -s "$T/audit-rcs" || fail "the audit loops did not start"
for i in $(seq 20); do
        run_capture medic_ns apply
        [ "$RC" = 2 ] || { _dump stderr "$ERR"; fail "apply $i of 20 exited $RC while audits ran"; }
        run_capture medic_ns rollback
        [ "$RC" = 2 ] || { _dump stderr "$ERR"; fail "rollback $i of 20 exited $RC while audits ran"; }
done
: >"$T/stop"
for pid in "${_HELPER_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
done
_HELPER_PIDS=()
assert_keepalive 7200 75 9
audits=$(wc -l <"$T/audit-rcs")
[ "$audits" -ge 10 ] || fail "only $audits audits ran alongside the applies"
bad=$(grep -cvxE '0|2' "$T/audit-rcs" || true)
if [ "$bad" != 0 ]; then
        for f in "$T"/audit-failed.*; do _dump "${f##*/}" "$f"; done
        fail "$bad of $audits audits exited with neither 0 nor 2"
fi
log "$audits audits ran alongside 40 changing runs"
# Nothing was left behind: the lock is free and names nobody.
flock -n "$STATE/lock" true || fail "the lock is still held"
assert_eq "" "$(cat "$STATE/lock")" "lock file contents after the runs"
