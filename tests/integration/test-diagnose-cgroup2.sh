#!/usr/bin/env bash
# hardware's cpu.max and memory.max rules and the cpu check's cgroup case against a real
# cgroup v2: a real etcd moved into a child cgroup with cpu.max 10000/100000 (a tenth of
# a CPU) and memory.max 1 GiB, then four busy loops beside it in the same cgroup. The
# values medic reports are the cgroup's (read back by the test with cat) and the kernel
# counts the throttling (cpu.stat). In a private mount namespace, cgroup2 is mounted over
# /sys/fs/cgroup unless it is there already (medic reads the cgroup files there).
#
# Needs the cpu and memory controllers in cgroup v2. A cgroup v1 host (this project's
# build machines) binds them to its v1 hierarchies, so a cgroup2 mount offers neither
# (cgroup.controllers lists only what v1 left free): the test says so and is skipped. The
# stock-kernel VM tier (tests/vm: Debian's kernel, no v1 mounts) has them free.
# Exit 77 = skipped.
. "$(dirname "$0")/mount-lib.sh"
mount_setup
ETCD=${ETCD:-$(command -v etcd || true)}
[ -x "$ETCD" ] || skip "no etcd binary (make build/etcd/usr/bin/etcd unpacks Debian's etcd-server)"
command -v taskset >/dev/null || skip "needs taskset"
[ -r /proc/self/schedstat ] || skip "the kernel has no schedstat (CONFIG_SCHED_INFO)"
grep -qw cgroup2 /proc/filesystems || skip "the kernel has no cgroup2"

# Only in this test's mount namespace: the host's /sys/fs/cgroup is not touched.
if [ "$(findmnt -n -o FSTYPE /sys/fs/cgroup)" != cgroup2 ]; then
        mount -t cgroup2 none /sys/fs/cgroup || skip "cannot mount cgroup2 in a private mount namespace"
fi
ROOT=/sys/fs/cgroup
ctrls=$(cat "$ROOT/cgroup.controllers")
for c in cpu memory; do
        case " $ctrls " in
        *" $c "*) ;;
        *) skip "cgroup v2 offers no $c controller here (cgroup.controllers: '$ctrls'): this host binds it to a cgroup v1 hierarchy; the stock-kernel VM tier (tests/vm) can run this test" ;;
        esac
done

# The child cgroup lives in the kernel's one v2 hierarchy, not in this namespace: it is
# removed at exit, and a controller this test enabled at the root is disabled again.
CG=$ROOT/medic-t-$$
ENABLED=()
cg_cleanup() {
        local pid
        for pid in "${_HELPER_PIDS[@]}"; do
                kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        done
        for _ in 1 2 3 4 5 6 7 8 9 10; do
                [ -d "$CG" ] || break
                rmdir "$CG" 2>/dev/null && break
                sleep 0.2
        done
        [ ! -d "$CG" ] || log "WARNING: could not remove $CG"
        for c in "${ENABLED[@]}"; do
                echo "-$c" >"$ROOT/cgroup.subtree_control" 2>/dev/null
        done
}
# shellcheck disable=SC2154 # _rc is assigned by the trap itself
trap '_rc=$?; set +e; trap - ERR; cg_cleanup; (exit $_rc); _mnt_exit' EXIT
for c in cpu memory; do
        if ! grep -qw "$c" "$ROOT/cgroup.subtree_control"; then
                echo "+$c" >"$ROOT/cgroup.subtree_control" || skip "cannot enable the $c controller for child cgroups"
                ENABLED+=("$c")
        fi
done
mkdir "$CG"
echo "10000 100000" >"$CG/cpu.max"
echo 1073741824 >"$CG/memory.max"
[ "$(cat "$CG/cpu.max")" = "10000 100000" ] || fail "cpu.max reads back as $(cat "$CG/cpu.max")"
[ "$(cat "$CG/memory.max")" = 1073741824 ] || fail "memory.max reads back as $(cat "$CG/memory.max")"

