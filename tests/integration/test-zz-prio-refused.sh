#!/bin/bash
# sch_prio installed but the kernel will not load it: medic must say what it found (not
# "CONFIG_NET_SCH_PRIO not set"), audit's note must predict htb for backend: auto, apply must
# build htb and say the same reason, and backend: prio must fail with it:
# 1. modprobe.d says "install sch_prio /bin/false";
# 2. kernel.modules_disabled=1.
# This unloads sch_prio and sets kernel.modules_disabled, which only a reboot undoes: it runs
# only in the throwaway guest of tests/vm (MEDIC_VM=1), and its name sorts it after every
# other test there, since no module can be loaded after it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
tc_setup vt0 auto
[ "${MEDIC_VM:-}" = 1 ] ||
        skip "unloads sch_prio and sets kernel.modules_disabled=1 (only a reboot undoes it): runs in the VM of make check-vm"
kver=$(uname -r)
grep -q '/sch_prio.ko' "/lib/modules/$kver/modules.dep" 2>/dev/null || skip "kernel $kver has no sch_prio module to refuse"
[ "$(cat /proc/sys/kernel/modules_disabled)" = 0 ] || skip "kernel.modules_disabled is already 1"

conf=/etc/modprobe.d/medic-test-no-sch_prio.conf
trap 'rc=$?; rm -f "$conf"; (exit $rc); _cleanup' EXIT
# What the tests below need, loaded while the kernel still loads modules.
for m in veth sch_htb cls_u32; do modprobe "$m" || fail "modprobe $m"; done
# Earlier tests' namespaces go away asynchronously, and their prio qdiscs with them.
if [ -e /sys/module/sch_prio ]; then
        wait_until 60 rmmod sch_prio 2>/dev/null || fail "cannot unload sch_prio: $(cat /sys/module/sch_prio/refcnt)"
fi
tc_veth_up
AUTO=htb AUTO_SHOWN="htb 10gbit"
before=$(tc_snapshot "$NS" vt0)

# refused WHY: the kernel refuses prio; audit, apply (auto and prio) and rollback say WHY.
refused() {
        local why=$1
        ip netns exec "$NS" tc qdisc add dev vt1 root prio 2>/dev/null && fail "the kernel still creates a prio qdisc"
        [ ! -e /sys/module/sch_prio ] || fail "sch_prio got loaded"
        expect_rc 2 medic_ns audit
        assert_contains "$OUT" "note: backend auto: htb, because this kernel has no 'prio' qdisc ($why)"
        assert_not_contains "$OUT" "CONFIG_NET_SCH_PRIO"
        expect_rc 2 medic_ns apply
        assert_contains "$OUT" "note: backend auto: used htb, because this kernel has no 'prio' qdisc ($why)"
        tc_assert_auto_root "$NS" vt0
        py_assert "$(journal_file "$(change_set_ids | awk '{ print $NF }')")" 'd["items"][0]["after"]["backend"] == "htb"'
        expect_rc 2 medic_ns rollback
        assert_eq "$before" "$(tc_snapshot "$NS" vt0)" "vt0 after rollback"
        sed 's/backend: auto/backend: prio/' "$POLICY" >"$T/prio.yaml"
        expect_rc 2 medic_ns --policy "$T/prio.yaml" audit
        assert_contains "$OUT" "note: backend prio: this kernel has no 'prio' qdisc ($why), so apply will fail; use backend: htb or auto"
        expect_rc 4 medic_ns --policy "$T/prio.yaml" apply
        assert_contains "$OUT" "failed: vt0: kernel has no 'prio' qdisc ($why); use backend: htb or auto"
        assert_eq "$before" "$(tc_snapshot "$NS" vt0)" "vt0 after the failed prio apply"
}

step "modprobe.d: install sch_prio /bin/false"
printf 'install sch_prio /bin/false\n' >"$conf"
refused "module sch_prio is installed but modprobe.d says 'install sch_prio /bin/false', so it is never loaded"
rm -f "$conf"

step "kernel.modules_disabled=1"
echo 1 >/proc/sys/kernel/modules_disabled
refused "module sch_prio is installed but the kernel refuses to load it: kernel.modules_disabled=1 (until reboot)"
