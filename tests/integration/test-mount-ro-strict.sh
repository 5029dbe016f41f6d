#!/bin/bash
# A read-only noexec,strictatime mount: apply [noatime, nodiratime] keeps ro and noexec;
# rollback gives strictatime back (not relatime, the kernel's default) and clears
# nodiratime. With mount_setattr and with the mount(2) fallback, which must pass ro and
# noexec again or the remount makes the mount writable and executable.
. "$(dirname "$0")/mount-lib.sh"
mount_setup

for api in setattr remount; do
        base=$T/ro-$api
        mkdir -p "$base"
        mount -t tmpfs -o noexec,strictatime,size=4m "medic-ro-$api" "$base"
        mkdir -p "$base/data/etcd"
        mount -o remount,ro,noexec,strictatime "$base"
        export MEDIC_MOUNT_API=$api
        rm -rf "${STATE:?}"/changes
        mount_policy "$base/data/etcd" noatime nodiratime

        step "$api: findmnt shows a read-only strictatime mount (no atime word at all)"
        assert_opts "$base" ro,noexec
        expect_rc 2 medic audit
        assert_match "$OUT" "$base/data/etcd on $base \\(tmpfs medic-ro-$api\\) +strictatime +→ noatime,nodiratime +drift"

        step "$api: apply keeps ro and noexec"
        expect_rc 2 medic apply
        assert_opts "$base" ro,noexec,noatime,nodiratime
        touch "$base/x" 2>/dev/null && fail "$api: the mount became writable"
        py_assert "$(journal_file 1)" 'd["items"][0]["before"]["set"] == ["strictatime", "diratime"]'
        expect_rc 0 medic audit

        step "$api: rollback gives strictatime back, not relatime"
        expect_rc 2 medic rollback
        assert_opts "$base" ro,noexec
        expect_rc 2 medic audit
        assert_match "$OUT" "strictatime +→ noatime,nodiratime +drift"

        step "$api: a policy that only sets nodiratime leaves the atime mode alone"
        mount_policy "$base/data/etcd" nodiratime
        expect_rc 2 medic apply
        assert_opts "$base" ro,noexec,nodiratime
        expect_rc 2 medic rollback
        assert_opts "$base" ro,noexec
        assert_host_clean
        umount "$base"
        unset MEDIC_MOUNT_API
done
