#!/bin/bash
# traffic-priority classifies real packets: after apply, TCP connection attempts (nothing
# listens: a SYN and the RST that answers it) to 2380, 2379 and another port, over IPv4 and
# IPv6, land in exactly the class of their band — counted by the kernel (tc -s class show),
# not by medic. On lo every packet is seen twice by the root (the SYN with the destination
# port, the RST with the source port), so both directions of the filters are proven. A SYN
# carrying IPv4 options (header length 24) must land in the peer class too: medic follows
# the IPv4 header length. Then the same on a veth pair between two namespaces, and a
# three-band policy with several ports per band (unmatched traffic in 1:4).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
tc_setup lo auto
NS_LO=$NS
ip -n "$NS" link set lo up

# attempt NS ADDR PORT [opts]
attempt() { tc_attempt "$@"; }

# counters NS DEV: "class packets bytes" per class, sorted by class.
counters() { tc_counters "$@"; }
pkts() { awk -v c="$2" '$1 == c { print $2 }' <<<"$1"; }
bytes() { awk -v c="$2" '$1 == c { print $3 }' <<<"$1"; }

# on_lo "1:1=N ..." ADDR PORT [opts]: one connection attempt on lo, which moves the
# counters by exactly that (expect_deltas); $c keeps the counters from before it.
on_lo() {
        c=$(counters "$NS" lo)
        attempt "$NS" "${@:2}"
        expect_deltas "$NS" lo "$c" "$1"
}

# expect_deltas NS DEV BEFORE "1:1=N 1:2=N ...": the packet counters moved by exactly N.
# A value ">=N" asks for at least N (a veth also carries neighbour discovery and MLD).
expect_deltas() {
        local ns=$1 dev=$2 before=$3 want=$4 now c spec n got
        now=$(counters "$ns" "$dev")
        for spec in $want; do
                c=${spec%%=*}
                n=${spec#*=}
                got=$(( $(pkts "$now" "$c") - $(pkts "$before" "$c") ))
                case "$n" in
                ">="*) [ "$got" -ge "${n#>=}" ] || fail "$dev class $c: $got packets, expected at least ${n#>=} (before: $(echo $before), now: $(echo $now))" ;;
                *) [ "$got" = "$n" ] || fail "$dev class $c: $got packets, expected exactly $n (before: $(echo $before), now: $(echo $now))" ;;
                esac
        done
}

# snapshot NS DEV: everything tc shows about the device's traffic control.
snapshot() { tc_snapshot "$@"; }

assert_medic_htb() { # NS DEV NBANDS
        local q
        q=$(tc -n "$1" qdisc show dev "$2")
        [ "$(wc -l <<<"$q")" = 1 ] || fail "$2: expected one qdisc, got: $q"
        [[ "$q" =~ ^qdisc\ htb\ 1:\ root\ .*default\ 0x$(($3 + 1))\  ]] || fail "$2: expected medic's htb 1: root with default 0x$(($3 + 1)), got: $q"
        [ "$(tc -n "$1" class show dev "$2" | wc -l)" = $(($3 + 2)) ] || fail "$2: expected $(($3 + 2)) classes: $(tc -n "$1" class show dev "$2")"
}

# ---------------------------------------------------------------------------------------
step "lo in a fresh namespace: noqueue root, nothing else"
assert_eq "qdisc noqueue 0: root refcnt 2 " "$(tc -n "$NS" qdisc show dev lo)" "lo root before apply"
assert_eq "" "$(tc -n "$NS" filter show dev lo)" "lo filters before apply"
grep -q 'inet6 ::1/128' <<<"$(ip -n "$NS" -6 addr show dev lo)" || fail "no ::1 on lo in the namespace"
before_lo=$(snapshot "$NS" lo)

step "apply on lo: exit 2, htb fallback (no sch_prio here) or prio"
expect_rc 2 medic_ns apply
assert_match "$OUT" '^peer first +lo +kernel default \(noqueue\) → auto: peer 2380 > client 2379 > rest +changed'
if grep -q '^qdisc prio' <<<"$(tc -n "$NS" qdisc show dev lo)"; then
        # A kernel with sch_prio: bands are 1:1..1:3 too, classified the same way.
        log "this kernel has sch_prio: the prio backend was used"
        kind=prio
else
        assert_contains "$OUT" "note: backend auto: used htb, because this kernel has no 'prio' qdisc"
        assert_medic_htb "$NS" lo 2
        kind=htb
fi

