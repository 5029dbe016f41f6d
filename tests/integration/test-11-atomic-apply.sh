#!/bin/bash
# Atomic apply: when the kernel refuses an item (EINVAL), what the set already changed is
# restored, newest first: exit 4, set "failed", nothing changed. With --keep-going the
# good item stays: exit 6.
. "$(dirname "$0")/lib.sh"
# tcp_keepalive_probes is limited to 1..127 (MAX_TCP_KEEPCNT): the kernel answers EINVAL.
setup - <<'YAML'
medic: 1
name: atomic
actions:
  - name: good one
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
  - name: bad one
    sysctl:
      net.ipv4.tcp_keepalive_probes: 999999
YAML

step "the kernel itself refuses the bad value (independent check)"
_need_ns
if ip netns exec "$NS" sh -c 'echo 999999 > /proc/sys/net/ipv4/tcp_keepalive_probes' 2>/dev/null; then
        fail "this kernel accepts tcp_keepalive_probes = 999999: the test needs a refused value"
fi
assert_keepalive 7200 75 9

step "apply: the good item is changed, the bad one fails, the good one is restored: exit 4"
expect_rc 4 medic_ns apply
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +7200 +→ 600 +restored'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_probes +9 +→ 999999 +failed: .*refused'
assert_contains "$OUT" "change set 1 failed"
cp "$OUT" "$T/first-apply.out"
assert_keepalive 7200 75 9
assert_change_sets "1"
assert_set_state 1 failed
py_assert "$(journal_file 1)" '[(i["object"], i["status"]) for i in d["items"]] == [
    ("net.ipv4.tcp_keepalive_time", "restored"), ("net.ipv4.tcp_keepalive_probes", "failed")]'
# It was really changed and then restored, not skipped: the audit log has the change.
audit_events >"$T/events"
python3 - "$T/events" <<'PY' || fail "audit log of the failed apply"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
seq = [(e["event"], e["object"], e["result"]) for e in ev if e["event"] in ("change", "failure", "rollback")]
want = [("change", "net.ipv4.tcp_keepalive_time", "changed"),
        ("failure", "net.ipv4.tcp_keepalive_probes", "failed"),
        ("rollback", "net.ipv4.tcp_keepalive_time", "restored")]
if seq != want:
    sys.stderr.write("got  %s\nwant %s\n" % (seq, want))
    sys.exit(1)
PY
expect_rc 0 medic_ns --json show 1
py_assert "$OUT" 'd["change_set"]["state"] == "failed"'

step "nothing to roll back after a failed set"
expect_rc 1 medic_ns rollback
assert_keepalive 7200 75 9

step "apply --keep-going: the good item stays: exit 6"
expect_rc 6 medic_ns apply --keep-going
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +7200 +→ 600 +changed'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_probes +9 +→ 999999 +failed'
assert_keepalive 600 75 9
assert_change_sets "1 2"
assert_set_state 2 applied
py_assert "$(journal_file 2)" '[(i["object"], i["status"]) for i in d["items"]] == [
    ("net.ipv4.tcp_keepalive_time", "changed"), ("net.ipv4.tcp_keepalive_probes", "failed")]'

step "rollback of the --keep-going set restores the good item"
expect_rc 2 medic_ns rollback
assert_keepalive 7200 75 9

step "the restored row of the failed apply says \"restored\" once"
# The row prints its status, then ": reason"; the reason must not repeat the status.
assert_not_contains "$T/first-apply.out" "restored: restored:" "output of the failed apply"
