#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright: 2026 medic developers
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: medic
short_description: Audit, apply or roll back medic's etcd host fixes
version_added: "0.1.0"
description:
  - Runs C(medic --json) on the managed host and maps its result to Ansible's.
  - C(state=audit) compares the host with the policy and changes nothing.
  - C(state=applied) runs C(medic apply); in check mode C(medic apply --dry-run), which
    reports C(changed) when something drifted and changes nothing.
  - C(state=rolled_back) runs C(medic rollback) (in check mode with C(--dry-run)).
  - medic's exit codes decide the result. 0 is unchanged; 2 is C(changed) for apply and
    rollback, and drift for an audit; 1 (could not run, nothing changed), 4 (items failed)
    and 6 (changes and failures) fail the task, with medic's errors and the failed items
    in C(msg).
  - In diff mode every item that drifted or changed gives one diff, medic's current value
    before and the wanted one after.
author:
  - medic developers (@medic)
requirements:
  - medic (the Debian package) on the managed host
options:
  state:
    description:
      - C(audit) reads only. C(applied) brings the host in line with the policy.
        C(rolled_back) undoes a change set.
    type: str
    choices: [audit, applied, rolled_back]
    default: applied
  policy:
    description:
      - A policy file, or a directory whose C(*.yaml) files are merged in name order.
      - Default medic's own (C(/etc/medic/policy.d), else C(/usr/share/medic/etcd.yaml)).
    type: path
  change_id:
    description:
      - C(state=rolled_back) only. The change set to undo; default the newest applied one.
    type: int
  only:
    description:
      - Only the actions of these names (C(audit), C(applied)).
    type: list
    elements: str
  confirm_within:
    description:
      - C(state=applied) only. Seconds (1-86400) after which medic undoes the change set
        unless C(medic confirm) keeps it.
    type: int
  keep_going:
    description:
      - C(state=applied) only. Keep the items that worked when others fail, instead of
        undoing the whole set.
    type: bool
    default: false
  force:
    description:
      - C(state=rolled_back) only. Restore items that someone changed since.
    type: bool
    default: false
  state_dir:
    description:
      - medic's C(--state-dir) (default C(/var/lib/medic)).
    type: path
  audit_log:
    description:
      - medic's C(--audit-log) (default C(/var/log/medic/audit.jsonl)).
    type: path
  wait:
    description:
      - Seconds to wait for another medic's lock (C(--wait)).
    type: int
  executable:
    description:
      - The medic binary; default C(medic) on the PATH or in C(/usr/sbin).
    type: path
notes:
  - Supports check mode and diff mode.
  - medic needs root for C(applied) and C(rolled_back); use C(become).
seealso:
  - name: medic(8)
    description: The command this module runs.
    link: https://manpages.debian.org/medic
'''

EXAMPLES = r'''
- name: Audit an etcd host (read-only)
  medic.etcd.medic:
    state: audit
  register: audit

- name: Apply the shipped policy, undone in 5 minutes unless confirmed
  medic.etcd.medic:
    state: applied
    confirm_within: 300
  become: true

- name: Apply only the keepalive fix from a policy of our own
  medic.etcd.medic:
    policy: /etc/medic/policy.d
    only: [faster dead-peer detection]
  become: true

- name: Undo change set 3
  medic.etcd.medic:
    state: rolled_back
    change_id: 3
  become: true
'''

RETURN = r'''
rc:
  description: medic's exit code (0, 2, 4, 6, 1 or 64).
  returned: always
  type: int
  sample: 2
change:
  description: The change set medic made (apply, rollback), else null.
  returned: success
  type: int
  sample: 4
drift:
  description: Whether something differs from the policy (audit, check mode) or did before this run.
  returned: always
  type: bool
items:
  description: medic's items as its --json prints them (action, kind, object, status, mode, current, wanted, current_text, wanted_text, reason, notes).
  returned: always
  type: list
  elements: dict
summary:
  description: Item count per status (ok, drift, changed, failed, skipped, conflict, restored).
  returned: always
  type: dict
errors:
  description: What stopped medic, for example a policy error as FILE:LINE:COLUMN.
  returned: always
  type: list
  elements: str
messages:
  description: What medic said after its table ("change set 3 applied").
  returned: always
  type: list
  elements: str
medic:
  description: The whole JSON document medic printed.
  returned: when medic printed one
  type: dict
cmd:
  description: The command line that ran.
  returned: always
  type: list
  elements: str
