# Copyright 2026 cinder-zol developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""tgt checks: tgtd, persistence, the portals, and the write test.

The write test goes the driver's own way, through zfs.ZFSHost and
tgt.TgtTargets, so it creates and exports exactly what the driver would.
"""

import secrets
import time

from oslo_concurrency import processutils

from zol_driver.checks import context
from zol_driver.checks.context import FAIL
from zol_driver.checks.context import OK
from zol_driver.checks.context import WARN
from zol_driver.checks import login
from zol_driver import errors
from zol_driver import tgt

PORTAL_TIMEOUT = 3.0
TEST_SIZE = 64 * 1024 * 1024


def check_tgtd(ctx):
    """tgtd answers tgtadm through the wrapper."""
    code, out = context.exit_code(ctx.executor, 'tgtadm', '--lld',
                                  'iscsi', '--op', 'show', '--mode',
                                  'target')
    if code != 0:
        ctx.add('tgtd', FAIL, 'tgtadm failed (exit %s): %s'
                % (code, out.strip()[:200]),
                'Start tgtd on the ZFS host: systemctl enable --now '
                'tgt' if code != errors.WRAPPER_REFUSED else
                'Check "tgtadm" in the wrapper config.')
        return
    ctx.facts.add('tgtd')
    count = sum(1 for ln in out.splitlines() if ln.startswith('Target '))
    ctx.add('tgtd', OK, 'tgtd answers (%d targets)' % count)


def check_persistence(ctx):
    """Every target of this prefix is live in tgtd and persisted."""
    code, out = context.exit_code(ctx.executor, 'target-list')
    if code != 0:
        ctx.add('persistence', FAIL, 'target-list failed (exit %s): %s'
                % (code, out.strip()[:200]),
                'Check "statedir" and "lockfile" in the wrapper config '
                '(doc/wrapper-install.rst).')
        return
    ours = [t for iqn, t in sorted(tgt.parse_target_list(out).items())
            if iqn.startswith(ctx.settings.target_prefix)]
    missing = [t.iqn for t in ours if t.tid is None]
    volatile = [t.iqn for t in ours if not t.persisted]
    restore = ('Restart cinder-volume (it restores its targets on '
               'start-up) or run: ssh -i %s %s@%s target-restore; see '
               'doc/deployment.rst, "After a ZFS host reboot".'
               % (ctx.settings.san_private_key, ctx.settings.san_login,
                  ctx.settings.san_ip))
    if missing:
        ctx.add('persistence', FAIL, '%d exported volumes are missing '
                'from tgtd (restarted without restore?): %s'
                % (len(missing), ', '.join(missing[:5])), restore)
    if volatile:
        ctx.add('persistence', WARN, '%d targets would not survive a '
                'tgtd restart (not persisted): %s'
                % (len(volatile), ', '.join(volatile[:5])),
                'Re-export them (detach/attach) or recreate them with '
                'the current wrapper.')
    if not missing and not volatile:
        ctx.add('persistence', OK, '%d targets of this prefix, all '
                'live in tgtd and persisted' % len(ours))


def check_portal(ctx):
    """Each iSCSI portal accepts TCP from here."""
    s = ctx.settings
    # As the driver: unset, the portal is san_ip (not Cinder's my_ip).
    for address in tgt.portal_hosts(s):
        try:
            ms = login.tcp_probe(address, s.target_port, PORTAL_TIMEOUT)
        except OSError as e:
            ctx.add('portal', FAIL, 'iSCSI portal %s:%s: %s'
                    % (address, s.target_port, e),
                    'Check target_ip_address/target_port, that tgtd '
                    'listens there (ss -ltn on the ZFS host) and the '
                    'firewall; compute nodes need this port too.')
            continue
        ctx.add('portal', OK, 'iSCSI portal %s:%s accepts TCP '
                '(%.1f ms; compute nodes must reach it too)'
                % (address, s.target_port, ms))


def write_test(ctx):
    """Create, export, list, unexport and destroy a small zvol."""
    name = context.TEST_PREFIX + secrets.token_hex(4)
    targets = tgt.TgtTargets(ctx.executor, ctx.settings)
    iqn = targets.iqn(name)
    dataset = ctx.zfs.full(name)
    timings = []
    cleanup = []
    try:
        _timed(timings, 'create', ctx.zfs.create_volume, name, TEST_SIZE,
               True)
        cleanup.append(('destroy', name, ctx.zfs.destroy, name))
        # target-delete is idempotent: undo a half-made export too.
        cleanup.insert(0, ('unexport', 'target-delete ' + iqn,
                           targets.delete, iqn))
        _timed(timings, 'export', targets.create,
               targets.export_for(name, name))
        _timed(timings, 'list', _expect_listed, targets, iqn)
    except (errors.ZolError, processutils.ProcessExecutionError) as e:
        step = ['create', 'export', 'list'][len(timings)]
        ctx.add('write test', FAIL, '%s of %s failed: %s'
                % (step, dataset, context.host_error(e)),
                ctx.fix_for(e) or 'See the wrapper\'s log on the ZFS host.')
    finally:
        left = _cleanup(timings, cleanup)
    if left:
        ctx.add('write test', FAIL, 'could not remove: %s'
                % '; '.join(left), 'On the ZFS host: tgtadm/zfs by '
                'hand, or ssh with the driver key: target-delete %s; '
                'zfs destroy %s' % (iqn, dataset))
    elif not any(r.name == 'write test' for r in ctx.results):
        ctx.add('write test', OK, '%s: %s' % (dataset, ', '.join(
            '%s %.0f ms' % t for t in timings)))


def _timed(timings, what, func, *args):
    start = time.monotonic()
    func(*args)
    timings.append((what, (time.monotonic() - start) * 1000))


def _expect_listed(targets, iqn):
    info = targets.listing().get(iqn)
    if info is None:
        raise errors.TargetError(iqn, 'not in target-list after create')
    if info.tid is None or not info.persisted:
        raise errors.TargetError(iqn, 'listed as tid=%s persisted=%s'
                                 % (info.tid or '-', 'yes' if info.persisted
                                    else 'no'))


def _cleanup(timings, cleanup):
    left = []
    for what, shown, func, *args in cleanup:
        try:
            _timed(timings, what, func, *args)
        except (errors.ZolError,
                processutils.ProcessExecutionError) as e:
            left.append('%s: %s' % (shown, context.host_error(e)))
    return left
