#!/bin/bash
# nic-offload where it cannot do what the policy asks, on a veth pair in a test namespace,
# checked with `ethtool -k`:
#  - an unknown feature name is a policy error with file:line:column, nothing runs;
#  - a fixed feature (veth has no LRO) is reported as "cannot change on this NIC" and skipped,
#    while the other feature of the same action is applied;
#  - a feature the kernel refuses (TSO while tx checksumming is off: the FEATURES_SET reply's
#    WANTED names it; through the ioctl, SFEATURES flags it) fails the apply with the feature
#    named, and what the change set had changed (gro, a sysctl) is restored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nic-lib.sh"
command -v ethtool >/dev/null || skip "needs ethtool (to check medic with an independent tool)"
setup

veth() {
        ip -n "$NS" link add nic0 type veth peer name nic1
        ip -n "$NS" link set nic0 up
        ip -n "$NS" link set nic1 up
}
veth

step "unknown feature name: a policy error with its position, nothing changed"
write_policy "$POLICY" <<'EOF'
medic: 1
name: offload
actions:
  - name: typo
    nic-offload:
      interface: nic0
      features:
        tx-checksumming: off
        tx-checksuming: off
EOF
before=$(ethtool_k nic0)
expect_rc 1 medic_ns validate
assert_contains "$ERR" "policy.yaml:9:9: nic-offload.features: unknown offload feature 'tx-checksuming'"
expect_rc 1 medic_ns apply
assert_contains "$ERR" "policy.yaml:9:9: nic-offload.features: unknown offload feature 'tx-checksuming'"
assert_contains "$ERR" "nothing was changed"
assert_eq "$before" "$(ethtool_k nic0)" "ethtool -k nic0 after a refused policy"
assert_change_sets ""

step "two names for one kernel feature with different values: a policy error"
write_policy "$POLICY" <<'EOF'
medic: 1
name: offload
actions:
  - name: gro
    nic-offload:
      interface: nic0
      features: {generic-receive-offload: on, rx-gro: off}
EOF
expect_rc 1 medic_ns validate
assert_contains "$ERR" "policy.yaml:7:47: nic-offload.features: rx-gro: off contradicts generic-receive-offload: on"

step "a fixed feature: reported and skipped; gro in the same action applied"
write_policy "$POLICY" <<'EOF'
medic: 1
name: offload
actions:
  - name: receive offloads
    nic-offload:
      interface: nic0
      features: {large-receive-offload: on, generic-receive-offload: on}
EOF
feature_is nic0 large-receive-offload "off [fixed]"
feature_is nic0 generic-receive-offload off
expect_rc 2 medic_ns audit
assert_match "$OUT" 'nic0 offload large-receive-offload .*skipped: cannot change on this NIC: rx-lro is fixed off'
assert_match "$OUT" 'nic0 offload generic-receive-offload +generic-receive-offload off +→ +generic-receive-offload on +drift'
expect_rc 2 medic_ns apply
assert_match "$OUT" 'nic0 offload large-receive-offload .*skipped: cannot change on this NIC: rx-lro is fixed off'
assert_match "$OUT" 'nic0 offload generic-receive-offload .* changed'
feature_is nic0 generic-receive-offload on
feature_is nic0 large-receive-offload "off [fixed]"
expect_rc 0 medic_ns audit
expect_rc 2 medic_ns rollback
feature_is nic0 generic-receive-offload off

for path in netlink ioctl; do
        export MEDIC_ETHTOOL=$path
        step "$path: a feature the kernel refuses: the apply fails naming it, and the set is undone"
        new_netns
        veth
        # TSO needs tx checksumming: with tx off, the kernel keeps TSO off whatever is asked.
        ip netns exec "$NS" ethtool -K nic0 tx off >/dev/null
        feature_is nic0 tx-tcp-segmentation "off [requested on]"
        feature_is nic0 generic-receive-offload off
        write_policy "$POLICY" <<'EOF'
medic: 1
name: offload
actions:
  - name: keepalive
    sysctl: {net.ipv4.tcp_keepalive_time: 600}
  - name: segmentation and gro
    nic-offload:
      interface: nic0
      features: {generic-receive-offload: on, tcp-segmentation-offload: on}
EOF
        before=$(ethtool_k nic0)
        STATE=$T/state-$path
        mkdir -m 0700 "$STATE"
        expect_rc 4 medic_ns apply
        assert_contains "$OUT" "nic0: the kernel did not take tcp-segmentation-offload on (tx-tcp-segmentation, tx-tcp-ecn-segmentation, tx-tcp-mangleid-segmentation, tx-tcp6-segmentation stayed off)"
        assert_contains "$OUT" "change set 1 failed; what it had changed was restored"
        after=$(ethtool_k nic0)
        if [ "$before" != "$after" ]; then
                diff <(echo "$before") <(echo "$after") >&2 || true
                fail "$path: ethtool -k nic0 differs from before the failed apply"
        fi
        feature_is nic0 generic-receive-offload off
        assert_keepalive 7200 75 9
        assert_set_state 1 failed
        audit_events failure >"$T/failures"
        assert_contains "$T/failures" "tx-tcp-segmentation, tx-tcp-ecn-segmentation"
        unset MEDIC_ETHTOOL
done