'''

import json

from ansible.module_utils.basic import AnsibleModule

# medic's exit codes (medic(8), EXIT STATUS).
RC_NOTHING = 0
RC_CANNOT = 1
RC_CHANGES = 2
RC_FAILURES = 4
RC_BOTH = 6
RC_USAGE = 64


def build_command(module, medic):
    p = module.params
    cmd = [medic, '--json']
    if p['policy']:
        cmd += ['--policy', p['policy']]
    if p['state_dir']:
        cmd += ['--state-dir', p['state_dir']]
    if p['audit_log']:
        cmd += ['--audit-log', p['audit_log']]
    if p['wait'] is not None:
        cmd += ['--wait', str(p['wait'])]
    state = p['state']
    if state == 'audit':
        cmd.append('audit')
    elif state == 'applied':
        cmd.append('apply')
        if module.check_mode:
            cmd.append('--dry-run')
        elif p['confirm_within'] is not None:
            cmd += ['--confirm-within', str(p['confirm_within'])]
        if p['keep_going'] and not module.check_mode:
            cmd.append('--keep-going')
    else:
        cmd.append('rollback')
        if p['change_id'] is not None:
            cmd.append(str(p['change_id']))
        if module.check_mode:
            cmd.append('--dry-run')
        if p['force']:
            cmd.append('--force')
    if state in ('audit', 'applied'):
        for name in p['only'] or []:
            cmd += ['--only', name]
    return cmd


def check_options(module):
    p = module.params
    state = p['state']
    wrong = []
    if p['change_id'] is not None and state != 'rolled_back':
        wrong.append('change_id')
    if p['force'] and state != 'rolled_back':
        wrong.append('force')
    if p['only'] and state == 'rolled_back':
        wrong.append('only')
    if p['confirm_within'] is not None and state != 'applied':
        wrong.append('confirm_within')
    if p['keep_going'] and state != 'applied':
        wrong.append('keep_going')
    if wrong:
        module.fail_json(msg='state=%s does not take %s' % (state, ', '.join(wrong)))
    if p['confirm_within'] is not None and not 1 <= p['confirm_within'] <= 86400:
        module.fail_json(msg='confirm_within must be 1-86400 seconds')
    if p['change_id'] is not None and p['change_id'] < 1:
        module.fail_json(msg='change_id must be a change set id (1 or more)')


def item_label(item):
    return '%s: %s' % (item.get('action', ''), item.get('object', ''))


def diffs(items):
    out = []
    for item in items:
        if item.get('status') not in ('drift', 'changed'):
            continue
        before = item.get('current_text')
        after = item.get('wanted_text')
        out.append({
            'before_header': item_label(item),
            'after_header': item_label(item),
            'before': '' if before is None else '%s\n' % before,
            'after': '' if after is None else '%s\n' % after,
        })
    return out


def failure_message(doc, rc, stderr):
    parts = list(doc.get('errors') or [])
    for item in doc.get('items') or []:
        if item.get('status') in ('failed', 'conflict'):
            parts.append('%s: %s' % (item_label(item), item.get('reason') or item.get('status')))
    if not parts and stderr:
        parts.append(stderr.strip())
    what = {RC_CANNOT: 'medic could not run (nothing was changed)',
            RC_FAILURES: 'some items failed',
            RC_BOTH: 'changes were made and some items failed',
            RC_USAGE: 'medic was called wrongly'}.get(rc, 'medic exited %d' % rc)
    return '%s: %s' % (what, '; '.join(parts)) if parts else what


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='applied', choices=['audit', 'applied', 'rolled_back']),
            policy=dict(type='path'),
            change_id=dict(type='int'),
            only=dict(type='list', elements='str'),
            confirm_within=dict(type='int'),
            keep_going=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
            state_dir=dict(type='path'),
            audit_log=dict(type='path'),
            wait=dict(type='int'),
            executable=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    check_options(module)
    medic = module.params['executable'] or module.get_bin_path('medic', required=True, opt_dirs=['/usr/sbin'])
    cmd = build_command(module, medic)
    rc, stdout, stderr = module.run_command(cmd, environ_update={'LC_ALL': 'C'})

    doc = {}
    if stdout.strip():
        try:
            doc = json.loads(stdout)
        except ValueError:
            module.fail_json(msg='medic printed no JSON document (exit %d): %s' % (rc, (stderr or stdout).strip()),
                             rc=rc, cmd=cmd, stdout=stdout, stderr=stderr)
    items = doc.get('items') or []
    state = module.params['state']
    summary = doc.get('summary') or {}
    drift = any(i.get('status') in ('drift', 'changed') for i in items)
    # Audit reads only: drift is a finding, never a change. apply and rollback exit 2 (or 6)
    # when they changed something, and so do their dry runs when they would.
    changed = state != 'audit' and rc in (RC_CHANGES, RC_BOTH)
    result = dict(
        changed=changed,
        rc=rc,
        cmd=cmd,
        change=doc.get('change'),
        drift=drift,
        items=items,
        summary=summary,
        errors=doc.get('errors') or [],
        messages=doc.get('messages') or [],
        stderr=stderr,
    )
    if doc:
        result['medic'] = doc
    if module._diff:
        result['diff'] = diffs(items)
    if rc not in (RC_NOTHING, RC_CHANGES):
        module.fail_json(msg=failure_message(doc, rc, stderr), **result)
    # Explicitly not failed: Ansible takes a non-zero rc without it for a failure, and
    # medic's 2 is drift or changes.
    module.exit_json(failed=False, **result)


if __name__ == '__main__':
    main()
