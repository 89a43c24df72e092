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

"""The Cinder pools of one backend: one per parent dataset.

One parent: one pool named after the backend, as always. Several parents:
one pool per parent, named after its dataset (stable: adding a parent
renames no other pool). A volume lives in its pool's parent; a ZFS clone
or one atomic group command cannot cross parents, so those are refused
here by name before anything runs.
"""

import collections

from oslo_log import log as logging

from cinder import exception
from cinder.i18n import _
from cinder.volume import volume_utils

LOG = logging.getLogger(__name__)


class Pools(object):
    """{Cinder pool name: ZFSHost of its parent}, in option order."""

    def __init__(self, hosts, backend_name, names=None):
        """names: the pools' names, one per host (several parents only).

        A replication target's parents serve the pools of the backend's
        own parents (named after those), so its Pools takes their names.
        """
        self.first = hosts[0]
        self.several = len(hosts) > 1
        self.backend_name = backend_name
        names = list(names or [h.parent for h in hosts])
        self.by_name = collections.OrderedDict(
            zip(names, hosts) if self.several
            else [(backend_name, self.first)])

    def of_volume(self, volume):
        """The ZFSHost of the volume's pool (its parent dataset).

        With several parents, a volume whose host names no pool, or names
        the backend (created before a second parent was added), is in the
        first parent. Any other unknown pool is refused by name.
        """
        if not self.several:
            return self.first
        pool = (volume_utils.extract_host(volume.host, 'pool')
                if volume.host else None)
        if pool in self.by_name:
            return self.by_name[pool]
        if pool in (None, self.backend_name):
            return self.first
        msg = (_('volume %(id)s is in pool %(pool)s, which is none of this '
                 'backend\'s pools (%(pools)s): was its parent dataset '
                 'removed from zol_parent_dataset?')
               % {'id': volume.id, 'pool': pool,
                  'pools': ', '.join(self.by_name)})
        LOG.error(msg)
        raise exception.VolumeBackendAPIException(data=msg)

    def of_snapshot(self, snapshot):
        """The ZFSHost of a snapshot's volume."""
        if not self.several:
            return self.first
        return self.of_volume(snapshot.volume)

    def parent_of(self, volume):
        return self.of_volume(volume).parent

    def named(self, pool):
        """The ZFSHost of a pool name, or None (several parents only)."""
        return self.by_name.get(pool) if self.several else None

    def same_parent(self, volume, src_zfs, what):
        """The volume's ZFSHost, which must be the source's (a ZFS clone).

        ZFS clones stay in their pool; across this backend's parents the
        volume must be copied (migrated), which is not a clone's job.
        """
        dst = self.of_volume(volume)
        if dst is not src_zfs:
            msg = (_('volume %(id)s would be made in %(dst)s from %(what)s '
                     'in %(src)s: a ZFS clone cannot change its parent '
                     'dataset. Create it in the source\'s pool (Cinder '
                     'does so unless snapshot_same_host = False), then '
                     'migrate it.')
                   % {'id': volume.id, 'dst': dst.parent, 'what': what,
                      'src': src_zfs.parent})
            LOG.error(msg)
            raise exception.VolumeBackendAPIException(data=msg)
        return dst

    def one_parent(self, objs, get_zfs, what):
        """The one ZFSHost of volumes or snapshots, or a clear error."""
        hosts = {id(h): h for h in (get_zfs(o) for o in objs)}
        if len(hosts) > 1:
            msg = (_('%(what)s spans several pools of this backend (%(p)s): '
                     'one atomic ZFS command needs them under one parent')
                   % {'what': what, 'p': ', '.join(
                       sorted(h.parent for h in hosts.values()))})
            LOG.error(msg)
            raise exception.VolumeBackendAPIException(data=msg)
        return next(iter(hosts.values()), self.first)
