#!/bin/bash
# The Ansible module medic.etcd.medic with the real ansible-core, connection: local, run
# under `ip netns exec` so that medic changes only this test's namespace: a sysctl and a
# traffic-priority on a veth there. Check mode reports changed and changes nothing (read
# back with cat /proc/sys and tc); apply → changed; again → unchanged; diff mode shows
# before/after; rolled_back restores; a bad policy fails with its FILE:LINE:COL message.
# ansible-doc renders the module's documentation (ansible-test sanity needs a network).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
command -v ansible-playbook >/dev/null || skip "needs ansible-core (make deps)"
command -v tc >/dev/null || skip "needs tc"
# The shipped default (the keepalive sysctls) and a traffic-priority action on vt0.
setup
tc_action "peer traffic first" vt0 auto >>"$POLICY"
tc_veth_up

COLL=$(cd "$(dirname "$0")/../../packaging/ansible" && pwd)
mkdir -p "$T/ansible/home" "$T/ansible/tmp"
: >"$T/ansible/ansible.cfg"
# Nothing of the user's own Ansible setup, nothing written outside the temp dir.
export ANSIBLE_HOME=$T/ansible/home ANSIBLE_LOCAL_TEMP=$T/ansible/tmp ANSIBLE_REMOTE_TEMP=$T/ansible/tmp \
        ANSIBLE_COLLECTIONS_PATH=$COLL ANSIBLE_CONFIG=$T/ansible/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
        ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0

step "ansible-doc renders the module's DOCUMENTATION, EXAMPLES and RETURN"
expect_rc 0 ansible-doc medic.etcd.medic
assert_contains "$OUT" "confirm_within"
assert_contains "$OUT" "EXAMPLES"
assert_contains "$OUT" "RETURN VALUES"
assert_not_contains "$ERR" "WARNING" "ansible-doc stderr"

# One play runs everything (ansible-playbook starts slowly; four runs took a minute on a
# loaded machine). Its tasks are given as words: a medic state, with ":check" in check mode;
# "probe": the namespace's keepalive sysctls (cat /proc/sys) and vt0's qdiscs and filters
# (tc), read by a command task between two medic tasks; "bad": apply with a bad policy.
# The registered results → $T/result.json as a list, in order; exit code → $RC (0 also
# for a failed medic task: ignore_errors keeps the play going to write the results).
play() {
        local words=$1 w i=0 regs=""
        shift
        _need_ns
        {
                printf -- '- hosts: all\n  connection: local\n  gather_facts: false\n  tasks:\n'
                for w in $words; do
                        if [ "$w" = probe ]; then
                                printf -- '    - name: probe\n      command: /bin/sh -c "%s"\n' \
                                        'cat /proc/sys/net/ipv4/tcp_keepalive_time /proc/sys/net/ipv4/tcp_keepalive_intvl /proc/sys/net/ipv4/tcp_keepalive_probes | paste -sd\" \"; tc qdisc show dev vt0; tc filter show dev vt0'
                                printf -- '      changed_when: false\n      check_mode: false\n'
                        else
                                printf -- '    - name: medic %s\n      medic.etcd.medic:\n' "$w"
                                case "$w" in
                                bad) printf -- '        state: applied\n        policy: "{{ medic_bad_policy }}"\n' ;;
                                *) printf -- '        state: %s\n        policy: "{{ medic_policy }}"\n' "${w%%:*}" ;;
                                esac
                                printf -- '        state_dir: "{{ medic_state_dir }}"\n        audit_log: "{{ medic_audit_log }}"\n'
                                printf -- '        executable: "{{ medic_bin }}"\n      ignore_errors: true\n'
                                case "$w" in *:check) printf -- '      check_mode: true\n' ;; esac
                        fi
                        printf -- '      register: r%d\n' $i
                        regs="$regs${regs:+, }r$i"
                        i=$((i + 1))
                done
                printf -- '    - name: keep the results for the test\n      copy:\n'
                printf -- '        content: "{{ [%s] | to_json }}"\n        dest: "{{ medic_result }}"\n' "$regs"
                printf -- '        mode: "0600"\n      check_mode: false\n      diff: false\n'
        } >"$T/play.yml"
        rm -f "$T/result.json"
        run_capture ip netns exec "$NS" ansible-playbook -i localhost, "$T/play.yml" \
                -e medic_policy="$POLICY" -e medic_bad_policy="$T/bad.yaml" -e medic_state_dir="$STATE" \
                -e medic_audit_log="$AUDIT" -e medic_bin="$MEDIC_BIN" -e medic_result="$T/result.json" "$@"
        [ -s "$T/result.json" ] || { _dump stdout "$OUT"; _dump stderr "$ERR"; fail "no task result from ansible-playbook"; }
}
# res_is N EXPR: EXPR over d, the result of the play's task N.
res_is() { py_assert "$T/result.json" "(lambda d: $2)(d[$1])" "result of task $1"; }
# probe N: what probe task N read.
probe() { py "$T/result.json" "d[$1][\"stdout\"]"; }

