#!/bin/bash
# An invalid policy: exit 1, "file:line:col:" on stderr, nothing changed (not even the
# valid keys of the same policy), no change set written.
. "$(dirname "$0")/lib.sh"
# Line 7, column 37 is the "[" of the list where a value belongs; the valid
# tcp_keepalive_time line above it must not be applied either.
setup - <<'YAML'
medic: 1
name: invalid
actions:
  - name: keepalive
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
      net.ipv4.tcp_keepalive_intvl: [60]
YAML

for cmd in apply "apply --dry-run" audit validate; do
        step "$cmd with a wrong type: exit 1, $POLICY:7:37:"
        # shellcheck disable=SC2086
        expect_rc 1 medic_ns $cmd
        assert_contains "$ERR" "$POLICY:7:37: "
        assert_contains "$ERR" "net.ipv4.tcp_keepalive_intvl"
        assert_keepalive 7200 75 9
        assert_change_sets ""
done
[ -e "$AUDIT" ] && fail "an invalid policy produced an audit log"

# refused POS [TEXT...]: apply refuses the policy on stdin: exit 1, "POLICY:POS: " and every
# TEXT on stderr, the keepalive values untouched, no change set.
refused() {
        local pos=$1 text
        shift
        write_policy "$POLICY"
        expect_rc 1 medic_ns apply
        assert_contains "$ERR" "$POLICY:$pos: "
        for text in "$@"; do
                assert_contains "$ERR" "$text"
        done
        assert_keepalive 7200 75 9
        assert_change_sets ""
}

step "an unknown key: exit 1 with its position"
refused 7:5 colour <<'YAML'
medic: 1
name: invalid
actions:
  - name: keepalive
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
    colour: blue
YAML

step "a sysctl key that is a path: exit 1 with its position"
refused 7:7 <<'YAML'
medic: 1
name: invalid
actions:
  - name: keepalive
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
      ../../kernel/hostname: evil
YAML

step "two actions setting one sysctl to different values: exit 1, both positions named"
refused 9:7 "by action 'one' at $POLICY:6:7" <<'YAML'
medic: 1
name: invalid
actions:
  - name: one
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
  - name: two
    sysctl:
      net.ipv4.tcp_keepalive_time: 900
YAML

step "a YAML syntax error: exit 1 with a position"
write_policy "$POLICY" <<'YAML'
medic: 1
name: invalid
actions:
  - name: keepalive
    sysctl: {net.ipv4.tcp_keepalive_time: 600
YAML
expect_rc 1 medic_ns apply
assert_match "$ERR" "$POLICY:[0-9]+:[0-9]+: "
assert_keepalive 7200 75 9
assert_change_sets ""

step "the same policy made valid applies (the refusals above were the policy's fault)"
default_policy "$POLICY"
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
assert_change_sets "1"
