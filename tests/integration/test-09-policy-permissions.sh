#!/bin/bash
# A policy that is not owned by root, or is writable by group or others, is root for
# whoever can write it: apply (and rollback) refuse it with a message naming the file and
# change nothing; read-only commands only warn and work.
. "$(dirname "$0")/lib.sh"
setup

refused() {
        local why=$1
        step "apply refuses a policy that $why"
        expect_rc 1 medic_ns apply
        assert_contains "$ERR" "refusing policy: $POLICY "
        assert_keepalive 7200 75 9
        assert_change_sets ""
        step "audit only warns about a policy that $why, and works"
        expect_rc 2 medic_ns audit
        assert_contains "$ERR" "warning: $POLICY "
        assert_eq 3 "$(grep -c ' drift' "$OUT")" "drift lines of audit"
        assert_keepalive 7200 75 9
        expect_rc 2 medic_ns apply --dry-run
        assert_keepalive 7200 75 9
        assert_change_sets ""
}

chmod 0666 "$POLICY"
refused "everyone can write (0666)"
assert_contains "$ERR" "writable by everyone"

chmod 0664 "$POLICY"
refused "its group can write (0664)"
assert_contains "$ERR" "writable by its group"

chmod 0644 "$POLICY"
chown 65534 "$POLICY"
refused "user nobody owns"
assert_contains "$ERR" "owned by uid 65534"

step "a policy directory with a writable file in it is refused too"
chown 0 "$POLICY"
mkdir -m 0755 "$T/policy.d"
default_policy "$T/policy.d/10-keepalive.yaml"
chmod 0666 "$T/policy.d/10-keepalive.yaml"
expect_rc 1 medic_ns --policy "$T/policy.d" apply
assert_contains "$ERR" "$T/policy.d/10-keepalive.yaml"
assert_keepalive 7200 75 9
assert_change_sets ""
chmod 0644 "$T/policy.d/10-keepalive.yaml"
chmod 0777 "$T/policy.d"
expect_rc 1 medic_ns --policy "$T/policy.d" apply
assert_contains "$ERR" "$T/policy.d"
assert_keepalive 7200 75 9
assert_change_sets ""

step "a root-owned 0644 file in a directory others can write is refused too"
# Whoever can write the directory can replace the file.
chmod 0644 "$T/policy.d"
default_policy "$T/policy.d/only.yaml"
rm "$T/policy.d/10-keepalive.yaml"
chmod 0777 "$T/policy.d"
expect_rc 1 medic_ns --policy "$T/policy.d/only.yaml" apply
assert_contains "$ERR" "$T/policy.d"
assert_keepalive 7200 75 9
assert_change_sets ""
chmod 0755 "$T/policy.d"

step "root-owned 0644: apply works (the refusals were about permissions)"
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
assert_change_sets "1"

step "rollback refuses too while the policy is writable by others, and changes nothing"
chmod 0666 "$POLICY"
expect_rc 1 medic_ns rollback
assert_contains "$ERR" "refusing policy: $POLICY "
assert_keepalive 600 60 5
assert_change_sets "1"
assert_set_state 1 applied
