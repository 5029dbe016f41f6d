#!/bin/bash
# nic-offload on a veth pair in a namespace this test creates, once through the ethtool
# netlink family and once through the SIOCETHTOOL ioctl (MEDIC_ETHTOOL=ioctl), checked with
# `ethtool -k`: audit finds drift (2); apply --dry-run changes nothing; apply turns tx and rx
# checksumming off, and the kernel turns TSO off with them; audit is then compliant (0);
# rollback brings back every feature exactly as `ethtool -k` printed it before, including one
# the test had set to a non-default value (gro on), and TSO.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nic-lib.sh"
command -v ethtool >/dev/null || skip "needs ethtool (to check medic with an independent tool)"

setup - <<'EOF'
medic: 1
name: offload
targets:
  peer-nic:
    interface: auto
actions:
  - name: NIC checksum offload off
    nic-offload:
      interface: peer-nic
      features: {tx-checksumming: off, rx-checksumming: off}
EOF

run_path() {
        local path=$1 before after
        export MEDIC_ETHTOOL=$path
        new_netns
        STATE=$T/state-$path
        mkdir -m 0700 "$STATE"
        ip -n "$NS" link add nic0 type veth peer name nic1
        ip -n "$NS" link set nic0 up
        ip -n "$NS" link set nic1 up
        # auto = the interface of the default route.
        ip -n "$NS" addr add 192.0.2.1/24 dev nic0
        ip -n "$NS" route add default via 192.0.2.2 dev nic0
        # A wanted state that is not the driver's default: rollback must keep it.
        ip netns exec "$NS" ethtool -K nic0 gro on
        feature_is nic0 generic-receive-offload on
        feature_is nic0 tx-checksumming on
        feature_is nic0 rx-checksumming on
        feature_is nic0 tx-tcp-segmentation on
        before=$(ethtool_k nic0)
        peer=$(ethtool_k nic1)

        step "$path: audit: drift, exit 2, with the driver and the NIC's error counters"
        expect_rc 2 medic_ns -v audit
        assert_match "$OUT" 'nic0 offload tx-checksumming,rx-checksumming +tx-checksumming on, rx-checksumming on +→ +tx-checksumming off, rx-checksumming off +drift'
        assert_contains "$OUT" "nic0: driver veth; read through ethtool $path"
        assert_contains "$OUT" "nic0: rx_crc_errors 0, rx_frame_errors 0"
        assert_contains "$OUT" "the kernel turns TCP segmentation offload off too"
        assert_eq "$before" "$(ethtool_k nic0)" "ethtool -k nic0 after audit"
        # Reading the features needs no privilege: the same audit as nobody, no capabilities.
        expect_rc 2 nobody_ns audit
        assert_match "$OUT" 'nic0 offload tx-checksumming,rx-checksumming .* drift'

        step "$path: apply --dry-run: exit 2, nothing changed, no change set"
        expect_rc 2 medic_ns apply --dry-run
        assert_contains "$OUT" drift
        assert_eq "$before" "$(ethtool_k nic0)" "ethtool -k nic0 after apply --dry-run"
        assert_change_sets ""

        step "$path: apply: tx and rx checksumming off, TSO off as their dependent"
        expect_rc 2 medic_ns apply
        assert_match "$OUT" 'nic0 offload tx-checksumming,rx-checksumming .* changed'
        feature_is nic0 tx-checksumming off
        feature_is nic0 tx-checksum-ip-generic off
        feature_is nic0 rx-checksumming off
        feature_is nic0 tx-tcp-segmentation "off [requested on]"
        feature_is nic0 tx-tcp6-segmentation "off [requested on]"
        feature_is nic0 generic-receive-offload on
        assert_eq "$peer" "$(ethtool_k nic1)" "ethtool -k nic1 (the peer, not in the policy)"
        assert_change_sets "1"
        assert_set_state 1 applied
        # The change record names the dependents the kernel switched (the reply's ACTIVE).
        py_assert "$(journal_file 1)" '"tx-tcp-segmentation off" in d["items"][0]["after"]["observed"]["changed"]'
        py_assert "$(journal_file 1)" '"rx-gro" in d["items"][0]["before"]["observed"]["kernel"]["on"]'
        expect_rc 0 medic_ns show 1
        assert_contains "$OUT" "the kernel also changed tx-tcp-segmentation off"

        step "$path: audit after apply: compliant, exit 0"
        expect_rc 0 medic_ns audit
        assert_match "$OUT" 'nic0 offload tx-checksumming,rx-checksumming .* ok$'

        step "$path: second apply: nothing to do"
        expect_rc 0 medic_ns apply
        assert_change_sets "1"

        step "$path: a feature of the interface changed since: rollback is a conflict, nothing restored"
        ip netns exec "$NS" ethtool -K nic0 rx-gro-list on
        changed=$(ethtool_k nic0)
        expect_rc 4 medic_ns rollback
        assert_contains "$OUT" "conflict"
        assert_eq "$changed" "$(ethtool_k nic0)" "ethtool -k nic0 after a conflicting rollback"
        ip netns exec "$NS" ethtool -K nic0 rx-gro-list off

        step "$path: rollback: ethtool -k reads exactly as before, TSO and gro included"
        expect_rc 2 medic_ns rollback
        assert_contains "$OUT" restored
        after=$(ethtool_k nic0)
        if [ "$before" != "$after" ]; then
                diff <(echo "$before") <(echo "$after") >&2 || true
                fail "$path: ethtool -k nic0 differs from before the apply"
        fi
        feature_is nic0 tx-tcp-segmentation on
        feature_is nic0 generic-receive-offload on
        assert_set_state 1 rolled-back
        expect_rc 2 medic_ns audit
        unset MEDIC_ETHTOOL
}

run_path netlink
run_path ioctl
