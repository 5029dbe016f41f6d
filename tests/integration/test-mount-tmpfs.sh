#!/bin/bash
# mount-options on a tmpfs mounted nosuid,nodev,relatime, with the path deep inside it:
# audit 2, dry-run changes nothing, apply gives noatime and keeps nosuid,nodev, audit 0,
# rollback gives relatime back; the fstab note against a test fstab. Then the same with the
# mount(2) fallback forced (MEDIC_MOUNT_API=remount), and strace shows which call was made.
# A mount replaced since the change voids it; one changed by someone else is a conflict.
. "$(dirname "$0")/mount-lib.sh"
mount_setup

kernel_at_least() {
        local v
        v=$(uname -r)
        [ "${v%%.*}" -gt "$1" ] || { [ "${v%%.*}" -eq "$1" ] && v=${v#*.} && [ "${v%%[!0-9]*}" -ge "$2" ]; }
}

have_strace=0
command -v strace >/dev/null && have_strace=1

run_case() {
        local api=$1 base=$T/mnt-$1 deep
        deep=$base/a/b/c
        mkdir -p "$base"
        mount -t tmpfs -o nosuid,nodev,relatime,size=4m "medic-$api" "$base"
        mkdir -p "$deep"
        mount_policy "$deep" noatime
        printf '# test fstab\n\nmedic-%s %s tmpfs defaults 0 0\n' "$api" "$base" >"$T/root/etc/fstab"
        export MEDIC_MOUNT_API=$api
        rm -rf "${STATE:?}"/changes

        step "$api: audit names the mount holding the path and exits 2"
        assert_opts "$base" rw,nosuid,nodev,relatime
        expect_rc 2 medic audit
        assert_match "$OUT" "^atime +$deep on $base \\(tmpfs medic-$api\\) +relatime +→ noatime +drift"
        assert_contains "$OUT" "note: runtime only: /etc/fstab line 3 has defaults; the line that keeps it after a reboot: medic-$api $base tmpfs defaults,noatime 0 0"
        assert_contains "$OUT" "kept as they are: rw,nosuid,nodev"

        step "$api: apply --dry-run changes nothing"
        expect_rc 2 medic apply --dry-run
        assert_opts "$base" rw,nosuid,nodev,relatime
        assert_change_sets ""

        step "$api: apply sets noatime and keeps nosuid,nodev"
        if [ $have_strace = 1 ]; then
                expect_rc 2 strace_medic "$T/strace.$api" apply
        else
                expect_rc 2 medic apply
        fi
        assert_opts "$base" rw,nosuid,nodev,noatime
        assert_host_clean
        assert_change_sets 1
        py_assert "$(journal_file 1)" 'd["items"][0]["before"]["set"][0] == "relatime" and d["items"][0]["after"]["set"][0] == "noatime"'
        py_assert "$(journal_file 1)" 'd["items"][0]["before"]["observed"]["kept"] == "rw,nosuid,nodev" and d["items"][0]["before"]["observed"]["mount_point"] == "'"$base"'"'
        if [ $have_strace = 1 ]; then
                if [ "$api" = remount ]; then
                        grep -F "mount(NULL, \"$base\", NULL, " "$T/strace.$api" >"$T/strace.line" ||
                                fail "no mount(2) call on $base: $(cat "$T/strace.$api")"
                        for flag in MS_REMOUNT MS_BIND MS_NOSUID MS_NODEV MS_NOATIME; do
                                assert_match "$T/strace.line" "[ |]$flag[|,]" "the mount(2) flags"
                        done
                        assert_not_contains "$T/strace.$api" "mount_setattr("
                else
                        assert_match "$T/strace.$api" 'mount_setattr\(.*MOUNT_ATTR_NOATIME'
                        assert_not_contains "$T/strace.$api" "MS_REMOUNT"
                fi
        fi

        step "$api: audit 0 and a second apply changes nothing"
        expect_rc 0 medic audit
        assert_match "$OUT" "$deep on $base \\(tmpfs medic-$api\\) +noatime +→ noatime +ok"
        expect_rc 0 medic apply
        assert_change_sets 1

        step "$api: rollback gives relatime back, with nosuid,nodev"
        expect_rc 2 medic rollback
        assert_opts "$base" rw,nosuid,nodev,relatime
        expect_rc 2 medic audit

        step "$api: a mount changed by someone else since is a conflict, left alone"
        expect_rc 2 medic apply
        assert_opts "$base" rw,nosuid,nodev,noatime
        mount -o remount,bind,nosuid,nodev,strictatime "$base"
        expect_rc 4 medic rollback
        assert_contains "$OUT" "conflict"
        assert_opts "$base" rw,nosuid,nodev

        # Linux reuses mount ids; from 6.8 statx has ids it never reuses, and medic then
        # tells a mount from an identical one mounted in its place. Before 6.8 only a
        # replacement that differs (here: its source) can be told apart.
        local src=medic-$api
        kernel_at_least 6 8 || src=medic-$api-new
        step "$api: a mount replaced since (by $src) makes the change void"
        mount -o remount,bind,nosuid,nodev,relatime "$base"
        rm -rf "${STATE:?}"/changes
        expect_rc 2 medic apply
        umount "$base"
        mount -t tmpfs -o nosuid,nodev,relatime,size=4m "$src" "$base"
        expect_rc 0 medic rollback
        assert_match "$OUT" "skipped: the mount on $base \\(tmpfs medic-$api, mount id [0-9]+\\) is gone"
        assert_opts "$base" rw,nosuid,nodev,relatime
        umount "$base"
        unset MEDIC_MOUNT_API
}

run_case setattr
run_case remount
[ $have_strace = 1 ] || log "strace not installed: which system call was made is not checked"

step "an unknown MEDIC_MOUNT_API is refused, nothing changes"
mkdir -p "$T/x"
mount -t tmpfs -o relatime medic-x "$T/x"
mount_policy "$T/x" noatime
MEDIC_MOUNT_API=bogus expect_rc 4 medic apply
assert_contains "$OUT" "MEDIC_MOUNT_API=bogus"
assert_opts "$T/x" rw,relatime
assert_host_clean
