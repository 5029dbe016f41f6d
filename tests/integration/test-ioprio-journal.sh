#!/bin/bash
# io-priority's journal-thread: the ext4 journal thread of the data dir's file system
# (jbd2/<device>-8) gets the item's class and level with etcd's threads, is read back, and
# rollback gives it its own earlier value (the kernel's best-effort/3). Checked with ionice,
# on this test's own ext4 image on a loop device. A data dir on a tmpfs has no journal
# thread: a finding, and nothing else is changed. `medic show` prints the before as a
# policy: the thread's own value as a comment (no policy entry gives it one apart from
# etcd's), or, when etcd held the same value, one entry with journal-thread: true.
. "$(dirname "$0")/mount-lib.sh"
command -v ionice >/dev/null || skip "needs ionice"
mount_setup

ext4_loop_image
dev=$LOOP_DEV
name=${dev#/dev/}
mkdir -p "$T/disk" "$T/tmpfs"
mount "$dev" "$T/disk"
mount -t tmpfs medic-test "$T/tmpfs"

jbd2=""
for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = "jbd2/$name-8" ] && jbd2=${p#/proc/} && break
done
[ -n "$jbd2" ] || fail "no jbd2/$name-8 thread for the test's ext4 image"
jbd2_before=$(ionice -p "$jbd2")

sleep 300 &
sleeper=$!
helper_pid "$sleeper"
echo "$sleeper" >"$T/pid"
policy() {
        printf 'medic: 1\ntargets:\n  t:\n    process: {pidfile: %s}\nactions:\n  - name: disk first\n    io-priority: {target: t, class: realtime, level: 0, data-dir: %s%s}\n' \
                "$T/pid" "$1" "$2" >"$POLICY"
}

step "audit: both the process and the journal thread are drift, nothing changes"
policy "$T/disk" ", journal-thread: true"
expect_rc 2 medic audit
assert_match "$OUT" "^disk first +pid $sleeper \\(sleep\\), 1 threads +none +→ realtime/0 +drift"
assert_match "$OUT" "^disk first +pid $jbd2 \\(jbd2/$name-8\\) +$(echo "${jbd2_before}" | sed 's/: prio /\//') +→ realtime/0 +drift"
assert_contains "$OUT" "found by comm jbd2/$name-8: the journal thread of $T/disk (on $name)"
assert_eq "$jbd2_before" "$(ionice -p "$jbd2")" "ionice of jbd2 after audit"

step "apply: etcd's stand-in and the journal thread at realtime/0"
expect_rc 2 medic apply
assert_eq "realtime: prio 0" "$(ionice -p "$sleeper")" "ionice of the process"
assert_eq "realtime: prio 0" "$(ionice -p "$jbd2")" "ionice of jbd2"
expect_rc 0 medic audit

step "show: the before as a policy; the journal thread's own value is a comment (no policy gives it one apart from etcd's)"
expect_rc 0 medic --json history
set_id=$(py "$OUT" 'd["changes"][-1]["id"]')
expect_rc 0 medic show "$set_id"
sed -n '/^before, as a policy/,$p' "$OUT" | tail -n +2 | write_policy "$T/before.yaml"
assert_contains "$T/before.yaml" '"target":"t","class":"none","data-dir":"'"$T/disk"'"}'
assert_contains "$T/before.yaml" '#   io-priority: {"target":"t","class":"best-effort","level":3,"data-dir":"'"$T/disk"'","journal-thread":true}'
assert_contains "$T/before.yaml" "a policy cannot say that beside the entries above; medic rollback $set_id restores it"
POLICY=$T/before.yaml expect_rc 0 medic validate
POLICY=$T/before.yaml expect_rc 2 medic apply
assert_eq "none: prio 0" "$(ionice -p "$sleeper")" "ionice of the process after applying the before"
assert_eq "realtime: prio 0" "$(ionice -p "$jbd2")" "ionice of jbd2 after applying the before"
# That set undone, the first one is in force again.
expect_rc 2 medic rollback
assert_eq "realtime: prio 0" "$(ionice -p "$sleeper")" "ionice of the process"

step "rollback: the journal thread gets its own value back"
expect_rc 2 medic rollback
assert_eq "none: prio 0" "$(ionice -p "$sleeper")" "ionice of the process after rollback"
assert_eq "$jbd2_before" "$(ionice -p "$jbd2")" "ionice of jbd2 after rollback"

step "without journal-thread the thread is left alone"
policy "$T/disk" ""
expect_rc 2 medic apply
assert_eq "$jbd2_before" "$(ionice -p "$jbd2")" "ionice of jbd2"
assert_not_contains "$OUT" "jbd2"
expect_rc 2 medic rollback

step "a data dir on a tmpfs has no journal thread: a finding"
policy "$T/tmpfs" ", journal-thread: true"
expect_rc 2 medic audit
assert_contains "$OUT" "data dir $T/tmpfs is not on a block device: it has no journal thread"
assert_eq "$jbd2_before" "$(ionice -p "$jbd2")" "ionice of jbd2"

step "show: when etcd had the journal thread's value, the before is one entry with journal-thread"
policy "$T/disk" ", journal-thread: true"
jc=${jbd2_before%%:*} jl=${jbd2_before##*prio }
case "$jc" in best-effort) jn=2 ;; realtime) jn=1 ;; *) skip "jbd2 holds $jbd2_before" ;; esac
ionice -c "$jn" -n "$jl" -p "$sleeper"
expect_rc 2 medic apply
expect_rc 0 medic --json history
set_id=$(py "$OUT" 'd["changes"][-1]["id"]')
expect_rc 0 medic show "$set_id"
sed -n '/^before, as a policy/,$p' "$OUT" | tail -n +2 | write_policy "$T/before.yaml"
assert_contains "$T/before.yaml" '    io-priority: {"target":"t","class":"'"$jc"'","level":'"$jl"',"data-dir":"'"$T/disk"'","journal-thread":true}'
assert_not_contains "$T/before.yaml" "rollback $set_id restores it"
POLICY=$T/before.yaml expect_rc 0 medic validate
POLICY=$T/before.yaml expect_rc 2 medic apply
assert_eq "$jbd2_before" "$(ionice -p "$sleeper")" "ionice of the process after applying the before"
assert_eq "$jbd2_before" "$(ionice -p "$jbd2")" "ionice of jbd2 after applying the before"
expect_rc 2 medic rollback
expect_rc 2 medic rollback
assert_eq "$jbd2_before" "$(ionice -p "$jbd2")" "ionice of jbd2 after both rollbacks"

# The sleeper ends here, so that the cleanup has nothing to wait for.
kill "$sleeper"
wait "$sleeper" 2>/dev/null || true
