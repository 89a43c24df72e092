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

"""The rules a backend's options must follow, written once.

The driver refuses to start on a failure and logs the warnings;
``cinder-zol-check`` reports every problem with its fix. Both read the
same list, so they can never disagree on what is valid.

No Cinder here (the check tool does not import it): ``conf`` is any object
with the option values as attributes, a Cinder Configuration included.
"""

import collections
import re

from zol_driver import ssh
from zol_driver import zfs

FAIL, WARN = 'fail', 'warn'

# Cinder's own rule for max_over_subscription_ratio (the regex of its
# option; tests/unit/test_check.py keeps them equal), plus its ">= 1".
RATIO_PATTERN = r'^(auto|\d*\.\d+|\d+)$'

MIN_BLOCKSIZE = 4096
MAX_BLOCKSIZE = 131072

# zol_zvol_properties keys: the mutable properties, less compression
# (which has an option of its own).
ZVOL_PROPERTY_KEYS = frozenset(zfs.MUTABLE_PROPS) - {'compression'}

IQN_PREFIXES = ('iqn.', 'eui.', 'naa.')
_LONGEST_NAME = 'volume-' + '0' * 36


class Problem(collections.namedtuple('Problem',
                                     'status option detail fix')):
    """One broken rule: FAIL or WARN, the option, what is wrong, the fix."""

    __slots__ = ()

    @property
    def failed(self):
        return self.status == FAIL


def parse_blocksize(value):
    """'16K' -> 16384: a power of two from 4K to 128K; else ValueError."""
    try:
        size = zfs.parse_size(value)
    except ValueError:
        size = 0
    if size < MIN_BLOCKSIZE or size > MAX_BLOCKSIZE or size & (size - 1):
        raise ValueError('volblocksize %s is not a power of two from 4K to '
                         '128K' % value)
    return size


def valid_ratio(value):
    """max_over_subscription_ratio as cinder-volume accepts it."""
    text = str(value)
    if not re.match(RATIO_PATTERN, text):
        return False
    return text == 'auto' or float(text) >= 1


def problems(conf):
    """Every Problem of the options in conf: SSH, ZFS, then target."""
    return ssh_problems(conf) + zfs_problems(conf) + target_problems(conf)


def ssh_problems(conf):
    found = []
    if not conf.san_ip:
        found.append(Problem(FAIL, 'san_ip', 'san_ip is not set',
                             'Set san_ip to the ZFS host\'s address.'))
    if not conf.san_private_key and not conf.san_password:
        found.append(Problem(
            FAIL, 'san_private_key', 'neither san_private_key nor '
            'san_password is set', 'Set san_private_key to the driver\'s '
            'private key (doc/deployment.rst).'))
    elif conf.san_password:
        found.append(Problem(
            WARN, 'san_password', 'san_password is set: a password login '
            'is not confined to the wrapper (only a key line in '
            'authorized_keys can force the command)', 'Use san_private_key '
            'with a restricted authorized_keys line and remove '
            'san_password.'))
    if conf.ssh_min_pool_conn > conf.ssh_max_pool_conn:
        found.append(Problem(
            WARN, 'ssh_min_pool_conn', 'ssh_min_pool_conn (%d) > '
            'ssh_max_pool_conn (%d)' % (conf.ssh_min_pool_conn,
                                        conf.ssh_max_pool_conn),
            'Lower ssh_min_pool_conn.'))
    if not conf.zol_ssh_strict_host_key:
        found.append(Problem(
            WARN, 'zol_ssh_strict_host_key', 'zol_ssh_strict_host_key = '
            'False: an unknown host key is trusted on first use',
            'Pin the host key in %s and set zol_ssh_strict_host_key = True.'
            % conf.zol_ssh_known_hosts_file))
    return found


