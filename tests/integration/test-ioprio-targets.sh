#!/usr/bin/env bash
# Process targets: found by unit (a cgroup named like a systemd unit, in a test-only
# slice), a pidfile naming a dead pid, a comm that matches nothing, a zombie, and a comm
# among 1,500 processes (the scan two threads share). Only processes this
# test started are ever matched. Exit 77 = skipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ioprio-lib.sh"
ioprio_setup
slice_dir=
# The test's cgroups go once the sleeper in them is killed (a helper): anything left is
# moved back to the root first.
remove_slice() {
        [ -n "$slice_dir" ] || return 0
        for p in $(cat "$slice_dir"/*/cgroup.procs 2>/dev/null); do echo "$p" >"$root/cgroup.procs"; done
        rmdir "$slice_dir"/* "$slice_dir" 2>/dev/null
}
at_exit remove_slice
policy() {
        printf 'medic: 1\ntargets:\n  t:\n    process: {%s}\nactions:\n  - name: prio\n    io-priority: {target: t, class: idle}\n' "$1" | write_policy "$POLICY"
}

# The hierarchy systemd tracks units in: cgroup2 at /sys/fs/cgroup (unified), the cgroup2
# at /sys/fs/cgroup/unified (hybrid), else name=systemd (legacy).
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        root=/sys/fs/cgroup
elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        root=/sys/fs/cgroup/unified
elif [ -e /sys/fs/cgroup/systemd/cgroup.procs ]; then
        root=/sys/fs/cgroup/systemd
else
        skip "no cgroup2 or name=systemd hierarchy"
fi
unit=medic-test-$$.service
slice_dir=$root/medic-test.slice
mkdir -p "$slice_dir/$unit"
sleep 300 &
sleeper=$!
helper_pid "$sleeper"
echo "$sleeper" >"$slice_dir/$unit/cgroup.procs"

# 1. unit: found through the unit's cgroup, and the output says which rule found it.
policy "unit: $unit, comm: no-such-comm"
rc=0; out=$(medic_host audit) || rc=$?
[ $rc = 2 ] || fail "audit by unit: rc $rc: $out"
echo "$out" | grep -q "pid $sleeper (sleep)" || fail "unit rule did not find pid $sleeper: $out"
echo "$out" | grep -q "found by unit $unit" || fail "output does not name the unit rule: $out"
[ "$(ionice -p "$sleeper")" = "none: prio 0" ] || fail "audit changed the process"
rc=0; out=$(medic_host apply) || rc=$?
[ $rc = 2 ] || fail "apply by unit: rc $rc: $out"
[ "$(ionice -p "$sleeper")" = "idle" ] || fail "apply by unit did not set idle: $(ionice -p "$sleeper")"
rc=0; out=$(medic_host rollback) || rc=$?
[ $rc = 2 ] || fail "rollback by unit: rc $rc: $out"
[ "$(ionice -p "$sleeper")" = "none: prio 0" ] || fail "rollback did not restore none"

# 2. a pidfile naming a dead pid: a finding in audit, skipped in apply.
sh -c 'exit 0' & dead=$!; wait "$dead"
echo "$dead" >"$T/dead.pid"
policy "pidfile: $T/dead.pid"
rc=0; out=$(medic_host audit) || rc=$?
[ $rc = 2 ] || fail "audit with a dead pidfile: rc $rc, want 2 (a finding): $out"
echo "$out" | grep -q "pid $dead, which is not running" || fail "audit does not explain the stale pidfile: $out"
rc=0; out=$(medic_host apply) || rc=$?
[ $rc = 0 ] || fail "apply with a dead pidfile: rc $rc, want 0 (skipped): $out"
echo "$out" | grep -q "skipped" || fail "apply does not report the item skipped: $out"

# 3. comm with no match.
policy "comm: nomatch$$"
rc=0; out=$(medic_host audit) || rc=$?
[ $rc = 2 ] || fail "audit with no match: rc $rc: $out"
echo "$out" | grep -q "t: no process found by comm nomatch$$" || fail "no 'no process found': $out"
rc=0; out=$(medic_host --json apply) || rc=$?
[ $rc = 0 ] || fail "apply with no match: rc $rc: $out"
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["items"][0]["status"]=="skipped", d'
# 3b. the kernel's own threads are no comm: target (kthreadd is pid 2 on this host, not in
# a pid namespace), and the scan does not open them: only the comm of processes that are
# not kthreadd's children is read.
if [ "$(cat /proc/2/comm 2>/dev/null)" = kthreadd ] && [ -r /proc/2/task/2/children ]; then
        policy "comm: kthreadd"
        rc=0; out=$(medic_host audit) || rc=$?
        [ $rc = 2 ] || fail "audit of comm kthreadd: rc $rc: $out"
        echo "$out" | grep -q "t: no process found by comm kthreadd" || fail "a kernel thread was taken for a target: $out"
        policy "comm: nomatch$$"
        host_safe_policy
        strace -f -qq -e trace=openat -o "$T/scan.trace" "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" \
                --audit-log "$AUDIT" audit >/dev/null || true
        kthreads=$(wc -w </proc/2/task/2/children)
        opened=$(grep -c '"[0-9]*/comm"' "$T/scan.trace" || true)
        # The glob, not ls: a process that ends between the glob and ls fails ls.
        pids=(/proc/[0-9]*)
        procs=${#pids[@]}
        [ "$opened" -gt 0 ] && [ "$opened" -le $((procs - kthreads + 5)) ] ||
                fail "the scan opened $opened comm files of $procs processes, $kthreads of them kernel threads"
        grep -q '"2/comm"' "$T/scan.trace" && fail "the scan opened kthreadd's comm"
else
        echo "  (kernel threads: skipped: pid 2 is not kthreadd here, or no /proc/2/task/2/children)"
fi
# 4. a zombie with the target's comm is not a running process: not found.
zcomm=zz$$
zcomm=${zcomm:0:15}
python3 - "$zcomm" <<'PY' &
import ctypes, os, sys, time
if os.fork() == 0:
    ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
    os._exit(0)
time.sleep(30)  # never reaps the child: it stays a zombie
PY
zparent=$!
helper_pid "$zparent"
for _ in $(seq 50); do
        zpid=$(pgrep -P "$zparent" || true)
        [ -n "$zpid" ] && [ "$(awk '{print $3}' /proc/$zpid/stat 2>/dev/null)" = Z ] && break
        sleep 0.1
done
[ "$(cat /proc/$zpid/comm)" = "$zcomm" ] && [ "$(awk '{print $3}' /proc/$zpid/stat)" = Z ] || fail "no zombie to test with"
policy "comm: $zcomm"
rc=0; out=$(medic_host audit) || rc=$?
kill "$zparent"; wait "$zparent" 2>/dev/null || true
[ $rc = 2 ] || fail "audit with only a zombie: rc $rc: $out"
echo "$out" | grep -q "t: no process found by comm $zcomm" || fail "a zombie was taken for a running process: $out"

# 5. A scan big enough to be shared by two threads (more than one 32 KiB batch of /proc,
# agent/kernel/proc.c): every match, each once, in pid order. In a pid namespace of its
# own, so that the crowd is ours alone and dies with the namespace. comm is the name of
# the executable: sleep under two names (symlinks).
many=many$$; many=${many:0:15}
ln -s "$(command -v sleep)" "$T/$many"
ln -s "$(command -v sleep)" "$T/fill$$"
cat >"$T/crowd.sh" <<'SH'
set -eu
T=$1 many=$2 fill=$3
shift 3
for i in $(seq 1500); do
        if [ $((i % 100)) = 7 ]; then "$T/$many" 300 & else "$T/$fill" 300 & fi
done
# Every sleeper has exec'd (its comm is its name) before medic looks.
for _ in $(seq 100); do
        [ "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -cx -e "$many" -e "${fill:0:15}")" = 1500 ] && break
        sleep 0.1
done
grep -lx "$many" /proc/[0-9]*/comm | cut -d/ -f3 | sort -n >"$T/crowd.want"
rc=0; strace -f -qq -e trace=clone,clone3 -o "$T/crowd.clones" "$@" >"$T/crowd.out" || rc=$?
exit $rc
SH
policy "comm: $many"
host_safe_policy
rc=0
timeout 120 unshare -p -f --kill-child --mount-proc bash "$T/crowd.sh" "$T" "$many" "fill$$" \
        "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" audit || rc=$?
[ $rc = 2 ] || fail "audit among 1,500 processes: rc $rc: $(head -5 "$T/crowd.out" 2>/dev/null)"
[ "$(wc -l <"$T/crowd.want")" = 15 ] || fail "crowd: $(wc -l <"$T/crowd.want") processes named $many, want 15"
sed -n "s/.* pid \([0-9]*\) ($many).*/\1/p" "$T/crowd.out" >"$T/crowd.got"
cmp -s "$T/crowd.want" "$T/crowd.got" ||
        fail "shared scan: found $(paste -sd' ' "$T/crowd.got"), want $(paste -sd' ' "$T/crowd.want") in this order"
# One helper thread among 1,500 processes (where a second CPU is there), none among a few:
# the fault suite counts the system calls of a one-thread scan.
clones=$(grep -c 'clone' "$T/crowd.clones" || true)
if [ "$(nproc)" -ge 2 ]; then
        [ "$clones" = 1 ] || fail "audit among 1,500 processes made $clones threads, want 1: $(cat "$T/crowd.clones")"
fi
cat >"$T/few.sh" <<'SH'
set -eu
T=$1 many=$2
shift 2
"$T/$many" 300 &
for _ in $(seq 100); do grep -qx "$many" /proc/[0-9]*/comm 2>/dev/null && break; sleep 0.1; done
rc=0; strace -f -qq -e trace=clone,clone3 -o "$T/few.clones" "$@" >"$T/few.out" || rc=$?
exit $rc
SH
rc=0
timeout 60 unshare -p -f --kill-child --mount-proc bash "$T/few.sh" "$T" "$many" \
        "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" audit || rc=$?
[ $rc = 2 ] || fail "audit among a few processes: rc $rc: $(head -5 "$T/few.out" 2>/dev/null)"
grep -q " pid [0-9]* ($many)" "$T/few.out" || fail "audit among a few processes did not find $many: $(head -5 "$T/few.out")"
[ ! -s "$T/few.clones" ] || fail "a scan of a few processes started a thread: $(cat "$T/few.clones")"
echo "ok: unit ($root), dead pidfile, no comm match, zombie skipped, 15 of 1,500 in pid order, one thread there and none among a few, kernel threads not opened"
