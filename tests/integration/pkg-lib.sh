# shellcheck shell=bash
# Helpers for the packaging tests, sourced after lib.sh.

PKG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# pkg_deb: the package `make deb` built ($MEDIC_DEB, else build/medic_*_ARCH.deb); skips
# the test when there is none.
pkg_deb() {
        local deb=${MEDIC_DEB:-} arch
        if [ -z "$deb" ]; then
                arch=$(dpkg --print-architecture 2>/dev/null) || skip "not a Debian system (no dpkg)"
                deb=$(ls -t "$PKG_TOP"/build/medic_*_"$arch".deb 2>/dev/null | head -n 1 || true)
        fi
        [ -n "$deb" ] && [ -f "$deb" ] || skip "no medic .deb: run make deb (make check builds it)"
        printf '%s\n' "$deb"
}
