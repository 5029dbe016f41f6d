#!/bin/bash
# Invalid traffic-priority policies: validate, audit and apply exit 1 (DESIGN §3: could not
# run at all, nothing changed) with "file:line:col: what" on stderr; no change set, no
# qdisc anywhere in the namespace changes (not even from a valid action next to it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
setup
tc_veth_up
ip -n "$NS" link set lo up
before=$(tc -n "$NS" -d qdisc show)

# bad LINE:COL MESSAGE-PART: the policy on stdin (after a valid first action) is refused.
# The header is 10 lines; each case below starts with two lines (interface, a comment),
# so the traffic-priority action's own keys start at line 13.
bad() {
        local pos=$1 msg=$2 cmd
        {
                cat <<'EOF'
medic: 1
name: bad
actions:
  - name: a valid one next to it
    traffic-priority:
      interface: vt1
      bands:
        - {name: peer, ports: [2380]}
  - name: the bad one
    traffic-priority:
EOF
                cat
        } | write_policy "$POLICY"
        for cmd in validate audit apply; do
                step "$msg ($cmd)"
                expect_rc 1 medic_ns "$cmd"
                assert_contains "$ERR" "$POLICY:$pos: " "stderr of $cmd"
                assert_contains "$ERR" "$msg" "stderr of $cmd"
                assert_empty "$OUT" "stdout of $cmd"
        done
        assert_eq "$before" "$(tc -n "$NS" -d qdisc show)" "qdiscs after the invalid policy"
        assert_change_sets ""
}

bad 15:40 "traffic-priority.bands[].ports: 2380 is already in band 'peer'" <<'EOF'
      interface: vt0
      # the case:
      bands:
        - {name: peer, ports: [2380]}
        - {name: client, ports: [2379, 2380]}
EOF
bad 14:38 "traffic-priority.bands[].ports: 2380 is already in band 'peer'" <<'EOF'
      interface: vt0
      # the case:
      bands:
        - {name: peer, ports: [2380, 2380]}
EOF
bad 14:9 "traffic-priority.bands: 4 bands; give 1 to 3" <<'EOF'
      interface: vt0
      # the case:
      bands:
        - {name: a, ports: [1]}
        - {name: b, ports: [2]}
        - {name: c, ports: [3]}
        - {name: d, ports: [4]}
EOF
bad 13:14 "traffic-priority.bands: 0 bands; give 1 to 3" <<'EOF'
      interface: vt0
      # the case:
      bands: []
EOF
bad 14:29 "traffic-priority.bands[].ports[]: 0 is out of range 1..65535" <<'EOF'
      interface: vt0
      # the case:
      bands:
        - {name: a, ports: [0]}
EOF
bad 14:29 "traffic-priority.bands[].ports[]: 70000 is out of range 1..65535" <<'EOF'
      interface: vt0
      # the case:
      bands:
        - {name: a, ports: [70000]}
EOF
bad 13:16 "traffic-priority.backend: 'cbq' is not prio, htb or auto" <<'EOF'
      interface: vt0
      # the case:
      backend: cbq
      bands:
        - {name: a, ports: [1]}
EOF
bad 14:13 "traffic-priority.rate: only the htb backend (or auto) shapes to a rate" <<'EOF'
      interface: vt0
      # the case:
      backend: prio
      rate: 1gbit
      bands:
        - {name: a, ports: [1]}
EOF
bad 13:13 "traffic-priority.rate: 'fast' is not a rate of at least 1mbit" <<'EOF'
      interface: vt0
      # the case:
      rate: fast
      bands:
        - {name: a, ports: [1]}
EOF
bad 13:13 "traffic-priority.rate: '100kbit' is not a rate of at least 1mbit" <<'EOF'
      interface: vt0
      # the case:
      rate: 100kbit
      bands:
        - {name: a, ports: [1]}
EOF
bad 13:13 "traffic-priority.rate: '1 gbit' is not a rate of at least 1mbit" <<'EOF'
      interface: vt0
      # the case:
      rate: 1 gbit
      bands:
        - {name: a, ports: [1]}
EOF
bad 14:18 "traffic-priority.bands[].name: 'Peer' must be 1-15 of [a-z0-9_-]" <<'EOF'
      interface: vt0
      # the case:
      bands:
        - {name: Peer, ports: [1]}
EOF
bad 13:7 "traffic-priority: unknown key 'bandz'" <<'EOF'
      interface: vt0
      # the case:
      bandz:
        - {name: a, ports: [1]}
EOF
bad 11:18 "traffic-priority.interface: 'this-name-is-too-long0' is not an interface target, an interface name (1-15 bytes" <<'EOF'
      interface: this-name-is-too-long0
      # the case: longer than IFNAMSIZ
      bands:
        - {name: a, ports: [1]}
EOF
bad 11:18 "traffic-priority.interface: 'a/b' is not an interface target" <<'EOF'
      interface: a/b
      # the case: a slash
      bands:
        - {name: a, ports: [1]}
EOF

step "the same header with a valid case: valid (the failures above were the cases')"
write_policy "$POLICY" <<'EOF'
medic: 1
name: bad
actions:
  - name: a valid one next to it
    traffic-priority:
      interface: vt1
      bands:
        - {name: peer, ports: [2380]}
  - name: the bad one
    traffic-priority:
      interface: vt0
      bands:
        - {name: peer, ports: [2380]}
EOF
expect_rc 0 medic_ns validate
expect_rc 2 medic_ns audit
assert_eq "$before" "$(tc -n "$NS" -d qdisc show)" "qdiscs at the end"
assert_change_sets ""