step "lo is quiet: no packet through any class without our connection attempts"
c0=$(counters "$NS" lo)
sleep 0.3
[ "$(counters "$NS" lo)" = "$c0" ] || fail "lo carries traffic we did not make: $(echo $c0) → $(echo $(counters "$NS" lo))"
for c in 1:1 1:2 1:3; do
        [ -n "$(pkts "$c0" $c)" ] || fail "lo has no class $c: $(echo $c0)"
done

step "IPv4 127.0.0.1:2380 → 1:1 (SYN by destination port, RST by source port)"
on_lo "1:1=2 1:2=0 1:3=0" 127.0.0.1 2380
plain_v4_bytes=$(( $(bytes "$(counters "$NS" lo)" 1:1) - $(bytes "$c" 1:1) ))

step "IPv6 [::1]:2380 → 1:1"
on_lo "1:1=2 1:2=0 1:3=0" ::1 2380

step "IPv4 127.0.0.1:2379 → 1:2"
on_lo "1:1=0 1:2=2 1:3=0" 127.0.0.1 2379

step "IPv6 [::1]:2379 → 1:2"
on_lo "1:1=0 1:2=2 1:3=0" ::1 2379

step "IPv4 127.0.0.1:5555 → 1:3 (the rest)"
on_lo "1:1=0 1:2=0 1:3=2" 127.0.0.1 5555

step "IPv6 [::1]:5555 → 1:3 (the rest)"
on_lo "1:1=0 1:2=0 1:3=2" ::1 5555

step "IPv4 with options (header length 24) to 2380 → 1:1"
on_lo "1:1=2 1:2=0 1:3=0" 127.0.0.1 2380 opts
# The SYN really carried the 4 option bytes (the RST answering it carries none).
opt_bytes=$(( $(bytes "$(counters "$NS" lo)" 1:1) - $(bytes "$c" 1:1) ))
assert_eq $((plain_v4_bytes + 4)) "$opt_bytes" "bytes of SYN+RST with IPv4 options (plain: $plain_v4_bytes)"

step "IPv4 with options to 5555 → still the rest"
on_lo "1:1=0 1:2=0 1:3=2" 127.0.0.1 5555 opts

if [ "$kind" = htb ]; then
        step "no packet bypassed the classes (htb direct_packets_stat 0); the root counted all 16"
        q=$(tc -n "$NS" -s qdisc show dev lo)
        [[ "$q" == *"direct_packets_stat 0 "* ]] || fail "packets went to htb's direct queue: $q"
        [[ "$q" == *"Sent "*" bytes 16 pkt "* ]] || fail "the root did not count exactly 16 packets: $q"
fi

step "rollback: exit 2, lo exactly as before"
expect_rc 2 medic_ns rollback
assert_match "$OUT" '^peer first +lo +.* → kernel default \(noqueue\) +restored'
assert_eq "$before_lo" "$(snapshot "$NS" lo)" "tc -d qdisc/class/filter show dev lo after rollback"

# ---------------------------------------------------------------------------------------
step "three bands with several ports each: unmatched traffic goes to 1:4"
write_policy "$POLICY" <<'YAML'
medic: 1
name: tp3
actions:
  - name: three bands
    traffic-priority:
      interface: lo
      bands:
        - {name: peer, ports: [2380, 2381]}
        - {name: client, ports: [2379]}
        - {name: bulk, ports: [873, 8080]}
YAML
expect_rc 2 medic_ns apply
assert_match "$OUT" 'auto: peer 2380,2381 > client 2379 > bulk 873,8080 > rest +changed'
if [ "$kind" = htb ]; then
        assert_medic_htb "$NS" lo 3
        for i in 1 2 3 4; do
                grep -qE "^class htb 1:$i parent 1:100 prio $((i - 1)) " <<<"$(tc -n "$NS" class show dev lo)" ||
                        fail "class 1:$i is not under 1:100 with prio $((i - 1)): $(tc -n "$NS" class show dev lo)"
        done
fi
on_lo "1:1=2 1:2=0 1:3=0 1:4=0" 127.0.0.1 2381
on_lo "1:1=2 1:2=0 1:3=0 1:4=0" ::1 2380
on_lo "1:1=0 1:2=0 1:3=2 1:4=0" ::1 8080
on_lo "1:1=0 1:2=0 1:3=2 1:4=0" 127.0.0.1 873 opts
on_lo "1:1=0 1:2=0 1:3=0 1:4=2" 127.0.0.1 2382
on_lo "1:1=0 1:2=2 1:3=0 1:4=0" ::1 2379
expect_rc 2 medic_ns rollback
assert_eq "$before_lo" "$(snapshot "$NS" lo)" "lo after the rollback of the three-band set"

