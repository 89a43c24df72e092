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

"""The guided tour behind ``tools/demo``: real Cinder, real ZFS, real iSCSI.

Runs inside a private network namespace (tools/demo puts it there). Starts
the ZFS test-bed VM and the all-in-one Cinder with this driver as backend
``zol``, then walks through create, snapshot, clone, attach with an iSCSI
write and read, extend and delete, printing each step with its time.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from tests.functional import cinder_aio  # noqa: E402
from tests.functional import test_cinder_e2e as e2e  # noqa: E402
from tests.functional import testbed  # noqa: E402

GiB = 1024 ** 3


class Tour(object):

    def __init__(self):
        self.t0 = time.monotonic()
        self.n = 0

    def step(self, title, func, *args):
        self.n += 1
        print('[%2d] %-58s' % (self.n, title), end='', flush=True)
        t = time.monotonic()
        result = func(*args)
        print(' %6.1f s' % (time.monotonic() - t), flush=True)
        return result

    def say(self, text):
        print('     %s' % text, flush=True)


def wait(aio, vol_id, status='available'):
    return aio.wait_for_volume(vol_id, status, timeout=600)


def zfs_of(host, names):
    out = host.admin_ok('zfs list -H -p -t volume,snapshot -o name,volsize,'
                        'used -r %s' % host.settings['parent'])
    return [line for line in out.splitlines()
            if any(n in line for n in names)]


def attach(client, aio, vol):
    att = client.attachments.create(vol.id, e2e.CONNECTOR,
                                    instance_id=None, mode='rw')
    client.attachments.complete(att['id'])
    wait(aio, vol.id, 'in-use')
    return att


def detach(client, aio, att, vol):
    client.attachments.delete(att['id'])
    wait(aio, vol.id)


def qemu_io_ok(conn, commands):
    rc, out = e2e.qemu_io(conn, commands)
    if rc or 'fail' in out.lower():
        raise RuntimeError('qemu-io failed: %s' % out)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--keep', action='store_true')
    parser.add_argument('--netns', default=None)
    args = parser.parse_args()
    tour = Tour()

    host = tour.step('start the ZFS host VM (OpenZFS + tgt + sshd)',
                     testbed.get_host)
    tour.say('virtualisation: %s; ssh 127.0.0.1:%s; iSCSI %s'
             % (host.accel, host.settings['port'],
                host.settings['iscsi_portal']))
    aio = cinder_aio.CinderAIOFixture(e2e.backend_conf(host), keep=True)
    tour.step('start Cinder: api, scheduler, volume (+PostgreSQL, RabbitMQ)',
              aio.setUp)
    client = aio.client
    ok = False
    try:
        vtype = client.volume_types.create('zol-thin-lz4')
        vtype.set_keys({'zol:sparse': 'True', 'zol:compression': 'lz4',
                        'volume_backend_name': 'zol'})
        vol = tour.step('create a 1 GiB thin, lz4 volume', lambda: wait(
            aio, client.volumes.create(1, name='tour-vol',
                                       volume_type=vtype.id).id))
        for line in zfs_of(host, [vol.id]):
            tour.say('zfs: ' + line)
        att = tour.step('attach (attachment-create --connect, complete)',
                        attach, client, aio, vol)
        conn = att['connection_info']
        tour.say('target %s on %s, CHAP user %s' % (
            conn['target_iqn'], conn['target_portal'],
            conn.get('auth_username')))
        tour.step('iSCSI login with CHAP, write 1 MiB of 0xab',
                  qemu_io_ok, conn, ['write -P 0xab 0 1M'])
        tour.step('iSCSI read back and verify the pattern',
                  qemu_io_ok, conn, ['read -P 0xab 0 1M'])
        tour.step('detach', detach, client, aio, att, vol)
        snap = tour.step('snapshot the volume', lambda: aio.wait_for_snapshot(
            client.volume_snapshots.create(vol.id, name='tour-snap').id,
            'available', timeout=600))
        big = tour.step('volume from the snapshot, grown to 2 GiB',
                        lambda: wait(aio, client.volumes.create(
                            2, snapshot_id=snap.id, name='tour-from-snap',
                            volume_type=vtype.id).id))
        att2 = attach(client, aio, big)
        tour.step('the new volume holds the pattern (iSCSI read)',
                  qemu_io_ok, att2['connection_info'],
                  ['read -P 0xab 0 1M'])
        detach(client, aio, att2, big)
        clone = tour.step('clone the first volume', lambda: wait(
            aio, client.volumes.create(1, source_volid=vol.id,
                                       name='tour-clone',
                                       volume_type=vtype.id).id))

        def extend():
            client.volumes.extend(vol, 3)
            while client.volumes.get(vol.id).size != 3:
                time.sleep(1)
            return wait(aio, vol.id)
        tour.step('extend the first volume to 3 GiB', extend)
        for line in zfs_of(host, [vol.id, snap.id, big.id, clone.id]):
            tour.say('zfs: ' + line)
        if args.keep:
            ok = True
            return 0

        def delete_all():
            client.volume_snapshots.delete(snap)
            aio.wait_for_snapshot(snap.id, 'deleted', timeout=600)
            for v in (vol, clone, big):  # the origin first, on purpose
                client.volumes.delete(v)
            for v in (vol, clone, big):
                wait(aio, v.id, 'deleted')
        tour.step('delete snapshot, then origin before its clones',
                  delete_all)
        left = zfs_of(host, [vol.id, snap.id, big.id, clone.id])
        tour.say('left on the ZFS host: %s' % (left or 'nothing'))
        ok = not left
        return 0 if ok else 1
    finally:
        total = time.monotonic() - tour.t0
        print('\ntour %s in %.0f s' % ('done' if ok else 'FAILED', total))
        if args.keep:
            ns = 'ip netns exec %s ' % args.netns if args.netns else ''
            cinder = ns + os.path.join(os.path.dirname(sys.executable),
                                       'cinder')
            print('\nLeft running. Try:\n'
                  '  eval "$(%stools/aio/cinder-aio env)"\n'
                  '  %s list\n'
                  '  %s get-pools --detail\n'
                  '  %s snapshot-list\n'
                  '  %stools/testbed/testbed ssh-admin zfs list -r tank\n'
                  'Stop with: %stools/aio/cinder-aio stop; '
                  '%stools/testbed/testbed stop; '
                  'kill $(cat /run/cinder-zol-demo.holder); '
                  'ip netns delete %s'
                  % (ns, cinder, cinder, cinder, ns, ns, ns, args.netns))
        else:
            aio.stop()


if __name__ == '__main__':
    sys.exit(main())
