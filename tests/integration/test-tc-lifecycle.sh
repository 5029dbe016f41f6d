#!/bin/bash
# traffic-priority's life cycle on a veth in a namespace, checked with tc (not with medic):
# audit 2 → apply --dry-run 2 (nothing changes) → apply 2 → audit 0 → apply 0 →
# rollback 2 → the device's qdiscs, classes and filters exactly as before. A new policy
# (other bands) replaces medic's structure and its rollback brings back the previous one.
# "mode: audit" never changes anything. Things that must not move: the peer interface,
# lo, and an ingress qdisc with its filter on the same device.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
tc_setup vt0 auto
tc_veth_up
ip -n "$NS" link set lo up
# Someone else's ingress policing on the same device: medic's root is egress only.
tc -n "$NS" qdisc add dev vt0 ingress
tc -n "$NS" filter add dev vt0 parent ffff: protocol ip pref 7 u32 match ip dport 9999 0xffff flowid ffff:9

tc_auto_backend
snapshot() {
        tc_snapshot "$NS" "$1"
        tc -n "$NS" -d filter show dev "$1" parent ffff:
}
others() {
        snapshot vt1
        snapshot lo
}
medic_structure() {
        # The kernel's view of medic's structure for policy bands 2380 > 2379 > rest.
        local q f
        tc_assert_auto_root "$NS" vt0
        q=$(tc -n "$NS" qdisc show dev vt0)
        [[ "$q" == *"qdisc ingress ffff: parent ffff:fff1"* ]] || fail "vt0 lost its ingress qdisc: $q"
        f=$(tc -n "$NS" filter show dev vt0)
        # IPv4: the link node jumps to 10: at the header length; 10: has a node per port and
        # direction. IPv6: next header TCP at 6 and the port at 40/42.
        grep -q 'protocol ip pref 1 u32 .* link 10:' <<<"$f" || fail "no IPv4 link node into 10:: $f"
        grep -q 'offset 0f00>>6 at 0' <<<"$f" || fail "the IPv4 link node does not follow the header length: $f"
        for want in "094c0000/ffff0000 at nexthdr+0:1:1" "0000094c/0000ffff at nexthdr+0:1:1" \
                "094b0000/ffff0000 at nexthdr+0:1:2" "0000094b/0000ffff at nexthdr+0:1:2" \
                "094c0000/ffff0000 at 40:1:1" "0000094c/0000ffff at 40:1:1" \
                "094b0000/ffff0000 at 40:1:2" "0000094b/0000ffff at 40:1:2"; do
                python3 - "$f" "${want%:1:*}" "1:${want##*:1:}" <<'EOF' || fail "vt0 filters: no node matching ${want%:1:*} → 1:${want##*:1:}: $f"
import sys
text, match, flow = sys.argv[1:]
blocks = text.replace("\n  ", " ").splitlines()
sys.exit(0 if any("*flowid " + flow + " " in b and "match " + match in b for b in blocks) else 1)
EOF
        done
        assert_eq 8 "$(grep -c 'flowid' <<<"$f")" "port nodes on vt0 (2 ports × 2 directions × IPv4/IPv6)"
}

before=$(snapshot vt0)
before_others=$(others)
grep -q '^qdisc noqueue 0: root' <<<"$before" || fail "vt0 does not start with the kernel default: $before"

step "audit: drift, exit 2, nothing changes"
expect_rc 2 medic_ns audit
assert_match "$OUT" '^peer first +vt0 +kernel default \(noqueue\) → auto: peer 2380 > client 2379 > rest +drift$'
assert_eq "$before" "$(snapshot vt0)" "vt0 after audit"
assert_change_sets ""

step "apply --dry-run: exit 2, nothing changes, no change set"
expect_rc 2 medic_ns apply --dry-run
assert_match "$OUT" '^peer first +vt0 +kernel default \(noqueue\) → auto: peer 2380 > client 2379 > rest +drift$'
assert_not_contains "$OUT" changed
assert_eq "$before" "$(snapshot vt0)" "vt0 after apply --dry-run"
assert_change_sets ""

step "apply: exit 2, medic's structure in the kernel, the rest untouched"
expect_rc 2 medic_ns apply
assert_match "$OUT" '^peer first +vt0 +kernel default \(noqueue\) → auto: peer 2380 > client 2379 > rest +changed$'
assert_contains "$OUT" "change set 1 applied"
medic_structure
applied=$(snapshot vt0)
assert_eq "$before_others" "$(others)" "vt1 and lo after apply"
assert_change_sets 1
assert_set_state 1 applied
# medic's root is the policy's entry (no "observed"); any other root is the kernel's view.
py_assert "$(journal_file 1)" '[(i["kind"], i["object"], i["before"]["observed"]["root"], "observed" in i["after"], i["after"]["backend"]) for i in d["items"]] == [("traffic-priority", "vt0", "default", False, "'"$AUTO"'")]'

