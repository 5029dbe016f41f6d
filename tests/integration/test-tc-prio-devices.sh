#!/bin/bash
# The prio backend end to end on real devices other than lo, where the kernel has sch_prio
# (Debian's stock kernel, under QEMU in make check-vm); skipped where it has none:
# 1. a veth: backend: prio builds prio 1: (3 bands, every priority in the last), the kernel
#    counts each SYN in its band (tc -s), audit is 0, rollback gives the kernel default back
#    exactly (tc -d);
# 2. the same veth with a tbf root someone set before: backend: auto picks prio, and rollback
#    re-creates the tbf exactly as it was;
# 3. a multi-queue tap (two queues open, so the kernel's default root is mq): backend: auto
#    replaces mq with prio, classifies, and rollback brings back mq with its children.
# IPv6 is off in these namespaces, and neighbours are static, so that nothing but the
# test's own SYNs leaves the devices and every counter is exact. (IPv6 classification is
# checked on lo by test-tc-prio-kernel.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
tc_setup vt0 prio
tc_kernel_has_prio ||
        skip "kernel has no sch_prio (CONFIG_NET_SCH_PRIO not set): the prio path runs on a stock kernel (make check-vm)"

MAIN=$NS
new_netns
PEER=$NS
NS=$MAIN
for ns in "$MAIN" "$PEER"; do
        ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6'
        ip -n "$ns" link set lo up
done
ip -n "$NS" link add vt0 type veth peer name vt1 netns "$PEER"
ip -n "$NS" addr add 10.77.1.1/24 dev vt0
ip -n "$PEER" addr add 10.77.1.2/24 dev vt1
ip -n "$NS" link set vt0 up
ip -n "$PEER" link set vt1 up
mac() { ip -n "$1" -o link show "$2" | grep -o 'link/ether [0-9a-f:]*' | awk '{ print $2 }'; }
ip -n "$NS" neigh replace 10.77.1.2 lladdr "$(mac "$PEER" vt1)" dev vt0 nud permanent
ip -n "$PEER" neigh replace 10.77.1.1 lladdr "$(mac "$NS" vt0)" dev vt1 nud permanent

pkts() { awk -v c="$2" '$1 == c { print $2 }' <<<"$1"; }
# expect_deltas DEV BEFORE "1:1=N ...": packets per class since BEFORE (tc_counters), exactly.
expect_deltas() {
        local now spec got
        now=$(tc_counters "$NS" "$1")
        for spec in $3; do
                got=$(( $(pkts "$now" "${spec%%=*}") - $(pkts "$2" "${spec%%=*}") ))
                assert_eq "${spec#*=}" "$got" "$1: packets in class ${spec%%=*}"
        done
}
# prio_root DEV: medic's prio root for two policy bands and its three classes, exactly.
prio_root() {
        local q
        q=$(tc_root_line "$NS" "$1")
        [[ "$q" =~ ^qdisc\ prio\ 1:\ root\ refcnt\ [0-9]+\ bands\ 3\ priomap(\ 2){16}$ ]] ||
                fail "$1: root is not medic's prio 1: with 3 bands and every priority in band 3: $q"
        assert_eq "$(printf 'class prio 1:%s parent 1:\n' 1 2 3)" "$(tc -n "$NS" class show dev "$1" | sed 's/ *$//')" "classes on $1"
        assert_eq 8 "$(tc -n "$NS" filter show dev "$1" | grep -c flowid)" "port nodes on $1 (2 ports × 2 directions × IPv4/IPv6)"
}
# refused ADDR PORT [opts]: one SYN out of vt0; the peer's RST comes back on vt1.
refused() { tc_attempt "$NS" "$@"; }

step "veth, backend: prio: apply builds prio 1:"
before=$(tc_snapshot "$NS" vt0)
expect_rc 2 medic_ns apply
assert_match "$OUT" '^peer first +vt0 +kernel default \(noqueue\) → prio: peer 2380 > client 2379 > rest +changed$'
prio_root vt0
expect_rc 0 medic_ns audit
assert_match "$OUT" '^peer first +vt0 +prio: 2380 > 2379 > rest → prio: peer 2380 > client 2379 > rest +ok$'

step "veth: each SYN counted in its band"
c=$(tc_counters "$NS" vt0); refused 10.77.1.2 2380; expect_deltas vt0 "$c" "1:1=1 1:2=0 1:3=0"
c=$(tc_counters "$NS" vt0); refused 10.77.1.2 2379; expect_deltas vt0 "$c" "1:1=0 1:2=1 1:3=0"
c=$(tc_counters "$NS" vt0); refused 10.77.1.2 5555; expect_deltas vt0 "$c" "1:1=0 1:2=0 1:3=1"
c=$(tc_counters "$NS" vt0); refused 10.77.1.2 2380 opts; expect_deltas vt0 "$c" "1:1=1 1:2=0 1:3=0"