# ---------------------------------------------------------------------------------------
step "a veth pair between two namespaces; apply in A on vethA (an interface target)"
new_netns; NS_B=$NS
new_netns; NS_A=$NS
ip -n "$NS_A" link add vethA type veth peer name vethB netns "$NS_B"
ip -n "$NS_A" addr add 10.77.0.1/24 dev vethA
ip -n "$NS_B" addr add 10.77.0.2/24 dev vethB
ip -n "$NS_A" addr add fd77::1/64 dev vethA nodad
ip -n "$NS_B" addr add fd77::2/64 dev vethB nodad
for x in "$NS_A vethA" "$NS_B vethB" "$NS_A lo" "$NS_B lo"; do
        # shellcheck disable=SC2086
        set -- $x
        ip -n "$1" link set "$2" up
done
write_policy "$POLICY" <<'YAML'
medic: 1
name: tp-veth
targets:
  peer-nic:
    interface: vethA
actions:
  - name: peer first
    traffic-priority:
      interface: peer-nic
      bands:
        - {name: peer, ports: [2380]}
        - {name: client, ports: [2379]}
YAML
before_a=$(snapshot "$NS_A" vethA)
before_b=$(snapshot "$NS_B" vethB)
before_alo=$(snapshot "$NS_A" lo)
assert_eq "qdisc noqueue 0: root refcnt 2 " "$(tc -n "$NS_A" qdisc show dev vethA)" "vethA root before apply"
expect_rc 2 medic_ns apply
assert_match "$OUT" '^peer first +vethA +kernel default \(noqueue\) → auto: peer 2380 > client 2379 > rest +changed'
[ "$kind" = htb ] && assert_medic_htb "$NS_A" vethA 2
assert_eq "$before_b" "$(snapshot "$NS_B" vethB)" "vethB (the other namespace) after apply"
assert_eq "$before_alo" "$(snapshot "$NS_A" lo)" "lo of namespace A after apply"
# A first attempt each way resolves the neighbours (and proves the path: B refuses).
attempt "$NS_A" 10.77.0.2 5555
attempt "$NS_A" fd77::2 5555

# Only the SYN leaves through vethA; the RST comes in (ingress is not shaped).
for a in 10.77.0.2 fd77::2; do
        step "veth: $a port 2380 → 1:1, 2379 → 1:2, 5555 → 1:3"
        c=$(counters "$NS_A" vethA); attempt "$NS_A" "$a" 2380
        expect_deltas "$NS_A" vethA "$c" "1:1=1 1:2=0"
        c=$(counters "$NS_A" vethA); attempt "$NS_A" "$a" 2379
        expect_deltas "$NS_A" vethA "$c" "1:1=0 1:2=1"
        c=$(counters "$NS_A" vethA); attempt "$NS_A" "$a" 5555
        expect_deltas "$NS_A" vethA "$c" "1:1=0 1:2=0 1:3=>=1"
done
step "veth: a SYN with IPv4 options to 2380 → 1:1, 4 bytes longer than a plain one"
c=$(counters "$NS_A" vethA); attempt "$NS_A" 10.77.0.2 2380
plain=$(( $(bytes "$(counters "$NS_A" vethA)" 1:1) - $(bytes "$c" 1:1) ))
c=$(counters "$NS_A" vethA); attempt "$NS_A" 10.77.0.2 2380 opts
expect_deltas "$NS_A" vethA "$c" "1:1=1 1:2=0"
assert_eq $((plain + 4)) $(( $(bytes "$(counters "$NS_A" vethA)" 1:1) - $(bytes "$c" 1:1) )) "bytes of a SYN with IPv4 options on vethA"

step "veth: rollback restores vethA exactly; B never changed"
expect_rc 2 medic_ns rollback
assert_match "$OUT" '^peer first +vethA +.* → kernel default \(noqueue\) +restored'
assert_eq "$before_a" "$(snapshot "$NS_A" vethA)" "vethA after rollback"
assert_eq "$before_b" "$(snapshot "$NS_B" vethB)" "vethB after rollback"
assert_eq "$before_alo" "$(snapshot "$NS_A" lo)" "lo of namespace A after rollback"
NS=$NS_LO
assert_eq "$before_lo" "$(snapshot "$NS_LO" lo)" "lo of the first namespace at the end"
