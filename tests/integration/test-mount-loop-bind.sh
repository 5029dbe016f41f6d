#!/bin/bash
# The real file system etcd uses: a loop-mounted ext4 image, a bind mount of a subdirectory
# of it, and a tmpfs mounted over a directory of it. Only the mount that holds the path
# changes; the others keep their options (each checked with findmnt by mount id). The fstab
# note finds the image's line by UUID, through a test /dev/disk/by-uuid.
. "$(dirname "$0")/mount-lib.sh"
mount_setup

# opts_id ID: the per-mount options of mount ID, read by findmnt.
opts_id() { findmnt -rn -o ID,VFS-OPTIONS | awk -v id="$1" '$1 == id { print $2 }'; }
mount_id() { findmnt -rn -o ID --mountpoint "$1" | tail -n 1; }

ext4_loop_image -L "medic$$"
uuid=$(blkid -o value -s UUID "$T/disk.img" 2>/dev/null || tune2fs -l "$T/disk.img" | awk '/UUID/ { print $3 }')
[ -n "$uuid" ] || fail "cannot read the image's UUID"
dev=$LOOP_DEV
mkdir -p "$T/disk" "$T/etcd" 
mount -o relatime "$dev" "$T/disk"
mkdir -p "$T/disk/data/etcd/member" "$T/disk/over"
mount --bind "$T/disk/data" "$T/etcd"
mount -t tmpfs -o nosuid,relatime medic-over "$T/disk/over"
disk_id=$(mount_id "$T/disk")
bind_id=$(mount_id "$T/etcd")
over_id=$(mount_id "$T/disk/over")
assert_eq rw,relatime "$(opts_id "$disk_id")" "the image's mount"
assert_eq rw,relatime "$(opts_id "$bind_id")" "the bind mount"

# The image mounted by UUID at boot; the fake by-uuid link leads to our loop device.
mkdir -p "$T/root/dev/disk/by-uuid"
ln -s "$dev" "$T/root/dev/disk/by-uuid/$uuid"
printf '# test fstab\nUUID=%s %s ext4 defaults 0 2\n' "$uuid" "$T/disk" >"$T/root/etc/fstab"

step "a path inside the bind mount: the bind mount is the one that holds it"
mount_policy "$T/etcd/etcd/member" noatime
expect_rc 2 medic audit
assert_match "$OUT" "$T/etcd/etcd/member on $T/etcd \\(ext4 $dev\\[/data\\]\\) +relatime +→ noatime +drift"
assert_contains "$OUT" "runtime only: /etc/fstab line 2 mounts its device (UUID=$uuid on $T/disk) with defaults; the line that keeps it after a reboot: UUID=$uuid $T/disk ext4 defaults,noatime 0 2"

step "apply changes the bind mount only"
expect_rc 2 medic apply
assert_eq rw,noatime "$(opts_id "$bind_id")" "the bind mount"
assert_eq rw,relatime "$(opts_id "$disk_id")" "the image's mount (not the one holding the path)"
assert_eq rw,nosuid,relatime "$(opts_id "$over_id")" "the tmpfs over a directory of the image"
expect_rc 0 medic audit
expect_rc 2 medic rollback
assert_eq rw,relatime "$(opts_id "$bind_id")" "the bind mount after rollback"

step "a path on the image itself: its own mount, found by mount point in fstab"
mount_policy "$T/disk/data/etcd" noatime
expect_rc 2 medic audit
assert_match "$OUT" "$T/disk/data/etcd on $T/disk \\(ext4 $dev\\) +relatime +→ noatime +drift"
assert_contains "$OUT" "runtime only: /etc/fstab line 2 has defaults; the line that keeps it after a reboot: UUID=$uuid $T/disk ext4 defaults,noatime 0 2"
expect_rc 2 medic apply
assert_eq rw,noatime "$(opts_id "$disk_id")" "the image's mount"
assert_eq rw,relatime "$(opts_id "$bind_id")" "the bind mount (a separate mount with its own flags)"
assert_eq rw,nosuid,relatime "$(opts_id "$over_id")" "the tmpfs over a directory of the image"
expect_rc 2 medic rollback
assert_eq rw,relatime "$(opts_id "$disk_id")" "the image's mount after rollback"

step "a path under the overmount: the tmpfs on top, not the image beneath"
mount_policy "$T/disk/over" strictatime
expect_rc 2 medic apply
assert_eq rw,nosuid "$(opts_id "$over_id")" "the tmpfs over a directory of the image"
assert_eq rw,relatime "$(opts_id "$disk_id")" "the image's mount"
expect_rc 2 medic rollback
assert_eq rw,nosuid,relatime "$(opts_id "$over_id")" "the tmpfs after rollback"

step "fstab that already says noatime: the note says the fix persists"
printf 'UUID=%s %s ext4 rw,noatime 0 2\n' "$uuid" "$T/disk" >"$T/root/etc/fstab"
mount_policy "$T/disk/data/etcd" noatime
expect_rc 2 medic audit
assert_contains "$OUT" "persistent: /etc/fstab line 1 has rw,noatime"

step "a systemd .mount unit wins over fstab"
unit=$(systemd-escape --path --suffix=mount "$T/disk" 2>/dev/null || true)
[ -n "$unit" ] || unit=$(printf '%s' "${T#/}/disk" | sed 's/-/\\x2d/g; s|/|-|g').mount
printf '[Unit]\nDescription=test\n[Mount]\nWhat=/dev/x\nOptions=defaults\n' >"$T/root/etc/systemd/system/$unit"
expect_rc 2 medic audit
assert_contains "$OUT" "runtime only: /etc/systemd/system/$unit has Options=defaults; write Options=defaults,noatime there to keep it after a reboot"
assert_host_clean