step "audit: compliant, exit 0; apply: nothing to do, exit 0, nothing rewritten"
expect_rc 0 medic_ns audit
assert_match "$OUT" "^peer first +vt0 +$AUTO_SHOWN: 2380 > 2379 > rest → auto: peer 2380 > client 2379 > rest +ok\$"
expect_rc 0 medic_ns apply
assert_match "$OUT" ' ok$'
assert_change_sets 1
# tc prints the kernel's handles: a rebuilt structure would show new ones.
assert_eq "$applied" "$(snapshot vt0)" "vt0 after a second apply"

step "rollback --dry-run: exit 2, nothing changes"
expect_rc 2 medic_ns rollback --dry-run
assert_match "$OUT" "^peer first +vt0 +$AUTO_SHOWN: 2380 > 2379 > rest → kernel default \(noqueue\)"
assert_eq "$applied" "$(snapshot vt0)" "vt0 after rollback --dry-run"
assert_change_sets 1

step "rollback: exit 2, vt0 exactly as before"
expect_rc 2 medic_ns rollback
assert_match "$OUT" "^peer first +vt0 +$AUTO_SHOWN: 2380 > 2379 > rest → kernel default \(noqueue\) +restored\$"
assert_eq "$before" "$(snapshot vt0)" "vt0 (tc -d qdisc/class/filter show) after rollback"
assert_eq "$before_others" "$(others)" "vt1 and lo after rollback"
assert_change_sets "1 2"
assert_set_state 1 rolled-back
expect_rc 2 medic_ns audit

step "a new policy replaces medic's structure; its rollback brings the old one back"
expect_rc 2 medic_ns apply
assert_contains "$OUT" "change set 3 applied"
v1=$(snapshot vt0)
cp "$POLICY" "$T/two-bands.yaml"
write_policy "$POLICY" <<'YAML'
medic: 1
name: tp
actions:
  - name: peer first
    traffic-priority:
      interface: vt0
      backend: htb
      rate: 1gbit
      bands:
        - {name: peer, ports: [2380, 2381]}
        - {name: client, ports: [2379]}
        - {name: bulk, ports: [873]}
YAML
expect_rc 2 medic_ns audit
assert_match "$OUT" "^peer first +vt0 +$AUTO_SHOWN: 2380 > 2379 > rest → htb 1gbit: peer 2380,2381 > client 2379 > bulk 873 > rest +drift\$"
expect_rc 2 medic_ns apply
assert_match "$OUT" "$AUTO_SHOWN: 2380 > 2379 > rest → htb 1gbit: peer 2380,2381 > client 2379 > bulk 873 > rest +changed\$"
c=$(tc -n "$NS" class show dev vt0)
assert_eq 5 "$(wc -l <<<"$c")" "classes on vt0 with three bands"
grep -qE '^class htb 1:100 root rate 1Gbit ceil 1Gbit ' <<<"$c" || fail "1:100 not at 1gbit: $c"
grep -qE '^class htb 1:4 parent 1:100 prio 3 rate 250Mbit ceil 1Gbit ' <<<"$c" || fail "no default class 1:4 at prio 3: $c"
assert_eq 16 "$(tc -n "$NS" filter show dev vt0 | grep -c flowid)" "port nodes for 4 ports"
grep -q 'default 0x4 ' <<<"$(tc -n "$NS" qdisc show dev vt0)" || fail "htb default is not 1:4: $(tc -n "$NS" qdisc show dev vt0)"
expect_rc 0 medic_ns audit
expect_rc 2 medic_ns rollback
assert_contains "$OUT" "change set 4 rolled back as change set 5"
assert_eq "$v1" "$(snapshot vt0)" "vt0 after rolling back the three-band set: the two-band structure"
cp "$T/two-bands.yaml" "$POLICY"
expect_rc 0 medic_ns audit
expect_rc 2 medic_ns rollback
assert_contains "$OUT" "change set 3 rolled back as change set 6"
assert_eq "$before" "$(snapshot vt0)" "vt0 after rolling back everything"

step "mode: audit never changes: apply reports drift (audit only), exit 0"
write_policy "$POLICY" <<'YAML'
medic: 1
name: tp
actions:
  - name: watch only
    mode: audit
    traffic-priority:
      interface: vt0
      bands:
        - {name: peer, ports: [2380]}
YAML
expect_rc 2 medic_ns audit
expect_rc 0 medic_ns apply
assert_match "$OUT" '^watch only +vt0 +kernel default \(noqueue\) → auto: peer 2380 > rest +drift \(audit only\)$'
assert_eq "$before" "$(snapshot vt0)" "vt0 after apply of an audit-only action"
assert_change_sets "1 2 3 4 5 6"
# A dry run shows what apply would change: nothing (0), the drift stays reported.
expect_rc 0 medic_ns apply --dry-run
assert_match "$OUT" 'drift \(audit only\)$'
assert_eq "$before" "$(snapshot vt0)" "vt0 after apply --dry-run of an audit-only action"
assert_eq "$before_others" "$(others)" "vt1 and lo at the end"
