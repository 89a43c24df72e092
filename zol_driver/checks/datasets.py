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

"""ZFS checks: the parent dataset, the round trip, the pool, the zvols."""

import statistics
import time

from zol_driver.checks import context
from zol_driver.checks.context import FAIL
from zol_driver.checks.context import INFO
from zol_driver.checks.context import OK
from zol_driver.checks.context import SKIP
from zol_driver.checks.context import WARN
from zol_driver import errors
from zol_driver import zfs

SLOW_ROUND_TRIP_MS = 150
POOL_CAPACITY_WARN = 80
POOL_CAPACITY_FAIL = 95
MIN_FREE = zfs.GiB


def check_parent(ctx):
    """Each parent exists, is a filesystem, has room; opens ctx.zfs.

    zol_parent_dataset may list several parents (one Cinder pool each):
    one line per parent; ctx.zfs is the first, ctx.zfs_hosts all that
    passed. The step passes only if every parent does.
    """
    parents = zfs.parse_parents(ctx.settings.zol_parent_dataset)
    if not parents or not all(zfs.valid_parent(p) for p in parents):
        ctx.add('parent dataset', SKIP, 'invalid zol_parent_dataset')
        return
    hosts = [zfs.ZFSHost(ctx.executor, p) for p in parents]
    ok = [h for h in hosts if _check_one_parent(ctx, h)]
    ctx.zfs_hosts = ok
    if len(ok) == len(hosts):
        ctx.zfs = hosts[0]
        ctx.avail = sum(ctx.avails)
        ctx.facts.add('parent dataset')


def _check_one_parent(ctx, host):
    parent = host.parent
    try:
        info = host.parent_info()
    except errors.DatasetNotFound:
        ctx.add('parent dataset', FAIL, '%s does not exist' % parent,
                'On the ZFS host: zfs create %s' % parent)
        return False
    except errors.WrapperRefused as e:
        ctx.add('parent dataset', FAIL, 'the wrapper refused to list '
                '%s: %s' % (parent, e.detail),
                'Add %s to "parents" in the wrapper config.' % parent)
        return False
    if info.get('type') != 'filesystem':
        ctx.add('parent dataset', FAIL, '%s is a %s' % (
            parent, info.get('type')), 'Use a filesystem dataset.')
        return False
    avail = info.get('avail') or 0
    ctx.avails.append(avail)
    status = OK if avail >= MIN_FREE else FAIL
    ctx.add('parent dataset', status, '%s: %s free, %s used'
            % (parent, context.fmt_gib(avail),
               context.fmt_gib(info.get('used'))),
            None if status == OK else 'Free space in the pool or raise '
            'the quota of %s.' % parent)
    return status == OK


def check_round_trip(ctx):
    """What one driver command costs: the parent listing, median of 3."""
    times = []
    for _i in range(3):
        start = time.monotonic()
        ctx.zfs.parent_info()
        times.append((time.monotonic() - start) * 1000)
    ms = statistics.median(times)
    if ms > SLOW_ROUND_TRIP_MS:
        ctx.add('round trip', WARN, '%.0f ms per command (median of 3 '
                'zfs list)' % ms, 'Give the login account a plain '
                '/bin/sh shell without rc files (a .bashrc running e.g. '
                'pyenv init costs ~100 ms a command); check network '
                'latency and load on the ZFS host.')
        return
    ctx.add('round trip', OK, '%.0f ms per command (median of 3 zfs '
            'list)' % ms)


def check_pool(ctx):
    """Each parent's pool is healthy and not nearly full."""
    pools = []
    for parent in zfs.parse_parents(ctx.settings.zol_parent_dataset):
        if parent.split('/')[0] not in pools:
            pools.append(parent.split('/')[0])
    for pool in pools:
        _check_one_pool(ctx, pool)


def _check_one_pool(ctx, pool):
    fields = ('name', 'size', 'alloc', 'free', 'capacity', 'health')
    out, _err = ctx.executor('zpool', 'list', '-H', '-p', '-o',
                             ','.join(fields), pool)
    row = dict(zip(fields, out.strip().split('\t')))
    health = row.get('health', '?')
    try:
        capacity = int(row.get('capacity', '0').rstrip('%'))
    except ValueError:
        capacity = 0
    detail = '%s: %s, %s, %d%% full' % (
        pool, health, context.fmt_gib(int(row.get('size') or 0)), capacity)
    if health in ('FAULTED', 'UNAVAIL', 'SUSPENDED'):
        ctx.add('pool', FAIL, detail, 'zpool status -x %s on the ZFS '
                'host; replace failed devices.' % pool)
    elif health != 'ONLINE':
        ctx.add('pool', WARN, detail, 'zpool status -x %s on the ZFS '
                'host; replace or resilver devices.' % pool)
    elif capacity >= POOL_CAPACITY_FAIL:
        ctx.add('pool', FAIL, detail, 'Free space: ZFS slows down and '
                'may fail writes when a pool is nearly full.')
    elif capacity >= POOL_CAPACITY_WARN:
        ctx.add('pool', WARN, detail, 'Plan more space: ZFS write '
                'performance drops above ~80%% full.')
    else:
        ctx.add('pool', OK, detail)


def check_zvols(ctx):
    """What the backend holds; leftovers of an interrupted write test."""
    vols, hidden, leftovers = [], [], []
    for host in ctx.zfs_hosts or [ctx.zfs]:
        rows = host.space_listing()
        mine = [r for r in rows if r.get('type') == 'volume']
        vols += mine
        hidden += [r for r in mine if zfs.is_hidden(
            host.relative(r['name']) or '')]
        leftovers += [r['name'] for r in mine if (
            host.relative(r['name']) or '').startswith(context.TEST_PREFIX)]
    provisioned = sum(r.get('volsize') or 0 for r in vols)
    where = ('' if len(ctx.zfs_hosts or [1]) < 2 else
             ' in %d parents' % len(ctx.zfs_hosts))
    ctx.add('zvols', INFO, '%d zvols%s (%s provisioned), %d hidden '
            'awaiting collection' % (len(vols), where,
                                     context.fmt_gib(provisioned),
                                     len(hidden)))
    if leftovers:
        ctx.add('zvols', WARN, 'left over by an interrupted write test: '
                '%s' % ', '.join(leftovers), 'On the ZFS host: zfs '
                'destroy <name> (and target-delete its target).')
