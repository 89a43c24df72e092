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

"""The replication target: Cinder's ``replication_device`` option, read.

One device is supported: ``backend_id``, ``san_ip`` and
``zol_parent_dataset`` are required; ``san_login``, ``san_private_key``,
``san_password``, ``san_ssh_port`` and ``zol_ssh_known_hosts_file`` default
to the backend's own; ``target_ip_address`` defaults to the device's
``san_ip`` (never to the primary's portal), ``target_port`` to the
backend's. The device's parents (space
separated: the option's own syntax takes the commas) pair with the
backend's by position, one per Cinder pool.

The result is a SiteConf: the backend's options with the device's on top,
which the SSH executor, ZFSHost, TgtTargets and the set-up rules of
validation.py read like the backend's own options. The rules here are
shared by the driver (set-up refused on a failure) and cinder-zol-check.

No Cinder here (the check tool does not import it).
"""

from zol_driver import tgt
from zol_driver import validation
from zol_driver import zfs

FAIL, WARN = validation.FAIL, validation.WARN
Problem = validation.Problem

OPTION = 'replication_device'
REQUIRED = ('backend_id', 'san_ip', 'zol_parent_dataset')
OPTIONAL = ('san_login', 'san_private_key', 'san_password', 'san_ssh_port',
            'target_ip_address', 'target_port', 'zol_ssh_known_hosts_file')
PORTS = ('san_ssh_port', 'target_port')
# Cinder's word for "back to the primary" (secondary_id of a fail-back).
FAILBACK_ID = 'default'


def _get(conf, name):
    getter = getattr(conf, 'safe_get', None)
    return getter(name) if getter else getattr(conf, name, None)


def devices(conf):
    """The replication_device entries of a backend (dicts), maybe none."""
    return [dict(d) for d in (_get(conf, OPTION) or []) if d is not None]


class SiteConf(object):
    """The backend's options with one replication_device's on top.

    Attribute access and ``safe_get`` like a Cinder Configuration; the
    CHAP choice is the backend's (``use_chap_auth`` is pinned to what the
    backend decided, tgt.chap_wanted) and the portal is the device's.
    """

    def __init__(self, base, device):
        over = {k: v for k, v in device.items() if k in OPTIONAL + REQUIRED}
        for name in PORTS:
            if name in over:
                over[name] = int(over[name])
        over.setdefault('target_ip_address', over['san_ip'])
        over['use_chap_auth'] = tgt.chap_wanted(base)
        self.__dict__['_base'] = base
        self.__dict__['_over'] = over
        # tgt._explicit: the device's portal and the pinned CHAP choice
        # are explicit; everything else is judged as the backend's.
        self.__dict__['explicit'] = set(over) | set(
            getattr(base, 'explicit', None) or ())

    @property
    def backend_id(self):
        return self._over['backend_id']

    def __getattr__(self, name):
        over = self.__dict__['_over']
        if name in over:
            return over[name]
        return getattr(self.__dict__['_base'], name)

    def safe_get(self, name):
        if name in self._over:
            return self._over[name]
        return _get(self._base, name)


def load(conf):
    """(SiteConf or None, [Problem]) of the backend's replication_device.

    None with no problems: replication is not configured. None with
    problems: configured, but wrong (a failure stops the set-up).
    """
    found = devices(conf)
    if not found:
        return None, []
    if len(found) > 1:
        return None, [Problem(
            FAIL, OPTION, '%d replication_device entries (backend_ids %s): '
            'cinder-zol replicates to one ZFS host' % (
                len(found), ', '.join(str(d.get('backend_id')) for d in
                                      found)),
            'Keep one replication_device line in the backend section.')]
    device = found[0]
    problems = _device_problems(conf, device)
    if any(p.failed for p in problems):
        return None, problems
    site = SiteConf(conf, device)
    prefix = 'replication_device %s: ' % site.backend_id
    for p in validation.ssh_problems(site):
        problems.append(p._replace(option=OPTION,
                                   detail=prefix + p.detail))
    if any(p.failed for p in problems):
        return None, problems
    return site, problems


def _device_problems(conf, device):
    found = []
    missing = [k for k in REQUIRED if not device.get(k)]
    if missing:
        found.append(Problem(
            FAIL, OPTION, 'replication_device lacks %s' % ', '.join(missing),
            'Write replication_device = backend_id:NAME, san_ip:ADDRESS, '
            'zol_parent_dataset:POOL/DATASET[, san_login:..., '
            'san_private_key:..., san_ssh_port:..., target_ip_address:..., '
            'target_port:..., zol_ssh_known_hosts_file:...] '
            '(doc/replication.rst).'))
    unknown = sorted(set(device) - set(REQUIRED + OPTIONAL))
    if unknown:
        found.append(Problem(
            FAIL, OPTION, 'replication_device has unknown key(s) %s'
            % ', '.join(unknown), 'Allowed keys: %s.'
            % ', '.join(REQUIRED + OPTIONAL)))
    if missing:
        return found
    backend_id = device['backend_id']
    if backend_id == FAILBACK_ID or not zfs.valid_child(backend_id):
        found.append(Problem(
            FAIL, OPTION, 'replication_device backend_id %r is %s'
            % (backend_id, 'Cinder\'s word for the primary'
               if backend_id == FAILBACK_ID else 'not a plain name'),
            'Name the secondary with letters, digits and _ . : - '
            '(e.g. backend_id:zfs-dr).'))
    for name, default in zip(PORTS, ('22', '3260')):
        value = str(device.get(name, default))
        if not value.isdigit() or not 0 < int(value) < 65536:
            found.append(Problem(
                FAIL, OPTION, 'replication_device %s %r is not a port '
                'number' % (name, value),
                'Use e.g. %s:%s.' % (name, default)))
    port = str(device.get('san_ssh_port', '22'))
    parents = zfs.parse_parents(device['zol_parent_dataset'])
    for p in validation.parent_problems(device['zol_parent_dataset']):
        found.append(p._replace(option=OPTION,
                                detail='replication_device: ' + p.detail))
    mine = zfs.parse_parents(_get(conf, 'zol_parent_dataset'))
    if parents and len(parents) != len(mine):
        found.append(Problem(
            FAIL, OPTION, 'replication_device names %d parent(s) (%s) for '
            'this backend\'s %d (%s)' % (len(parents), ' '.join(parents),
                                         len(mine), ', '.join(mine)),
            'Give one secondary parent per zol_parent_dataset, in the same '
            'order, separated by spaces.'))
    same_host = (device['san_ip'] == _get(conf, 'san_ip') and
                 port == str(_get(conf, 'san_ssh_port') or 22))
    if same_host and set(parents) & set(mine):
        found.append(Problem(
            FAIL, OPTION, 'replication_device replicates into this '
            'backend\'s own parent (%s on %s)' % (
                ', '.join(sorted(set(parents) & set(mine))),
                device['san_ip']),
            'Use another ZFS host, or at least another parent dataset.'))
    return found