def zfs_problems(conf):
    """Parent, zvol properties and ratio: what ZFS or Cinder would refuse.

    The parent may not be a pool's root dataset: Cinder would then share
    the pool's namespace and free space with everything else on it, and
    hidden zvols of deleted volumes would sit beside the operator's own
    datasets.
    """
    found = parent_problems(conf.zol_parent_dataset)
    if conf.zol_volblocksize:
        try:
            parse_blocksize(conf.zol_volblocksize)
        except ValueError:
            found.append(Problem(
                FAIL, 'zol_volblocksize', 'zol_volblocksize %r is not a '
                'power of two from 4K to 128K' % conf.zol_volblocksize,
                'Use e.g. 16K (doc/deployment.rst, "volblocksize").'))
    if conf.zol_compression and not zfs.valid_value(conf.zol_compression):
        found.append(Problem(
            FAIL, 'zol_compression', 'zol_compression %r has characters '
            'ZFS and the wrapper refuse' % conf.zol_compression,
            'Use e.g. lz4, zstd or off.'))
    allowed = sorted(ZVOL_PROPERTY_KEYS)
    for key, value in sorted((conf.zol_zvol_properties or {}).items()):
        if key not in ZVOL_PROPERTY_KEYS or not zfs.valid_value(value):
            found.append(Problem(
                FAIL, 'zol_zvol_properties', 'zol_zvol_properties: %s:%s '
                'is not allowed' % (key, value), 'Allowed keys: %s '
                '(compression has its own option).' % ', '.join(allowed)))
    if not valid_ratio(conf.max_over_subscription_ratio):
        found.append(Problem(
            FAIL, 'max_over_subscription_ratio', 'max_over_subscription_'
            'ratio %r is neither "auto" nor a number >= 1'
            % str(conf.max_over_subscription_ratio),
            'Use e.g. 20.0 or auto.'))
    return found


def parent_problems(value):
    """zol_parent_dataset: one or more parents, each a pool's child.

    Several parents (comma separated) are several Cinder pools of one
    backend; none may be listed twice or lie inside another (its zvols
    would show up in the other's listing).
    """
    parents = zfs.parse_parents(value)
    if not parents:
        return [Problem(
            FAIL, 'zol_parent_dataset', 'zol_parent_dataset is empty',
            'Use a dataset such as tank/cinder.')]
    found = []
    for parent in parents:
        if not zfs.valid_parent(parent):
            found.append(Problem(
                FAIL, 'zol_parent_dataset', 'zol_parent_dataset %r is not a '
                'valid dataset name' % parent, 'Use a dataset such as '
                'tank/cinder (letters, digits, _ . : - and /).'))
        elif '/' not in parent:
            found.append(Problem(
                FAIL, 'zol_parent_dataset', 'zol_parent_dataset %s is a '
                'pool root' % parent, 'Use a dedicated child dataset, e.g. '
                'zfs create %s/cinder.' % parent))
    for i, parent in enumerate(parents):
        for other in parents[:i]:
            if parent == other:
                found.append(Problem(
                    FAIL, 'zol_parent_dataset', 'zol_parent_dataset lists '
                    '%s twice' % parent, 'List each parent once.'))
            elif (parent.startswith(other + '/') or
                  other.startswith(parent + '/')):
                found.append(Problem(
                    FAIL, 'zol_parent_dataset', 'zol_parent_dataset: %s '
                    'and %s are nested' % (other, parent),
                    'Use parents that do not contain each other, e.g. '
                    'tank/cinder and tank/cinder-ssd.'))
    return found


def target_problems(conf):
    """IQNs made from target_prefix must pass the wrapper."""
    prefix = conf.target_prefix or ''
    iqn = prefix + _LONGEST_NAME
    if not prefix.startswith(IQN_PREFIXES):
        return [Problem(FAIL, 'target_prefix', 'target_prefix %r is not an '
                        'IQN prefix' % conf.target_prefix,
                        'Use e.g. iqn.2010-10.org.openstack:')]
    if not ssh.SAFE_WORD.match(iqn) or len(iqn) > ssh.MAX_WORD:
        return [Problem(FAIL, 'target_prefix', 'target_prefix %r makes IQNs '
                        'the wrapper refuses' % conf.target_prefix,
                        'Use only letters, digits and . : - in at most %d '
                        'characters.' % (ssh.MAX_WORD - len(_LONGEST_NAME)))]
    return []
