#!/bin/bash
# io-priority's audit says what the data dir's I/O scheduler does with the priority it sets:
# bfq orders by class and level, mq-deadline by the class only (best-effort/0 is then served
# like any best-effort thread: make bench-effect measured no change), none and kyber by
# nothing. The data dir is on an ext4 image on this test's own loop device, whose scheduler
# the test sets (checked in sysfs before each audit) and gives back before detaching it.
. "$(dirname "$0")/mount-lib.sh"
command -v mkfs.ext4 >/dev/null || skip "needs mkfs.ext4 (e2fsprogs)"
command -v losetup >/dev/null || skip "needs losetup"
mount_setup

truncate -s 32M "$T/disk.img"
mkfs.ext4 -q -F "$T/disk.img"
loop_attach "$T/disk.img"
dev=$LOOP_DEV
name=${dev#/dev/}
qsched=/sys/block/$name/queue/scheduler
[ -w "$qsched" ] || skip "$qsched is not writable"
orig=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$qsched")
[ -n "$orig" ] || orig=$(cat "$qsched")
# The loop device outlives this test: its scheduler goes back before it is detached.
restore_sched() { echo "$orig" >"$qsched" 2>/dev/null || true; }
trap '_rc=$?; set +e; restore_sched; (exit "$_rc"); _mnt_exit' EXIT
mkdir -p "$T/disk"
mount "$dev" "$T/disk"

sleep 300 &
sleeper=$!
helper_pid "$sleeper"
echo "$sleeper" >"$T/pid"
printf 'medic: 1\ntargets:\n  t:\n    process: {pidfile: %s}\nactions:\n  - name: disk first\n    io-priority: {target: t, class: %s, level: 0, data-dir: %s}\n' \
        "$T/pid" best-effort "$T/disk" >"$POLICY"

set_sched() {
        grep -qw "$1" "$qsched" || skip "this kernel has no $1 scheduler ($(cat "$qsched"))"
        echo "$1" >"$qsched"
        assert_match <(cat "$qsched") "\\[$1\\]" "$qsched"
}

step "mq-deadline: the class only, and the level counts for nothing"
set_sched mq-deadline
expect_rc 2 medic audit
assert_contains "$OUT" "data dir $T/disk is on $name (scheduler mq-deadline, which honours the class only: level 0 counts for nothing there)"

step "bfq: class and level"
set_sched bfq
expect_rc 2 medic audit
assert_contains "$OUT" "data dir $T/disk is on $name (scheduler bfq, which honours class and level)"
assert_not_contains "$OUT" "class only"

step "none: nothing"
set_sched none
expect_rc 2 medic audit
assert_contains "$OUT" "ionice has no effect on $name (scheduler none honours nothing of an I/O priority)"

step "kyber: nothing"
set_sched kyber
expect_rc 2 medic audit
assert_contains "$OUT" "ionice has no effect on $name (scheduler kyber honours nothing of an I/O priority)"

step "the audit changed nothing: the sleeper keeps the kernel's default"
assert_eq "none: prio 0" "$(ionice -p "$sleeper")" "ionice of the sleeper"
restore_sched

# The sleeper ends here, so that the cleanup has nothing to wait for.
kill "$sleeper"
wait "$sleeper" 2>/dev/null || true
