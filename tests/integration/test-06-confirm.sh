#!/bin/bash
# apply --confirm-within: the set awaits confirmation; the detached watcher rolls it back
# at the deadline, not before; without a watcher, the next changing command rolls an
# expired set back first; confirm within the deadline keeps it.
#
# The windows that a watcher serves are 2 s times time_scale (lib.sh): long enough for
# this machine to run the checks inside them (a loaded host, tests/vm's TCG guest).
. "$(dirname "$0")/lib.sh"
setup - <<'YAML'
medic: 1
name: confirm
actions:
  - name: keepalive
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
      net.ipv4.tcp_keepalive_intvl: 60
      net.ipv4.tcp_keepalive_probes: 5
  - name: fin timeout
    sysctl:
      net.ipv4.tcp_fin_timeout: 30
YAML
fin=$(sysctl_ns net.ipv4.tcp_fin_timeout)
[ "$fin" != 30 ] || fail "tcp_fin_timeout is already 30 in a fresh namespace"
ns_pids() { ip netns pids "$NS" | tr '\n' ' ' | sed 's/ $//'; }
no_ns_pids() { [ -z "$(ns_pids)" ]; }
time_scale
W=$((2 * TIME_SCALE))

step "apply --confirm-within $W: set, awaiting-confirm, a watcher left behind"
t_apply=$(now_ms)
expect_rc 2 medic_ns apply --only keepalive --confirm-within "$W"
assert_contains "$OUT" "run 'medic confirm 1' before"
assert_keepalive 600 60 5
assert_sysctl net.ipv4.tcp_fin_timeout "$fin"
assert_set_state 1 awaiting-confirm
py_assert "$(journal_file 1)" 'isinstance(d["deadline"], int)'
watcher=$(ns_pids)
[ -n "$watcher" ] || fail "no confirm watcher process in the namespace"
expect_rc 0 medic_ns history
assert_match "$OUT" '^ +1 .* apply +awaiting-confirm +3 items'
log "the checks inside the ${W} s window ended $(( $(now_ms) - t_apply )) ms after the apply started"

step "the watcher rolls it back at the deadline, not before"
wait_until $((W + 4 * TIME_SCALE)) keepalive_is 7200 75 9 ||
        fail "values not restored $((4 * TIME_SCALE)) s after a $W s confirm deadline: $(sysctl_ns net.ipv4.tcp_keepalive_time)"
wait_until $((3 * TIME_SCALE)) no_ns_pids || fail "the watcher (pid $watcher) did not exit after rolling back"
# The rollback's own record says when it started: not before set 1's deadline, which is
# not before the apply's time + the window.
deadline1=$(py "$(journal_file 1)" 'd["deadline"]')
py_assert "$(journal_file 1)" '__import__("datetime").datetime.fromisoformat(d["time"].replace("Z", "+00:00")).timestamp() + '"$W"' <= d["deadline"]' \
        "deadline of change set 1 (time + $W s)"
py_assert "$(journal_file 2)" '__import__("datetime").datetime.fromisoformat(d["time"].replace("Z", "+00:00")).timestamp() >= '"$deadline1" \
        "time of the rollback (set 2) against set 1's deadline $deadline1"
assert_keepalive 7200 75 9
assert_sysctl net.ipv4.tcp_fin_timeout "$fin"
assert_change_sets "1 2"
assert_set_state 1 rolled-back
assert_set_state 2 applied
py_assert "$(journal_file 2)" 'd["kind"] == "rollback" and d["rollback_of"] == 1 and len(d["items"]) == 3'
expect_rc 0 medic_ns history
assert_match "$OUT" '^ +1 .* apply +rolled-back +3 items .*\(undone by 2\)'
assert_match "$OUT" '^ +2 .* rollback +applied +3 items .*\(undoes 1\)'
assert_eq 3 "$(audit_events rollback | grep -c '"change": 2')" "rollback events of set 2 in the audit log"

step "no watcher: an expired set is rolled back by the next changing command"
MEDIC_TEST_NO_WATCHER=1 expect_rc 2 medic_ns apply --only keepalive --confirm-within 1
assert_keepalive 600 60 5
assert_set_state 3 awaiting-confirm
no_ns_pids || fail "MEDIC_TEST_NO_WATCHER=1 left a process: $(ns_pids)"
sleep 2.2
# Past the deadline nothing has happened yet, and a read-only audit does not change that.
assert_keepalive 600 60 5
expect_rc 2 medic_ns audit
assert_contains "$OUT" "change set 3 awaits 'medic confirm 3' (deadline passed"
assert_keepalive 600 60 5
assert_set_state 3 awaiting-confirm
# An apply of an unrelated action first rolls set 3 back, then does its own work.
expect_rc 2 medic_ns apply --only "fin timeout"
assert_contains "$OUT" "change set 3 was not confirmed by its deadline: rolling it back"
assert_match "$OUT" 'net\.ipv4\.tcp_fin_timeout +'"$fin"' +→ 30 +changed'
assert_keepalive 7200 75 9
assert_sysctl net.ipv4.tcp_fin_timeout 30
assert_change_sets "1 2 3 4 5"
assert_set_state 3 rolled-back
py_assert "$(journal_file 4)" 'd["kind"] == "rollback" and d["rollback_of"] == 3'
py_assert "$(journal_file 5)" 'd["kind"] == "apply" and [i["object"] for i in d["items"]] == ["net.ipv4.tcp_fin_timeout"]'
# confirm after the fact says what happened and changes nothing.
expect_rc 1 medic_ns confirm 3
assert_contains "$ERR" "missed its confirm deadline"
assert_keepalive 7200 75 9

