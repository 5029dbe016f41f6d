#!/bin/bash
# A sysctl this kernel does not have: audit reports the item as failed with a clear reason
# (exit 4), and apply changes nothing and writes no change set.
. "$(dirname "$0")/lib.sh"
setup - <<'YAML'
medic: 1
name: missing
actions:
  - name: already so
    sysctl:
      net.ipv4.tcp_keepalive_time: 7200
  - name: not on this kernel
    sysctl:
      net.ipv4.medic_no_such_sysctl: 1
YAML
_need_ns
ip netns exec "$NS" test -e /proc/sys/net/ipv4/medic_no_such_sysctl &&
        fail "this kernel has net.ipv4.medic_no_such_sysctl"

step "audit: exit 4, the missing key failed with its reason, the other ok"
expect_rc 4 medic_ns audit
assert_match "$OUT" 'net\.ipv4\.medic_no_such_sysctl +- +→ 1 +failed: no such sysctl on this kernel \(/proc/sys/net/ipv4/medic_no_such_sysctl\)'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +7200 +→ 7200 +ok'
assert_keepalive 7200 75 9

step "--json audit: status failed with the reason, exit field 4"
expect_rc 4 medic_ns --json audit
py_assert "$OUT" 'd["exit"] == 4 and d["summary"]["failed"] == 1 and d["summary"]["ok"] == 1'
py_assert "$OUT" '[(i["object"], i["status"], i["current"]) for i in d["items"]][1] == ("net.ipv4.medic_no_such_sysctl", "failed", None)'
py_assert "$OUT" '"no such sysctl on this kernel" in d["items"][1]["reason"]'

step "apply: exit 4, nothing changed, no change set"
expect_rc 4 medic_ns apply
assert_contains "$OUT" "no such sysctl on this kernel"
assert_keepalive 7200 75 9
assert_change_sets ""
