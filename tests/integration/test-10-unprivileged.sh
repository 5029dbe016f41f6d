#!/bin/bash
# As user nobody (no capabilities): audit, apply --dry-run and history work; apply exits 1
# with a message naming the missing capability and changes nothing.
. "$(dirname "$0")/lib.sh"
setup
# setup made T 0755 and the policy 0644: nobody can read it. Nobody gets its own state
# directory and log directory, so that apply gets as far as the capability check.
mkdir -m 0700 "$T/nobody-state" "$T/nobody-log"
chown 65534:65534 "$T/nobody-state" "$T/nobody-log"
STATE=$T/nobody-state
AUDIT=$T/nobody-log/audit.jsonl

step "the helper really runs medic as nobody"
_need_ns
uid=$(ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups id -u)
assert_eq 65534 "$uid" "uid under setpriv"

step "audit as nobody: works, exit 2 on drift"
expect_rc 2 nobody_ns audit
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +7200 +→ 600 +drift'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_intvl +75 +→ 60 +drift'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_probes +9 +→ 5 +drift'
assert_keepalive 7200 75 9

step "apply --dry-run and --json audit as nobody"
expect_rc 2 nobody_ns apply --dry-run
assert_keepalive 7200 75 9
expect_rc 2 nobody_ns --json audit
py_assert "$OUT" 'd["exit"] == 2 and [i["status"] for i in d["items"]] == ["drift"] * 3'

step "apply as nobody: exit 1, names CAP_NET_ADMIN, nothing changed"
expect_rc 1 nobody_ns apply
assert_contains "$ERR" "CAP_NET_ADMIN"
assert_contains "$ERR" "Nothing was changed"
assert_keepalive 7200 75 9
assert_change_sets ""
assert_eq 0 "$(count_events change)" "change events in the audit log"
assert_eq 0 "$(count_events failure)" "failure events in the audit log"

step "history as nobody: works, empty"
expect_rc 0 nobody_ns history
assert_contains "$OUT" "no change sets"

step "apply as nobody with root's 0700 state directory: exit 1, nothing changed"
STATE=$T/state
expect_rc 1 nobody_ns apply
assert_keepalive 7200 75 9
assert_change_sets ""

step "the same apply as root works (the refusal was about privilege)"
STATE=$T/state
AUDIT=$T/audit.jsonl
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