step "confirm within the deadline keeps the set"
expect_rc 2 medic_ns apply --only keepalive --confirm-within "$W"
t_applied=$(now_ms)
id=$(change_set_ids | awk '{print $NF}')
assert_eq 6 "$id" "id of the confirmed set"
assert_set_state 6 awaiting-confirm
expect_rc 0 medic_ns confirm
assert_contains "$OUT" "change set 6 confirmed"
assert_set_state 6 applied
assert_eq 1 "$(audit_events confirm | grep -c '"change": 6')" "confirm events of set 6"
# Past the deadline (at most W + 1 s after the apply returned, which rounds it up to a
# whole second): the watcher wakes, finds nothing to do, and leaves.
while [ "$(now_ms)" -lt $((t_applied + (W + 1) * 1000 + 200)) ]; do sleep 0.1; done
wait_until $((3 * TIME_SCALE)) no_ns_pids || fail "the watcher of a confirmed set did not exit: $(ns_pids)"
assert_keepalive 600 60 5
assert_sysctl net.ipv4.tcp_fin_timeout 30
assert_set_state 6 applied
assert_change_sets "1 2 3 4 5 6"

step "no watcher: confirm after the deadline rolls back first and then has nothing to confirm"
expect_rc 2 medic_ns rollback 6
assert_keepalive 7200 75 9
assert_change_sets "1 2 3 4 5 6 7"
MEDIC_TEST_NO_WATCHER=1 expect_rc 2 medic_ns apply --only keepalive --confirm-within 1
assert_keepalive 600 60 5
sleep 2.2
# This run changed the host (it rolled set 8 back), so it must not exit 1, which promises
# "could not run, nothing was changed" (DESIGN §3). 6 (the rollback, and a confirm that
# could not be honoured) or 2 are both honest.
run_capture medic_ns confirm
case "$RC" in 2|6) ;; *) _dump stdout "$OUT"; _dump stderr "$ERR"
        soft_fail "confirm after the deadline rolled set 8 back but exited $RC (1 means nothing was changed; want 6 or 2)" ;; esac
assert_contains "$OUT" "change set 8 was not confirmed by its deadline: rolling it back"
assert_keepalive 7200 75 9
assert_set_state 8 rolled-back
assert_set_state 9 applied
py_assert "$(journal_file 9)" 'd["kind"] == "rollback" and d["rollback_of"] == 8'
assert_sysctl net.ipv4.tcp_fin_timeout 30

# The same for the other changing commands that find an expired set before failing.
last_id() { change_set_ids | awk '{print $NF}'; }

step "no watcher: rollback with nothing else to roll back, after the deadline"
expect_rc 2 medic_ns rollback 5 # the fin timeout apply: now no applied set is left
assert_sysctl net.ipv4.tcp_fin_timeout "$fin"
MEDIC_TEST_NO_WATCHER=1 expect_rc 2 medic_ns apply --only keepalive --confirm-within 1
id=$(last_id)
assert_keepalive 600 60 5
sleep 2.2
run_capture medic_ns rollback
assert_contains "$OUT" "change set $id was not confirmed by its deadline: rolling it back"
assert_keepalive 7200 75 9
assert_set_state "$id" rolled-back
case "$RC" in 2|6) ;; *) _dump stderr "$ERR"
        soft_fail "rollback after the deadline rolled set $id back but exited $RC (1 means nothing was changed; want 6 or 2)" ;; esac

step "no watcher: apply --only with a name the policy lacks, after the deadline"
MEDIC_TEST_NO_WATCHER=1 expect_rc 2 medic_ns apply --only keepalive --confirm-within 1
id=$(last_id)
assert_keepalive 600 60 5
sleep 2.2
run_capture medic_ns apply --only "no such action"
assert_contains "$ERR" "no action named 'no such action'"
# Either it refuses the bad name before touching anything (exit 1, the set still awaiting
# confirmation: the next run rolls it back) or it rolls back and says so in its exit code.
if [ "$RC" = 1 ]; then
        keepalive_is 600 60 5 ||
                soft_fail "apply --only 'no such action' exited 1 (nothing was changed) but rolled set $id back (keepalive time now $(sysctl_ns net.ipv4.tcp_keepalive_time))"
elif [ "$RC" != 6 ]; then
        soft_fail "apply --only 'no such action' after the deadline exited $RC"
fi