new_netns
ip netns exec "$NS" ip link set lo up
cpu=$(taskset -cp $$ | sed 's/.*: //; s/[,-].*//')
# A short heartbeat keeps etcd's threads waking up: the delay has something to measure.
ip netns exec "$NS" taskset -c "$cpu" "$ETCD" --name t --data-dir "$T/etcd" \
        --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
        --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster t=http://127.0.0.1:2380 --heartbeat-interval 10 --election-timeout 100 >"$T/etcd.log" 2>&1 &
etcd=$!
helper_pid "$etcd"
echo "$etcd" >"$T/etcd.pid"
wait_until 60 grep -qs "ready to serve client requests" "$T/etcd.log" || fail "etcd did not start: $(tail -3 "$T/etcd.log")"
echo "$etcd" >"$CG/cgroup.procs"
grep -qx "0::/medic-t-$$" "/proc/$etcd/cgroup" || fail "etcd is not in $CG: $(cat "/proc/$etcd/cgroup")"

write_policy "$POLICY" <<POL
medic: 1
name: cgroup2
targets:
  etcd:
    process: {pidfile: $T/etcd.pid}
checks:
  - name: hardware minimums
    hardware: {target: etcd, min-cores: 2, min-memory: 4GiB}
  - name: etcd gets the CPU
    cpu: {target: etcd, max-run-delay: 10%}
POL

step "hardware: the cgroup's cpu.max (0.1 CPU) and memory.max (1 GiB) are what etcd may use: two findings"
expect_rc 2 medic diagnose --json --only "hardware minimums"
py_assert "$OUT" "[(i['object'], i['current'], i['status']) for i in d['items']] == [('etcd pid $etcd: CPUs', 0.1, 'drift'), ('etcd pid $etcd: memory', 1073741824, 'drift')]"
py_assert "$OUT" "'cpu.max of /medic-t-$$ grants 0.1' in d['items'][0]['current_text'] and 'raise its cgroup' in d['items'][0]['reason']"
py_assert "$OUT" "d['items'][1]['current_text'].startswith('1.0 GiB (memory.max of /medic-t-$$; host') and \"raise its cgroup's memory.max\" in d['items'][1]['reason']"

step "cpu: four busy loops beside etcd in its 10 % cgroup: the starvation finding, and the kernel throttled the cgroup"
throttled() { awk '$1 == "nr_throttled" { print $2 }' "$CG/cpu.stat"; }
# %.0f: mawk's %d stops at 2^31 - 1 ns, which a slow machine's etcd waits past.
waited() { cat /proc/"$etcd"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.0f\n", s }'; }
loops=()
for _ in 1 2 3 4; do
        # One process each, in the cgroup before it loops; bounded (minutes), killed at exit.
        sh -c 'echo $$ >"$1/cgroup.procs" && exec taskset -c "$2" sh -c "i=0; while [ \$i -lt 300000000 ]; do i=\$((i + 1)); done"' \
                - "$CG" "$cpu" &
        helper_pid $!
        loops+=($!)
done
sleep 1
[ "$(sort -n "$CG/cgroup.procs" | xargs)" = "$(printf '%s\n' "$etcd" "${loops[@]}" | sort -n | xargs)" ] ||
        fail "$CG holds $(xargs <"$CG/cgroup.procs"), not etcd ($etcd) and the loops (${loops[*]})"
t0=$(throttled) w0=$(waited)
expect_rc 2 medic diagnose --only "etcd gets the CPU" --interval 2
assert_match "$OUT" "etcd pid $etcd: run-queue delay +[0-9.]+ % \([0-9.]+ ms waiting in [0-9.]+ s, [0-9]+ threads\)"
assert_contains "$OUT" "drift: medic cannot fix this: etcd waits for a CPU"
[ "$(throttled)" -gt "$t0" ] || fail "the kernel did not throttle $CG (nr_throttled $t0 → $(throttled))"
[ "$(waited)" -gt "$w0" ] || fail "etcd's threads did not wait (schedstat: $w0 → $(waited) ns)"
log "nr_throttled $t0 → $(throttled); etcd waited $(( ($(waited) - w0) / 1000000 )) ms (schedstat) around medic's run"
