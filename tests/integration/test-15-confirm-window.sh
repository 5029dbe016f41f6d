#!/bin/bash
# apply --confirm-within N gives the operator at least N seconds to confirm: the recorded
# deadline is not before apply time + N, and the watcher does not roll back earlier.
. "$(dirname "$0")/lib.sh"
setup

# Start late in a second (≥ .5 s past it), where a deadline rounded down to whole seconds
# would cut the window by half a second or more.
late_in_second() { local ns; ns=$(date +%N); [ "${ns#0}" -ge 500000000 ] && [ "${ns#0}" -lt 800000000 ]; }

step "apply --confirm-within 2 late in a second"
wait_until 3 late_in_second || fail "could not start late in a second"
t0=$(now_ms)
expect_rc 2 medic_ns apply --confirm-within 2
assert_keepalive 600 60 5
assert_set_state 1 awaiting-confirm

step "1.7 s after apply, 0.3 s before the 2 s window ends, the set is still applied"
while [ "$(now_ms)" -lt $((t0 + 1700)) ]; do sleep 0.05; done
values=$(sysctl_ns net.ipv4.tcp_keepalive_time) state=$(set_state 1) t1=$(now_ms)
# Both were read before t1; only if t1 is still inside the window do they say anything
# about it (a loaded machine can take longer than the 0.3 s left to read them).
if [ "$t1" -lt $((t0 + 2000)) ]; then
        assert_eq 600 "$values" "keepalive time 1.7 s after 'apply --confirm-within 2'"
        assert_eq awaiting-confirm "$state" "state of change set 1 1.7 s after the apply"
else
        log "the checks took until $((t1 - t0)) ms after the apply: the window is judged by the recorded deadline below"
fi

step "the recorded deadline is at least apply time + 2 s"
py_assert "$(journal_file 1)" '__import__("datetime").datetime.fromisoformat(d["time"].replace("Z", "+00:00")).timestamp() + 2 <= d["deadline"]' \
        "deadline of change set 1 (time + 2 s)"

step "and it is rolled back soon after the window"
wait_until 4 keepalive_is 7200 75 9 || fail "not rolled back 4 s after the deadline"
assert_set_state 1 rolled-back
