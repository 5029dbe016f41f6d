#!/bin/bash
# libnl-route-3 is loaded only when medic builds, deletes or rebuilds a tc structure, or
# compares a root with its own filters (agent/kernel/nlroute.c): an audit of a host without
# medic's roots never maps it. When it cannot be loaded, the item fails with the reason
# before any change, and an audit of medic's root says why it cannot check it. The test
# build's MEDIC_TEST_NLROUTE names a file that is not there to make the load fail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
command -v strace >/dev/null || skip "needs strace"
tc_setup_vt0
NOLIB=$T/no-such-dir/libnl-route-3.so.200

# route_opens ARGS: medic ARGS under strace; how many times it opened libnl-route-3.
route_opens() {
        ip netns exec "$NS" strace -f -qq -e trace=openat -o "$T/trace" \
                "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" "$@" >/dev/null 2>&1 || true
        grep -c 'libnl-route-3\.so' "$T/trace" || true
}
no_lib() { MEDIC_TEST_NLROUTE=$NOLIB medic_ns "$@"; }

step "audit of a kernel default root: libnl-route-3 is never opened"
expect_rc 2 medic_ns audit
[ "$(route_opens audit)" = 0 ] || fail "an audit of a default root opened libnl-route-3: $(grep libnl-route "$T/trace")"
ldd "$MEDIC_BIN" | grep -q 'libnl-route-3' && fail "medic links libnl-route-3: $(ldd "$MEDIC_BIN")"

step "apply when it cannot be loaded: the item fails with the reason, nothing changes"
before=$(tc_snapshot "$NS" vt0)
expect_rc 4 no_lib apply
assert_match "$OUT" "^peer first +vt0 .* failed: vt0: libnl-route-3 cannot be loaded \(.*no-such-dir.*\): medic builds tc objects with it\$"
assert_eq "$before" "$(tc_snapshot "$NS" vt0)" "vt0 after an apply that could not load libnl-route-3"

step "apply with a library that lacks medic's functions: the item fails, nothing changes"
# libnl-3 itself loads, but has none of the rtnl_* functions.
short_lib() { MEDIC_TEST_NLROUTE=libnl-3.so.200 medic_ns "$@"; }
expect_rc 4 short_lib apply
assert_match "$OUT" "^peer first +vt0 .* failed: vt0: libnl-route-3 cannot be loaded \(a libnl-route-3 without the functions medic calls\): medic builds tc objects with it\$"
assert_eq "$before" "$(tc_snapshot "$NS" vt0)" "vt0 after an apply whose libnl-route-3 lacked medic's functions"

step "apply loads it and builds medic's root"
[ "$(route_opens apply)" -ge 1 ] || fail "apply did not open libnl-route-3"
tc -n "$NS" qdisc show dev vt0 | grep -q '^qdisc \(htb\|prio\) 1: root' || fail "no medic root: $(tc -n "$NS" qdisc show dev vt0)"
built=$(tc_snapshot "$NS" vt0)

step "audit of medic's root compares its filters through the library: ok"
expect_rc 0 medic_ns audit
[ "$(route_opens audit)" -ge 1 ] || fail "the audit of medic's root did not open libnl-route-3"

step "audit of medic's root when it cannot be loaded: failed, with the reason, not ok or foreign"
run_capture no_lib audit
[ "$RC" = 4 ] || fail "audit without libnl-route-3: exit $RC, expected 4: $(cat "$OUT")"
assert_contains "$OUT" "libnl-route-3 cannot be loaded"
assert_eq "$built" "$(tc_snapshot "$NS" vt0)" "vt0 after the audit"

step "rollback when it cannot be loaded leaves medic's root, and says why"
expect_rc 4 no_lib rollback
assert_match "$OUT" "^peer first +vt0 .* failed: libnl-route-3 cannot be loaded \(.*no-such-dir.*\): medic compares a root's filters with its own through it\$"
assert_eq "$built" "$(tc_snapshot "$NS" vt0)" "vt0 after a rollback that could not load libnl-route-3"

step "rollback with it gives the kernel default back"
expect_rc 2 medic_ns rollback
assert_eq "$before" "$(tc_snapshot "$NS" vt0)" "vt0 after rollback"
echo "ok: not loaded for a default root; loaded for apply, audit of medic's root and rollback; a failed load changes nothing"
