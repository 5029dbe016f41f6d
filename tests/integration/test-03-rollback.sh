#!/bin/bash
# rollback restores exactly what was there (2) and is itself a change set; a value changed
# by someone else since is a conflict: left alone, the others restored (6); --force then
# restores it too.
. "$(dirname "$0")/lib.sh"
setup
fin=$(sysctl_ns net.ipv4.tcp_fin_timeout)

step "apply (change set 1), rollback (change set 2)"
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
expect_rc 2 medic_ns rollback
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +600 +→ 7200 +restored'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_intvl +60 +→ 75 +restored'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_probes +5 +→ 9 +restored'
assert_contains "$OUT" "change set 1 rolled back as change set 2"
assert_keepalive 7200 75 9
assert_sysctl net.ipv4.tcp_fin_timeout "$fin"
assert_change_sets "1 2"
assert_set_state 1 rolled-back
assert_set_state 2 applied
py_assert "$(journal_file 2)" 'd["kind"] == "rollback" and d["rollback_of"] == 1'
py_assert "$(journal_file 2)" '[(i["object"], i["before"][i["object"]], i["after"][i["object"]], i["status"]) for i in d["items"]] == [
    ("net.ipv4.tcp_keepalive_probes", "5", "9", "changed"),
    ("net.ipv4.tcp_keepalive_intvl", "60", "75", "changed"),
    ("net.ipv4.tcp_keepalive_time", "600", "7200", "changed")]' "rollback set 2, newest first"
py_assert "$(journal_file 1)" 'd["rolled_back_by"] == 2'

step "rolling back an already rolled-back set: nothing to do"
expect_rc 0 medic_ns rollback 1
assert_contains "$OUT" "already rolled back"
assert_keepalive 7200 75 9
assert_change_sets "1 2"

step "apply again (change set 3); someone else writes intvl = 1234"
expect_rc 2 medic_ns apply
assert_contains "$OUT" "change set 3 applied"
assert_keepalive 600 60 5
set_sysctl_ns net.ipv4.tcp_keepalive_intvl 1234
assert_keepalive 600 1234 5

step "rollback: conflict on intvl (kept), the others restored: exit 6"
expect_rc 6 medic_ns rollback
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_intvl +1234 +→ 75 +conflict'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +600 +→ 7200 +restored'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_probes +5 +→ 9 +restored'
assert_keepalive 7200 1234 9
assert_eq 1 "$(audit_events conflict | python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l)["object"] == "net.ipv4.tcp_keepalive_intvl" and json.loads(l)["change"] == 3))')" \
        "conflict events for intvl in the audit log"
# Set 3 is not fully undone: it must not claim to be.
py_assert "$(journal_file 3)" 'd["state"] != "rolled-back"' "change set 3 after a partial rollback"

step "rollback 3 --force: the foreign value is replaced by the original"
expect_rc 2 medic_ns rollback 3 --force
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_intvl +1234 +→ 75 +restored'
assert_keepalive 7200 75 9
assert_set_state 3 rolled-back
assert_sysctl net.ipv4.tcp_fin_timeout "$fin"

step "nothing left to roll back: exit 1, nothing changed"
n_before=$(change_set_ids)
expect_rc 1 medic_ns rollback
assert_contains "$ERR" "no applied change set"
assert_keepalive 7200 75 9
assert_change_sets "$n_before"
