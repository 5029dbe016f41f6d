#!/usr/bin/env bash
# nic: the error counters of the peer interface, twice, one interval apart. A veth pair in
# a network namespace this test creates reads its real counters (no growth: ok, and the
# values are the kernel's, as ip -s shows them); a counter that grows during the interval
# is a finding that points at the nic-offload item. A veth cannot be made to corrupt
# frames, so the growth is played by fixture statistics files (MEDIC_PROC_ROOT) that the
# test bumps while medic samples; the interface itself is still resolved through netlink.
# Exit 77 = skipped.
. "$(dirname "$0")/lib.sh"
setup
ip netns exec "$NS" ip link add peer0 type veth peer name peer1
ip netns exec "$NS" ip link set peer0 up
ip netns exec "$NS" ip link set peer1 up

write_policy "$POLICY" <<POL
medic: 1
name: nic
targets:
  peer-nic:
    interface: peer0
checks:
  - name: NIC error counters
    nic: {interface: peer-nic}
POL

step "a healthy veth: no growth, the kernel's counters"
expect_rc 0 medic_ns diagnose --json --interval 0.3
py_assert "$OUT" "[i['object'] for i in d['items']] == ['peer0: error counters']"
py_assert "$OUT" "d['items'][0]['status'] == 'ok' and d['items'][0]['current_text'].startswith('no growth in')"
rx_errors=$(ip netns exec "$NS" cat /sys/class/net/peer0/statistics/rx_errors)
py_assert "$OUT" "d['items'][0]['current']['rx_errors'] == $rx_errors and set(d['items'][0]['current']) == {'rx_crc_errors', 'rx_frame_errors', 'rx_errors', 'tx_errors'}"

step "the kernel log is read for the interface's trouble (CAP_SYSLOG kept for a nic check), and said when it cannot be"
expect_rc 0 medic_ns -v diagnose --interval 0.2
assert_match "$OUT" "note: kernel log: (nothing about trouble on peer0|[0-9]+ lines? about trouble on peer0)"
run_capture ip netns exec "$NS" setpriv --bounding-set=-syslog --inh-caps=-syslog \
        "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" -v diagnose --interval 0.2
if [ "$(cat /proc/sys/kernel/dmesg_restrict)" = 1 ]; then
        assert_contains "$OUT" "kernel log not read: /dev/kmsg: Operation not permitted (needs CAP_SYSLOG while kernel.dmesg_restrict=1)"
fi

# counters FIRST [NAME=SECOND...]: the fixture's counters all read FIRST; each NAME is a FIFO
# that answers FIRST to medic's first read (the sample that starts the interval) and
# SECOND to its second (the one that ends it), whenever medic gets there: on a slow
# machine (tests/vm's TCG guest) medic starts later than any fixed delay would allow.
# Medic reads each counter once per sample and sleeps the interval between the samples;
# the writer waits half a second after the first read before it offers the second.
fx=$T/fixture/sys/class/net/peer0/statistics
counters() {
        local first=$1 c
        shift
        mkdir -p "$fx"
        for c in rx_crc_errors rx_frame_errors rx_errors tx_errors; do rm -f "$fx/$c"; echo "$first" >"$fx/$c"; done
        for c in "$@"; do
                rm -f "$fx/${c%%=*}"
                mkfifo "$fx/${c%%=*}"
                ( echo "$first" >"$fx/${c%%=*}"; sleep 0.5; echo "${c#*=}" >"$fx/${c%%=*}" ) &
                helper_pid $!
        done
}

step "rx_crc_errors growing during the interval: a finding that points at nic-offload"
counters 7 rx_crc_errors=19 rx_errors=19
MEDIC_PROC_ROOT=$T/fixture expect_rc 2 medic_ns diagnose --interval 1
assert_contains "$OUT" "rx_crc_errors +12, rx_errors +12 in 1."
assert_contains "$OUT" "drift: errors are growing on peer0: check the cable, switch port and driver; the guide's fix is checksum offload off (the nic-offload item: set mode: enforce)"
assert_contains "$OUT" "since the interface came up: rx_crc_errors 19, rx_frame_errors 7, rx_errors 19, tx_errors 7"

step "audit (its default 1 s interval, as diagnose) records the finding in an existing audit log, with what to do"
: >"$AUDIT"
counters 7 tx_errors=9
MEDIC_PROC_ROOT=$T/fixture expect_rc 2 medic_ns audit --interval 1
audit_events drift >"$T/drift.json"
py_assert "$T/drift.json" "d['kind'] == 'nic' and d['object'] == 'peer0: error counters' and d['result'] == 'finding' and 'nic-offload' in d['message'] and d['before']['tx_errors'] == 9"

step "an interface that does not exist says so"
sed -i 's/interface: peer0/interface: nosuch0/' "$POLICY"
expect_rc 0 medic_ns diagnose --interval 0.1
assert_contains "$OUT" "skipped: interface nosuch0"
