#!/bin/bash
# atime flags are per mount namespace. A process in a second private namespace stands in
# for PID 1 (MEDIC_HOST_MNTNS_PID); medic runs in the test's namespace, as under a
# sandboxed unit. Audit says so; apply acts in the other namespace through setns and leaves
# its own namespace's copy of the mount alone; without CAP_SYS_CHROOT apply refuses before
# any change.
. "$(dirname "$0")/mount-lib.sh"
mount_setup

base=$T/data
mkdir -p "$base"
mount -t tmpfs -o nosuid,nodev,relatime,size=4m medic-ns "$base"
mkdir -p "$base/etcd"
mount_policy "$base/etcd" noatime

# The "host": a second namespace, a copy of ours (with its own mount ids).
unshare -m --propagation private sleep 600 &
host=$!
helper_pid "$host"
# unshare execs sleep once the namespace is made: until then it is in ours.
host_ready() { [ "$(readlink "/proc/$host/exe" 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ]; }
wait_until 5 host_ready || fail "the stand-in host process did not start"
[ "$(readlink "/proc/$host/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
        fail "the stand-in host process did not get its own mount namespace"
assert_opts "$base" rw,nosuid,nodev,relatime "$host"
HOST_PID=$host

step "audit names the other namespace and its mount"
expect_rc 2 medic audit
assert_match "$OUT" "$base/etcd on $base \\(tmpfs medic-ns\\) +relatime +→ noatime +drift"
assert_contains "$OUT" "medic runs in another mount namespace than pid $host"
expect_rc 2 medic --json audit
other_id=$(findmnt -N "$host" -rn -o ID --mountpoint "$base" | tail -n 1)
own_id=$(findmnt -rn -o ID --mountpoint "$base" | tail -n 1)
[ "$other_id" != "$own_id" ] || fail "the two namespaces show one mount id"
py_assert "$OUT" 'd["items"][0]["wanted"]["observed"]["mount_id"] == '"$other_id" "the planned mount is the other namespace's"

step "without CAP_SYS_CHROOT apply refuses before any change"
expect_rc 1 setpriv --bounding-set=-sys_chroot --inh-caps=-sys_chroot env MEDIC_HOST_MNTNS_PID="$host" \
        "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" apply
assert_contains "$ERR" "CAP_SYS_CHROOT"
assert_contains "$ERR" "Nothing was changed"
assert_opts "$base" rw,nosuid,nodev,relatime "$host"
assert_opts "$base" rw,nosuid,nodev,relatime
assert_change_sets ""

step "apply acts in the other namespace through setns; ours keeps relatime"
expect_rc 2 medic apply
assert_opts "$base" rw,nosuid,nodev,noatime "$host"
assert_opts "$base" rw,nosuid,nodev,relatime
expect_rc 0 medic audit

step "the fallback remount through setns too"
expect_rc 2 medic rollback
assert_opts "$base" rw,nosuid,nodev,relatime "$host"
MEDIC_MOUNT_API=remount expect_rc 2 medic apply
assert_opts "$base" rw,nosuid,nodev,noatime "$host"
assert_opts "$base" rw,nosuid,nodev,relatime

step "rollback restores the other namespace's mount"
expect_rc 2 medic rollback
assert_opts "$base" rw,nosuid,nodev,relatime "$host"
assert_opts "$base" rw,nosuid,nodev,relatime

step "an absolute symlink on the path is resolved in the host's root, to a mount only the host has"
mkdir -p "$T/data2"
nsenter -t "$host" -m mount -t tmpfs -o relatime medic-hostonly "$T/data2"
nsenter -t "$host" -m mkdir "$T/data2/etcd"
ln -s "$T/data2" "$T/link"
mount_policy "$T/link/etcd" noatime
expect_rc 2 medic apply
assert_match "$OUT" "$T/link/etcd on $T/data2 \\(tmpfs medic-hostonly\\) +relatime +→ noatime +changed"
assert_opts "$T/data2" rw,noatime "$host"
expect_rc 2 medic rollback
assert_opts "$T/data2" rw,relatime "$host"
[ -z "$(findmnt -rn --mountpoint "$T/data2")" ] || fail "the host-only mount appeared in medic's namespace"

step "medic in the same namespace as the host changes its own view only"
mount_policy "$base/etcd" noatime
HOST_PID=$$
expect_rc 2 medic apply
assert_not_contains "$OUT" "another mount namespace"
assert_opts "$base" rw,nosuid,nodev,noatime
assert_opts "$base" rw,nosuid,nodev,relatime "$host"
expect_rc 2 medic rollback
assert_opts "$base" rw,nosuid,nodev,relatime
assert_host_clean
