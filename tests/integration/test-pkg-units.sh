#!/bin/bash
# Every systemd unit in packaging/systemd passes `systemd-analyze verify` (against a
# scratch root that holds the units, medic and the host's own unit files, so that it works
# before the package is installed), and `systemd-analyze security` keeps each service at
# or below its exposure score in README.md. The tmpfiles.d entry parses.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkg-lib.sh"
command -v systemd-analyze >/dev/null || skip "needs systemd-analyze (make deps: systemd)"
[ -d /lib/systemd/system ] || skip "no /lib/systemd/system to verify against"
setup
UNITS=$PKG_TOP/packaging/systemd
ROOT=$T/root
mkdir -p "$ROOT/usr/sbin" "$ROOT/usr/bin" "$ROOT/lib/systemd"
cp -a /lib/systemd/system "$ROOT/lib/systemd/"
cp "$MEDIC_RELEASE_BIN" "$ROOT/usr/sbin/medic"
cp "$(type -P kill)" "$ROOT/usr/bin/kill"
cp "$UNITS"/*.service "$UNITS"/*.timer "$ROOT/lib/systemd/system/"

units=()
for u in "$UNITS"/*.service "$UNITS"/*.timer; do units+=("$(basename "$u")"); done
step "systemd-analyze verify ${units[*]}"
# --man=no: the man pages are checked installed, by test-pkg-deb.
expect_rc 0 systemd-analyze verify --root="$ROOT" --man=no "${units[@]}"
assert_empty "$OUT" "systemd-analyze verify stdout"
assert_empty "$ERR" "systemd-analyze verify stderr"
for want in medic-agent.service medic-apply.service medic-audit.service medic-audit.timer; do
        [ -f "$UNITS/$want" ] || fail "packaging/systemd/$want is missing"
done

step "the hardening the issue asks for, and none that hides the host"
for u in "$UNITS"/*.service; do
        for k in NoNewPrivileges=yes SystemCallArchitectures=native LockPersonality=yes MemoryDenyWriteExecute=yes; do
                assert_match "$u" "^$k\$" "$(basename "$u")"
        done
        assert_match "$u" '^CapabilityBoundingSet=CAP_' "$(basename "$u")"
        assert_match "$u" '^RestrictAddressFamilies=AF_UNIX AF_NETLINK$' "$(basename "$u")"
        for k in ProtectSystem PrivateTmp ProtectKernelTunables PrivateNetwork PrivateMounts ProtectKernelModules \
                ProtectKernelLogs ProtectControlGroups ProtectHome PrivateDevices; do
                ! grep -q "^$k=" "$u" || fail "$(basename "$u") sets $k="
        done
done
assert_match "$UNITS/medic-audit.service" '^CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH$' "medic-audit.service (read capabilities only)"

step "systemd-analyze security: each service at or below its score in README.md"
for u in medic-agent.service medic-apply.service medic-audit.service; do
        run_capture systemd-analyze security --offline=true --root="$ROOT" "$u"
        score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$OUT")
        [ -n "$score" ] || { _dump out "$OUT"; _dump err "$ERR"; fail "no score for $u"; }
        readme=$(sed -n "s/^| \`$u\` | \([0-9.]*\) .*/\1/p" "$PKG_TOP/README.md")
        log "$u: exposure $score (README: ${readme:-none})"
        [ -n "$readme" ] || fail "README.md has no security score for $u"
        awk -v a="$score" -v b="$readme" 'BEGIN { exit !(a <= b) }' || fail "$u: exposure $score is above README's $readme"
done

step "tmpfiles.d: /var/lib/medic 0700, /var/log/medic 0750"
assert_match "$UNITS/medic.tmpfiles" '^d /var/lib/medic 0700 root root -$' medic.tmpfiles
assert_match "$UNITS/medic.tmpfiles" '^d /var/log/medic 0750 root root -$' medic.tmpfiles
if command -v systemd-tmpfiles >/dev/null; then
        mkdir -p "$T/tmpfiles-root"
        expect_rc 0 systemd-tmpfiles --root="$T/tmpfiles-root" --create "$UNITS/medic.tmpfiles"
        assert_eq 700 "$(stat -c %a "$T/tmpfiles-root/var/lib/medic")" "mode of var/lib/medic"
        assert_eq 750 "$(stat -c %a "$T/tmpfiles-root/var/log/medic")" "mode of var/log/medic"
fi
log "PASS"
