#!/bin/bash
# One medic at a time changes the host: while another process holds STATE/lock, apply exits
# 1 naming the holder (its pid when the holder is a medic) and changes nothing; with
# --wait it waits and succeeds once the holder is gone.
. "$(dirname "$0")/lib.sh"
setup

lock_held() { ! flock -n "$STATE/lock" true; }

step "an external flock holder: apply exits 1, nothing changed"
: >"$STATE/lock"
# One process that holds flock(2) on the file (flock(1) would pass the lock on to its
# child, which would outlive a kill of flock itself).
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(30)' "$STATE/lock" &
flock_pid=$!
helper_pid "$flock_pid"
wait_until 5 lock_held || fail "the flock helper did not take the lock"
expect_rc 1 medic_ns apply
# No medic pid in the file: the message names the lock, and a pid only if it knows one.
assert_match "$ERR" "another medic( \\(pid [0-9]+\\))? holds $STATE/lock"
assert_contains "$ERR" "--wait"
assert_keepalive 7200 75 9
assert_change_sets ""
kill "$flock_pid"
wait "$flock_pid" 2>/dev/null || true

# A real medic holds the lock: an apply whose audit log is a FIFO blocks in open(2) — after
# it took the lock, before it changes anything — until the test opens the FIFO. Its policy
# has nothing to change, so once released it ends with 0 and writes nothing to the FIFO.
write_policy "$T/holder.yaml" <<'YAML'
medic: 1
name: holder
actions:
  - name: already so
    sysctl:
      net.ipv4.tcp_keepalive_time: 7200
YAML
mkfifo "$T/fifo"

step "a medic apply holds the lock: the second apply exits 1 naming its pid"
# Not through the medic_ns function: a function in the background is a subshell, and $!
# must be medic's own pid (ip netns exec execs medic).
_need_ns
ip netns exec "$NS" "$MEDIC_BIN" --policy "$T/holder.yaml" --state-dir "$STATE" --audit-log "$T/fifo" \
        apply >"$T/holder.out" 2>&1 &
holder=$!
helper_pid "$holder"
holder_pid_in_lock() { [ "$(cat "$STATE/lock" 2>/dev/null)" = "$holder" ]; }
wait_until 5 holder_pid_in_lock || fail "the holder medic (pid $holder) did not take the lock"
lock_held || fail "lock file names pid $holder but nobody holds the lock"

expect_rc 1 medic_ns apply
assert_contains "$ERR" "another medic (pid $holder) holds $STATE/lock"
assert_contains "$ERR" "--wait"
assert_keepalive 7200 75 9
assert_change_sets ""

step "apply --wait 10 waits while the holder runs, then succeeds"
t0=$(now_ms)
medic_ns --wait 10 apply >"$T/waiter.out" 2>"$T/waiter.err" &
waiter=$!
helper_pid "$waiter"
sleep 1
kill -0 "$waiter" 2>/dev/null || fail "apply --wait 10 did not wait for the lock (it exited already)"
assert_keepalive 7200 75 9
# Release the holder: open the FIFO for reading.
cat "$T/fifo" >/dev/null &
helper_pid $!
holder_rc=0
wait "$holder" || holder_rc=$?
assert_eq 0 "$holder_rc" "exit code of the holder medic"
waiter_rc=0
wait "$waiter" || waiter_rc=$?
waited=$(( $(now_ms) - t0 ))
[ "$waiter_rc" = 2 ] || { _dump stdout "$T/waiter.out"; _dump stderr "$T/waiter.err"; fail "apply --wait 10: expected exit 2, got $waiter_rc"; }
[ "$waited" -ge 1000 ] || fail "apply --wait returned after $waited ms, before the holder was released"
[ "$waited" -lt 10000 ] || fail "apply --wait took $waited ms: it did not notice the lock was free"
assert_contains "$T/waiter.out" "change set 1 applied"
assert_keepalive 600 60 5
assert_change_sets "1"
assert_set_state 1 applied
# The lock is free again and the pid is gone from the file.
lock_held && fail "the lock is still held after both medics ended"
assert_eq "" "$(cat "$STATE/lock")" "lock file contents after the run"
