#!/bin/bash
# audit finds drift (2), apply --dry-run reports it and changes nothing (2), apply changes
# exactly the policy's sysctls in the namespace (2), a second apply has nothing to do (0),
# and audit then reports compliance (0).
. "$(dirname "$0")/lib.sh"
setup

# An unrelated sysctl of the same table must not move.
fin=$(sysctl_ns net.ipv4.tcp_fin_timeout)

step "audit on a drifted namespace: exit 2, one drift line per key"
expect_rc 2 medic_ns audit
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +7200 +→ 600 +drift'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_intvl +75 +→ 60 +drift'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_probes +9 +→ 5 +drift'
assert_keepalive 7200 75 9
assert_change_sets ""

step "apply --dry-run: exit 2, nothing changed, no change set"
expect_rc 2 medic_ns apply --dry-run
assert_eq 3 "$(grep -c ' drift' "$OUT")" "drift lines of apply --dry-run"
assert_not_contains "$OUT" changed
assert_keepalive 7200 75 9
assert_change_sets ""

step "apply: exit 2, the three values set in the namespace"
expect_rc 2 medic_ns apply
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +7200 +→ 600 +changed'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_intvl +75 +→ 60 +changed'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_probes +9 +→ 5 +changed'
assert_contains "$OUT" "change set 1 applied"
assert_keepalive 600 60 5
assert_sysctl net.ipv4.tcp_fin_timeout "$fin"
assert_change_sets "1"
assert_set_state 1 applied

step "second apply: nothing to do, exit 0, no new change set"
expect_rc 0 medic_ns apply
assert_eq 3 "$(grep -cE ' ok$' "$OUT")" "ok lines of the second apply"
assert_keepalive 600 60 5
assert_change_sets "1"

step "audit: compliant, exit 0"
expect_rc 0 medic_ns audit
assert_eq 3 "$(grep -cE ' ok$' "$OUT")" "ok lines of audit"
assert_not_contains "$OUT" drift
assert_keepalive 600 60 5
assert_sysctl net.ipv4.tcp_fin_timeout "$fin"