step "veth: rollback gives the kernel default back exactly"
expect_rc 2 medic_ns rollback
assert_eq "$before" "$(tc_snapshot "$NS" vt0)" "vt0 after rollback"

step "veth over someone's tbf, backend: auto: prio, and rollback re-creates the tbf"
sed 's/backend: prio/backend: auto/' "$POLICY" >"$T/auto.yaml"
write_policy "$POLICY" <"$T/auto.yaml"
tc -n "$NS" qdisc add dev vt0 root handle 5: tbf rate 1mbit burst 32kb latency 400ms
before=$(tc_snapshot "$NS" vt0)
expect_rc 2 medic_ns audit
assert_contains "$OUT" "note: backend auto: prio (module sch_prio is loaded)"
assert_contains "$OUT" "note: the root qdisc tbf 5: is not medic's; rollback re-creates it as it is now"
expect_rc 2 medic_ns apply
assert_match "$OUT" '^peer first +vt0 +tbf 5: rate 1mbit burst 32768 limit 82768 → auto: peer 2380 > client 2379 > rest +changed$'
assert_not_contains "$OUT" "used htb"
prio_root vt0
c=$(tc_counters "$NS" vt0); refused 10.77.1.2 2379; expect_deltas vt0 "$c" "1:1=0 1:2=1 1:3=0"
expect_rc 2 medic_ns rollback
assert_match "$OUT" '^peer first +vt0 +prio: 2380 > 2379 > rest → tbf 5: rate 1mbit burst 32768 limit 82768 +restored$'
assert_eq "$before" "$(tc_snapshot "$NS" vt0)" "vt0 (tbf 5:, tc -d) after rollback"
tc -n "$NS" qdisc del dev vt0 root

step "a tap with two queues: the kernel default is mq"
[ -c /dev/net/tun ] || skip "no /dev/net/tun (tun module) for the multi-queue tap"
# Two queues of one tap, kept open while the test runs: a tap's queues exist while a file
# descriptor holds them, and the default root is mq only with more than one.
ip netns exec "$NS" python3 -c '
import fcntl, os, struct, sys, time
TUNSETIFF, IFF_TAP, IFF_NO_PI, IFF_MULTI_QUEUE = 0x400454ca, 0x0002, 0x1000, 0x0100
fds = []
for _ in range(2):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tp0", IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE))
    fds.append(fd)
open(sys.argv[1], "w").close()
time.sleep(3600)
' "$T/tap-ready" &
helper_pid $!
wait_until 30 test -e "$T/tap-ready" || fail "the tap helper did not open tp0's queues"
ip -n "$NS" addr add 10.77.2.1/24 dev tp0
ip -n "$NS" link set tp0 up
ip -n "$NS" neigh replace 10.77.2.2 lladdr 02:00:00:77:02:02 dev tp0 nud permanent
before=$(tc_snapshot "$NS" tp0)
grep -q '^qdisc mq 0: root $\|^qdisc mq 0: root$' <<<"$before" || fail "tp0 does not start with the kernel's mq root: $before"
assert_eq 2 "$(grep -c ' parent :[12] ' <<<"$before")" "tp0's per-queue qdiscs under mq"
# syn ADDR PORT: exactly one SYN out of tp0 (nobody is behind the tap; closing the socket
# while it waits means no retransmission).
syn() {
        ip netns exec "$NS" python3 -c '
import socket, sys
s = socket.socket()
s.setblocking(False)
s.connect_ex((sys.argv[1], int(sys.argv[2])))
s.close()
' "$@"
}

step "tap, backend: auto: prio replaces mq; each SYN in its band; rollback gives mq back"
sed 's/interface: vt0/interface: tp0/' "$T/auto.yaml" | write_policy "$POLICY"
expect_rc 2 medic_ns audit
assert_match "$OUT" '^peer first +tp0 +kernel default \(mq\) → auto: peer 2380 > client 2379 > rest +drift$'
expect_rc 2 medic_ns apply
assert_match "$OUT" '^peer first +tp0 +kernel default \(mq\) → auto: peer 2380 > client 2379 > rest +changed$'
prio_root tp0
expect_rc 0 medic_ns audit
c=$(tc_counters "$NS" tp0); syn 10.77.2.2 2380; expect_deltas tp0 "$c" "1:1=1 1:2=0 1:3=0"
c=$(tc_counters "$NS" tp0); syn 10.77.2.2 2379; expect_deltas tp0 "$c" "1:1=0 1:2=1 1:3=0"
c=$(tc_counters "$NS" tp0); syn 10.77.2.2 8080; expect_deltas tp0 "$c" "1:1=0 1:2=0 1:3=1"
expect_rc 2 medic_ns rollback
assert_match "$OUT" '^peer first +tp0 +prio: 2380 > 2379 > rest → kernel default \(mq\) +restored$'
assert_eq "$before" "$(tc_snapshot "$NS" tp0)" "tp0 (mq and its children, tc -d) after rollback"
