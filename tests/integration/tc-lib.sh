# shellcheck shell=bash
# Helpers for the traffic-priority tests, sourced after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/tc-lib.sh"
#
# Every check reads the kernel with tc, never with medic.

# tc_snapshot NS DEV: the device's qdiscs, classes and filters as `tc -d` prints them.
tc_snapshot() {
        tc -n "$1" -d qdisc show dev "$2"
        tc -n "$1" -d class show dev "$2"
        tc -n "$1" -d filter show dev "$2"
}

# tc_kernel_has_prio: asks the kernel itself, in a scratch namespace of our own (a read of
# /proc/config.gz or /lib/modules would be medic's own guess over again). Keeps $NS.
tc_kernel_has_prio() {
        local main_ns=$NS scratch rc=1
        new_netns
        scratch=$NS
        NS=$main_ns
        ip netns exec "$scratch" tc qdisc add dev lo root prio 2>/dev/null && rc=0
        return $rc
}

# tc_attempt NS ADDR PORT [opts]: one TCP connection attempt that must be refused (a SYN
# out, a RST back); "opts" sends the SYN with 4 bytes of IPv4 options.
tc_attempt() {
        ip netns exec "$1" python3 "$(dirname "${BASH_SOURCE[0]}")/refused-connect.py" "${@:2}" ||
                fail "connection attempt ${*:2} in $1"
}

# tc_counters NS DEV: "class packets bytes" per class, sorted by class.
tc_counters() {
        tc -n "$1" -s class show dev "$2" | awk '/^class/ { c = $3 } /^ Sent / { print c, $4, $2 }' | sort
}

# tc_auto_backend: which root `backend: auto` builds on this kernel, asked of the kernel
# (tc_kernel_has_prio): AUTO=prio where it has sch_prio (Debian's stock kernel), AUTO=htb
# where it has not (this project's machines). AUTO_SHOWN is how medic shows that root with
# two bands on a 10gbit veth. Keeps $NS.
tc_auto_backend() {
        if tc_kernel_has_prio; then
                AUTO=prio AUTO_SHOWN=prio
        else
                AUTO=htb AUTO_SHOWN="htb 10gbit"
        fi
        log "backend: auto builds $AUTO on this kernel"
}

# tc_root_line NS DEV: the root qdisc's line as tc shows it, without the blank that some
# iproute2 versions print at its end (Debian 12's 6.1 does not).
tc_root_line() {
        tc -n "$1" qdisc show dev "$2" | grep ' root ' | sed 's/ *$//'
}

# tc_assert_auto_root NS DEV: DEV has medic's root for two policy bands built by backend:
# auto on a 10gbit veth (tc_auto_backend first), exactly: the root and every class.
tc_assert_auto_root() {
        local q c i
        q=$(tc_root_line "$1" "$2")
        c=$(tc -n "$1" class show dev "$2" | sed 's/ *$//')
        case $AUTO in
        prio)
                [[ "$q" =~ ^qdisc\ prio\ 1:\ root\ refcnt\ [0-9]+\ bands\ 3\ priomap(\ 2){16}$ ]] ||
                        fail "$2: root is not medic's prio 1: with 3 bands and every priority in band 3: $q"
                assert_eq "$(printf 'class prio 1:%s parent 1:\n' 1 2 3)" "$c" "classes on $2"
                ;;
        htb)
                [[ "$q" =~ ^qdisc\ htb\ 1:\ root\ refcnt\ [0-9]+\ r2q\ 10\ default\ 0x3\  ]] ||
                        fail "$2: root is not medic's htb 1: default 0x3: $q"
                assert_eq 4 "$(wc -l <<<"$c")" "classes on $2"
                grep -qE '^class htb 1:100 root rate 10Gbit ceil 10Gbit ' <<<"$c" || fail "$2: no 1:100 at the veth's 10gbit: $c"
                for i in 1 2 3; do
                        grep -qE "^class htb 1:$i parent 1:100 prio $((i - 1)) rate 3333Mbit ceil 10Gbit " <<<"$c" ||
                                fail "$2: class 1:$i is not medic's (parent 1:100, prio $((i - 1)), ceil 10Gbit): $c"
                done
                ;;
        *) fail "internal: tc_assert_auto_root without tc_auto_backend" ;;
        esac
}

# tc_action NAME IFACE [BACKEND] [RATE]: one traffic-priority action of a policy's action
# list with the tc tests' usual bands, peer 2380 before client 2379, on IFACE; backend and
# rate only where given.
tc_action() {
        printf '  - name: %s\n    traffic-priority:\n      interface: %s\n' "$1" "$2"
        [ -z "${3:-}" ] || printf '      backend: %s\n' "$3"
        [ -z "${4:-}" ] || printf '      rate: %s\n' "$4"
        printf '      bands:\n        - {name: peer, ports: [2380]}\n        - {name: client, ports: [2379]}\n'
}

# tc_policy IFACE [BACKEND] [RATE]: the tc tests' usual policy "tp", one action "peer first"
# (tc_action) on IFACE.
tc_policy() {
        printf 'medic: 1\nname: tp\nactions:\n'
        tc_action "peer first" "$@"
}

# tc_setup IFACE [BACKEND] [RATE]: setup (lib.sh) with tc_policy's policy.
tc_setup() {
        setup - < <(tc_policy "$@")
}

# tc_veth_up: the veth pair vt0/vt1, both up, in the test's namespace.
tc_veth_up() {
        ip -n "$NS" link add vt0 type veth peer name vt1
        ip -n "$NS" link set vt0 up
        ip -n "$NS" link set vt1 up
}

# tc_setup_vt0: setup with the usual policy on vt0 at 1gbit, backend auto, and vt0/vt1 up.
tc_setup_vt0() {
        tc_setup vt0 "" 1gbit
        tc_veth_up
}
