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
