# shellcheck shell=bash
# Helpers for the nic-offload tests, sourced after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/nic-lib.sh"
#
# Every check reads the kernel with ethtool, never with medic.

# ethtool_k IFACE: `ethtool -k IFACE` in the test's namespace.
ethtool_k() { ip netns exec "$NS" ethtool -k "$1"; }

# feature_is IFACE NAME VALUE: one line of `ethtool -k`, exactly (VALUE may carry [fixed] etc.).
feature_is() {
        local got
        got=$(ethtool_k "$1" | sed -n "s/^[[:space:]]*$2: //p")
        assert_eq "$3" "$got" "ethtool -k $1: $2"
}
