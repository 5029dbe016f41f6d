#!/bin/bash
# An action in "mode: audit" is reported, never changed; rollback --dry-run shows what it
# would restore and changes nothing; a rollback set can itself be rolled back by id.
. "$(dirname "$0")/lib.sh"
setup - <<'YAML'
medic: 1
name: modes
actions:
  - name: keepalive
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
  - name: watch only
    mode: audit
    sysctl:
      net.ipv4.tcp_keepalive_probes: 5
YAML

step "apply changes the enforce item only"
expect_rc 2 medic_ns apply
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +7200 +→ 600 +changed'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_probes +9 +→ 5 +drift \(audit only\)'
assert_keepalive 600 75 9
py_assert "$(journal_file 1)" '[i["object"] for i in d["items"]] == ["net.ipv4.tcp_keepalive_time"]'
step "audit-only drift is not a change for apply: exit 0"
expect_rc 0 medic_ns apply
assert_keepalive 600 75 9
assert_change_sets "1"

step "rollback --dry-run: exit 2, shows the restore, changes nothing"
expect_rc 2 medic_ns rollback --dry-run
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +600 +→ 7200'
assert_keepalive 600 75 9
assert_change_sets "1"
assert_set_state 1 applied

step "rollback, then roll the rollback back by id"
expect_rc 2 medic_ns rollback
assert_keepalive 7200 75 9
expect_rc 2 medic_ns rollback 2
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +7200 +→ 600 +restored'
assert_keepalive 600 75 9
assert_change_sets "1 2 3"
assert_set_state 2 rolled-back
py_assert "$(journal_file 3)" 'd["kind"] == "rollback" and d["rollback_of"] == 2'