tc_now() { tc -n "$NS" qdisc show dev vt0; tc -n "$NS" filter show dev vt0; }
BEFORE="7200 75 9
$(tc_now)"
write_policy "$T/bad.yaml" <<'YAML'
medic: 1
actions:
  - name: bad
    sysctl:
      net.ipv4.tcp_keepalive_time: [600]
YAML

step "one play: audit, apply in check mode, apply twice, roll back in check mode and for real, a bad policy (--diff)"
#     0     1             2     3       4       5     6                 7     8           9     10
play "audit applied:check probe applied applied probe rolled_back:check probe rolled_back probe bad" --diff
assert_eq 0 "$RC" "ansible-playbook exit"

step "audit: drift reported, not 'changed', not failed"
res_is 0 'd["changed"] is False and d["failed"] is False and d["rc"] == 2 and d["drift"] is True'
res_is 0 'd["summary"]["drift"] == 4'

step "check mode: changed, and nothing changed (/proc/sys and tc read after it)"
res_is 1 'd["changed"] is True and d["failed"] is False and d["rc"] == 2 and "--dry-run" in d["cmd"]'
assert_eq "$BEFORE" "$(probe 2)" "keepalive sysctls, vt0's qdiscs and filters after check mode"

step "diff mode: before/after per item, also as Ansible prints it"
res_is 1 '{"before": "7200\n", "after": "600\n", "before_header": "faster dead-peer detection: net.ipv4.tcp_keepalive_time", "after_header": "faster dead-peer detection: net.ipv4.tcp_keepalive_time"} in d["diff"]'
res_is 1 'len(d["diff"]) == 4'
assert_match "$OUT" '^-7200$' "the playbook's diff output"
assert_match "$OUT" '^\+600$' "the playbook's diff output"

step "apply: changed; again: not changed; the sysctls and vt0's root qdisc are medic's"
res_is 3 'd["changed"] is True and d["failed"] is False and d["rc"] == 2 and d["change"] == 1'
res_is 4 'd["changed"] is False and d["failed"] is False and d["rc"] == 0 and d["change"] is None'
probe 5 >"$T/probe5"
assert_eq "600 60 5" "$(head -n 1 "$T/probe5")" "keepalive sysctls after apply"
assert_match "$T/probe5" '^qdisc (prio|htb) 1: root' "vt0's root qdisc after apply"

step "rolled_back in check mode: changed, nothing undone; for real: changed, all restored"
res_is 6 'd["changed"] is True and "--dry-run" in d["cmd"] and d["failed"] is False'
assert_eq "600 60 5" "$(probe 7 | head -n 1)" "keepalive sysctls after rolled_back in check mode"
res_is 8 'd["changed"] is True and d["failed"] is False and d["rc"] == 2 and d["change"] == 2'
assert_eq "$BEFORE" "$(probe 9)" "keepalive sysctls, vt0's qdiscs and filters after rolled_back"

step "a bad policy: failed, with medic's FILE:LINE:COL message"
res_is 10 'd["failed"] is True and d["rc"] == 1 and d["changed"] is False'
res_is 10 '"could not run" in d["msg"] and "bad.yaml:5:" in d["msg"]'
assert_contains "$OUT" "...ignoring"

step "afterwards, read by this test: as before, change sets 1 (apply) and 2 (rollback)"
assert_keepalive 7200 75 9
assert_eq "$(printf '%s\n' "$BEFORE" | tail -n +2)" "$(tc_now)" "vt0's qdiscs and filters"
assert_change_sets "1 2"
log "PASS"
