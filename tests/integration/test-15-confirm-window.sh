#!/bin/bash
# apply --confirm-within N gives the operator at least N seconds to confirm: the recorded
# deadline is not before apply time + N, and the watcher does not roll back earlier.
#
# N is 2 s times time_scale (lib.sh), so that this machine can read the state inside the
# window (a loaded host, tests/vm's TCG guest); the last read comes 0.3 s per scale unit
# before the window ends, or earlier where the reads themselves take longer.
. "$(dirname "$0")/lib.sh"
setup
time_scale
W=$((2 * TIME_SCALE))
# When to read, in ms after the apply started: as late as the reads (about one probe of
# time_scale, measured) allow, and never later than 0.3 s per scale unit before the end.
margin=$((300 * TIME_SCALE))
[ "$margin" -ge $((2 * TIME_PROBE_MS)) ] || margin=$((2 * TIME_PROBE_MS))
[ "$margin" -lt $((W * 1000 / 2)) ] || margin=$((W * 1000 / 2))
check_at=$((W * 1000 - margin))

# Start late in a second (≥ .5 s past it), where a deadline rounded down to whole seconds
# would cut the window by half a second or more.
late_in_second() { local ns; ns=$(date +%N); [ "${ns#0}" -ge 500000000 ] && [ "${ns#0}" -lt 800000000 ]; }

step "apply --confirm-within $W late in a second"
wait_until 3 late_in_second || fail "could not start late in a second"
t0=$(now_ms)
expect_rc 2 medic_ns apply --confirm-within "$W"
assert_keepalive 600 60 5
assert_set_state 1 awaiting-confirm

step "$check_at ms after apply, $margin ms before the $W s window ends, the set is still applied"
while [ "$(now_ms)" -lt $((t0 + check_at)) ]; do sleep 0.05; done
values=$(sysctl_ns net.ipv4.tcp_keepalive_time) state=$(set_state 1) t1=$(now_ms)
# Both were read before t1; only if t1 is still inside the window do they say anything
# about it (a loaded machine can take longer than the margin left to read them).
if [ "$t1" -lt $((t0 + W * 1000)) ]; then
        assert_eq 600 "$values" "keepalive time $check_at ms after 'apply --confirm-within $W'"
        assert_eq awaiting-confirm "$state" "state of change set 1 $check_at ms after the apply"
else
        log "the checks took until $((t1 - t0)) ms after the apply: the window is judged by the records below"
fi

step "the recorded deadline is at least apply time + $W s"
py_assert "$(journal_file 1)" '__import__("datetime").datetime.fromisoformat(d["time"].replace("Z", "+00:00")).timestamp() + '"$W"' <= d["deadline"]' \
        "deadline of change set 1 (time + $W s)"

step "and it is rolled back soon after the window, not before"
wait_until $((2 * W)) keepalive_is 7200 75 9 || fail "not rolled back within $((2 * W)) s after the window ended"
assert_set_state 1 rolled-back
deadline1=$(py "$(journal_file 1)" 'd["deadline"]')
py_assert "$(journal_file 2)" 'd["kind"] == "rollback" and d["rollback_of"] == 1'
py_assert "$(journal_file 2)" '__import__("datetime").datetime.fromisoformat(d["time"].replace("Z", "+00:00")).timestamp() >= '"$deadline1" \
        "time of the rollback (set 2) against set 1's deadline $deadline1"
