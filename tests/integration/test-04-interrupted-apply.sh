#!/bin/bash
# An apply killed (SIGKILL) after its first item leaves the set "applying" in the journal;
# audit reports it; the next apply restores it first, says so, logs an "interrupted" event,
# and then applies normally.
. "$(dirname "$0")/lib.sh"
setup

step "apply killed after the first applied item"
MEDIC_TEST_CRASH_AFTER=1 expect_rc 137 medic_ns apply
assert_keepalive 600 75 9
assert_change_sets "1"
assert_set_state 1 applying
py_assert "$(journal_file 1)" '[(i["object"], i["status"], i["before"][i["object"]]) for i in d["items"]] == [
    ("net.ipv4.tcp_keepalive_time", "changed", "7200"),
    ("net.ipv4.tcp_keepalive_intvl", "pending", "75"),
    ("net.ipv4.tcp_keepalive_probes", "pending", "9")]' "journal of the killed apply"
# The killed process held the lock only while it lived.
flock -n "$STATE/lock" true || fail "the lock is still held after medic was killed"

step "audit: drift (2), mentions the interrupted set, changes nothing"
expect_rc 2 medic_ns audit
assert_contains "$OUT" "change set 1 was interrupted while applying"
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +600 +→ 600 +ok'
assert_keepalive 600 75 9
assert_set_state 1 applying
expect_rc 2 medic_ns --json audit
py_assert "$OUT" 'any("change set 1 was interrupted" in m for m in d["messages"])'

step "next apply: restores set 1 first, then applies as change set 2"
expect_rc 2 medic_ns apply
assert_contains "$OUT" "change set 1 was interrupted while applying: restoring it"
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +600 +→ 7200 +restored'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +7200 +→ 600 +changed'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_intvl +75 +→ 60 +changed'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_probes +9 +→ 5 +changed'
assert_contains "$OUT" "change set 2 applied"
# The restore really happened before the new apply: the audit log has the restore of set 1
# (600 → 7200) before the change of set 2 (7200 → 600).
audit_events >"$T/events"
python3 - "$T/events" <<'PY' || fail "audit log: interrupted set 1 not restored before change set 2"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
seq = [(e["event"], e["change"], e["object"], e["result"]) for e in ev if e["event"] in ("rollback", "interrupted", "change")]
# The killed run recorded its one change before it died.
want = [("change", 1, "net.ipv4.tcp_keepalive_time", "changed"),
        ("rollback", 1, "net.ipv4.tcp_keepalive_time", "restored"),
        ("interrupted", 1, None, "restored"),
        ("change", 2, "net.ipv4.tcp_keepalive_time", "changed"),
        ("change", 2, "net.ipv4.tcp_keepalive_intvl", "changed"),
        ("change", 2, "net.ipv4.tcp_keepalive_probes", "changed")]
if seq != want:
    sys.stderr.write("got  %s\nwant %s\n" % (seq, want))
    sys.exit(1)
PY
assert_eq 1 "$(count_events interrupted)" "interrupted events"
assert_keepalive 600 60 5
assert_change_sets "1 2"
assert_set_state 1 rolled-back
assert_set_state 2 applied

step "audit afterwards: compliant, no interrupted set reported"
expect_rc 0 medic_ns audit
assert_not_contains "$OUT" "interrupted"
assert_keepalive 600 60 5
