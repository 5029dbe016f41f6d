#!/usr/bin/env bash
# cpu against a real etcd in a network namespace this test creates: the run-queue delay
# medic reports is what the kernel's schedstat of etcd's threads shows (read by the test
# around medic's run), and with etcd at nice 19 pinned to one CPU beside four busy loops
# pinned there (8 s at most), the starvation finding fires. This machine's CPUs are shared, so
# the unloaded run is compared with the kernel's counters, not with a threshold.
# Exit 77 = skipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/diagnose-lib.sh"

ETCD=${ETCD:-$(command -v etcd || true)}
[ -x "$ETCD" ] || skip "no etcd binary (make build/etcd/usr/bin/etcd unpacks Debian's etcd-server)"
command -v taskset >/dev/null || skip "needs taskset"
[ -r /proc/self/schedstat ] || skip "the kernel has no schedstat (CONFIG_SCHED_INFO)"
setup
ip netns exec "$NS" ip link set lo up
cpu=$(taskset -cp $$ | sed 's/.*: //; s/[,-].*//')

diag_start_etcd "$cpu" 10

write_policy "$POLICY" <<POL
medic: 1
name: cpu
targets:
  etcd:
    process: {pidfile: $T/etcd.pid}
checks:
  - name: etcd gets the CPU
    cpu: {target: etcd, max-run-delay: 10%}
POL

# Total run-queue delay of etcd's threads, in ns, from the kernel. %.0f, not %d: mawk's %d
# stops at 2^31 - 1, about 2.1 s of waiting, which etcd's threads pass on a slow machine
# (tests/vm's TCG guest), and then before and after read the same.
waited() { cat /proc/"$etcd"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.0f\n", s }'; }

step "the delay medic reports is within what the kernel counted around its run"
before=$(waited)
run_capture medic_ns diagnose --json --interval 1
after=$(waited)
[ "$RC" = 0 ] || [ "$RC" = 2 ] || fail "diagnose: rc $RC: $(cat "$ERR")"
py_assert "$OUT" "[i['object'] for i in d['items']] == ['etcd pid $etcd: run-queue delay']"
ms=$(py "$OUT" "d['items'][0]['current_text'].split('(')[1].split()[0]")
python3 -c "import sys; sys.exit(0 if 0 <= $ms <= ($after - $before) / 1e6 + 1 else 1)" ||
        fail "medic says etcd waited $ms ms; the kernel counted $(( (after - before) / 1000000 )) ms around the run"
log "unloaded: etcd waited $ms ms (kernel: $(( (after - before) / 1000000 )) ms around the run)"

step "four busy loops on etcd's CPU: the starvation finding fires"
# etcd idles between heartbeats, so its share of waiting depends on how busy the machine
# already is (7.6 % seen on a loaded one); the unloaded run above waited ~0.1 %. The
# finding is what is tested here: a threshold of 2 % separates the two on any machine.
# etcd runs at nice 19 for this step: 6.1's CFS lets a woken sleeper at equal weight
# preempt busy loops almost at once (0.5 % waited in the Debian 12 guest), while the
# newer scheduler on this host queues it behind them. At nice 19 (weight 15 against
# 1,024 per loop) etcd waits on both. setpriority() acts on one thread: every thread's.
sed -i 's/max-run-delay: 10%/max-run-delay: 2%/' "$POLICY"
for task in /proc/"$etcd"/task/*; do renice -n 19 -p "${task##*/}" >/dev/null; done
for _ in 1 2 3 4; do
        taskset -c "$cpu" timeout 8 sh -c 'while :; do :; done' &
        helper_pid $!
done
sleep 1
expect_rc 2 medic_ns diagnose --interval 2
assert_match "$OUT" "etcd pid $etcd: run-queue delay +[0-9.]+ % \([0-9.]+ ms waiting in 2\.[0-9] s, [0-9]+ threads\)"
assert_contains "$OUT" "drift: medic cannot fix this: etcd waits for a CPU"
