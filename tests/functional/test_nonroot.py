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

"""The non-root ZFS host of doc/wrapper-install.rst, for real.

In the test-bed guest, ``tools/nonroot-setup.sh`` turns a system user into
the driver's login: the driver key locked to the wrapper, ``zfs allow`` on
its own parent only, sudo for tgtadm only, a udev rule for the zvol device
nodes. The driver then takes volumes through their whole life as that
user, data goes in over ``zvol-write`` and is read back over iSCSI, and the
user, even with a shell, cannot touch a dataset outside its parent nor run
anything else as root. The set-up runs for two parents of the same user
(one ``zfs allow`` and one udev rule each), and the migration engine moves
a zvol from one to the other with the stream verbs as that user: ``zfs
send``/``receive`` by delegation, the resume from the receive token, the
discard of a twice-cut stream, and ``zvol-sum`` reading both devices.
"""

import io
import os
import uuid

from cinder.tests.unit import fake_snapshot
from cinder.tests.unit import fake_volume
from oslo_concurrency import processutils

from tests.functional import test_export
from tests.functional import test_transfer
from zol_driver import replication
from zol_driver import ssh
from zol_driver import transfer
from zol_driver import zfs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SETUP = os.path.join(REPO, 'tools', 'nonroot-setup.sh')
USER = 'cinderzol'
PARENT = 'tank/cinder-nonroot'
PARENT2 = 'tank/cinder-nonroot2'
MiB = 1 << 20
CONF = '/etc/cinder-zol/zfswrapper-nonroot.conf'
STATEDIR = '/var/lib/cinder-zol/targets-nonroot'
LOG = '/var/log/cinder-zol-wrapper-nonroot.log'
GROUP = 'zol_nonroot_functional'
WRAPPER_CONF = """\
parents = %(parent)s %(parent2)s
zfs = /sbin/zfs
zpool = /sbin/zpool
tgtadm = /usr/sbin/tgtadm
dd = /bin/dd
sudo = /usr/bin/sudo
statedir = %(statedir)s
log = %(log)s
zvol_wait = 30
""" % {'parent': PARENT, 'parent2': PARENT2, 'statedir': STATEDIR,
       'log': LOG}


class NonRootHostTest(test_export.ExportTestBase):
    """The export tests' helpers, with a driver that logs in as USER."""

    def setUp(self):
        super().setUp()
        rc, _out, err = self.host.admin('command -v sudo visudo')
        if rc:
            self.skipTest('the test-bed image has no sudo (rebuild it: '
                          'tools/testbed/testbed build): %s' % err.strip())
        with open(SETUP, 'rb') as f:
            self.host.admin_ok('cat > /tmp/nonroot-setup.sh',
                               f.read().decode())
        with open(self.host.driver_key + '.pub') as f:
            self.host.admin_ok('cat > /tmp/driver.pub', f.read())
        self.host.admin_ok('cat > %s && chmod 0644 %s' % (CONF, CONF),
                           WRAPPER_CONF)
        for parent in (PARENT, PARENT2):
            self.host.admin_ok('zfs list %s >/dev/null 2>&1 || zfs create %s'
                               % (parent, parent))
            self.addCleanup(self.host.admin, 'zfs destroy -r %s' % parent)
            out = self.host.admin_ok('sh /tmp/nonroot-setup.sh %s %s '
                                     '/tmp/driver.pub %s'
                                     % (USER, parent, CONF), timeout=300)
            self.assertIn('may now run the wrapper on %s' % parent, out)
        self.use_driver(self.new_executor(), PARENT, GROUP, san_login=USER,
                        use_chap_auth=True)

    def new_executor(self):
        ex = ssh.SSHExecutor(
            self.host.host, port=self.host.port, login=USER,
            private_key=self.host.driver_key,
            known_hosts_file=self.host.known_hosts, strict_host_key=True,
            conn_timeout=20, command_timeout=180)
        self.addCleanup(ex.close)
        return ex

    def as_user(self, command):
        """(rc, out, err) of a shell command run as the user in the guest."""
        return self.host.admin("su -s /bin/sh %s -c '%s'" % (USER, command))

    def test_volume_life_through_the_non_root_user(self):
        vol = fake_volume.fake_volume_obj(self.ctx, id=str(uuid.uuid4()),
                                          size=1)
        self.drv.create_volume(vol)
        snap = fake_snapshot.fake_snapshot_obj(self.ctx, id=str(uuid.uuid4()),
                                               volume=vol, volume_size=1)
        snap.volume_id = vol.id
        self.drv.create_snapshot(snap)
        clone = fake_volume.fake_volume_obj(self.ctx, id=str(uuid.uuid4()),
                                            size=2)
        self.drv.create_volume_from_snapshot(clone, snap)
        self.drv.extend_volume(vol, 2)
        names = self.host.admin_ok('zfs list -H -o name -r %s' % PARENT)
        self.assertIn('%s/volume-%s' % (PARENT, clone.id), names)

        # zvol-write as the user: the udev rule gave it the device node.
        dataset = '%s/volume-%s' % (PARENT, vol.id)
        self.host.admin_ok('udevadm settle -t 60; for i in $(seq 150); do '
                           '[ -b /dev/zvol/%s ] && break; sleep 0.2; done'
                           % dataset)
        self.ex.stream_to(['zvol-write', dataset],
                          io.BytesIO(b'\x5a' * (1 << 20)))

        props = self.export(vol)
        self.assertIO(props, 'read -P 0x5a 0 1M')

        owner = self.host.admin_ok('stat -c %%U %s/%s'
                                   % (STATEDIR, props['target_iqn']))
        self.assertEqual(USER, owner.strip())
        # The lock is the user's own, in the statedir, and only sudo's
        # refusals are logged: the CHAP secret went through sudo's command
        # line (tgtadm --password) but is in no log of the host.
        self.assertEqual('%s 600' % USER, self.host.admin_ok(
            'stat -c "%%U %%a" %s/.lock' % STATEDIR).strip())
        secret = props['auth_password']
        rc, out, _err = self.host.admin(
            '{ journalctl -q --no-pager 2>/dev/null; cat /var/log/auth.log '
            '/var/log/syslog /var/log/sudo.log 2>/dev/null; } | '
            'grep -c -F -- %s' % secret)
        self.assertEqual('0', out.strip())
        rc, _out, _err = self.host.admin('journalctl -q --no-pager -t sudo '
                                         '2>/dev/null | grep -q tgtadm')
        self.assertNotEqual(0, rc, 'sudo logged an allowed tgtadm run')
        self.drv.terminate_connection(vol, {'initiator': test_export.INI})
        self.drv.remove_export(self.ctx, vol)
        self.assertNotIn(props['target_iqn'],
                         self.host.admin_ok('tgtadm --lld iscsi --op show '
                                            '--mode target'))
        self.drv.delete_volume(clone)
        self.drv.delete_snapshot(snap)
        self.drv.delete_volume(vol)
        self.assertEqual(PARENT, self.host.admin_ok(
            'zfs list -H -o name -r -t all %s' % PARENT).strip())

    def test_the_user_cannot_reach_beyond_its_parent(self):
        # ZFS itself says no, even to the user's own shell...
        rc, _out, err = self.as_user('zfs create -V 1M tank/cinder/escape')
        self.assertNotEqual(0, rc)
        self.assertIn('permission denied', err.lower())
        rc, _out, err = self.as_user('zfs destroy -r tank')
        self.assertNotEqual(0, rc)
        # ... sudo grants tgtadm only ...
        rc, _out, err = self.as_user('sudo -n /bin/cat /etc/shadow')
        self.assertNotEqual(0, rc)
        rc, out, err = self.as_user('sudo -n /usr/sbin/tgtadm --lld iscsi '
                                    '--op show --mode sys')
        self.assertEqual(0, rc, err)
        # ... and the key runs the wrapper, which refuses other parents.
        with self.assertRaises(processutils.ProcessExecutionError) as caught:
            self.ex('zfs', 'create', '-V', '1048576', 'tank/cinder/escape')
        self.assertIn('not PARENT/VOL of a configured parent',
                      str(caught.exception))
        self.assertNotIn('escape', self.host.admin_ok('zfs list -H -o name'))

    def test_send_receive_between_parents_as_the_user(self):
        """The migration engine between the user's two parents.

        A cut stream resumes from the token (zvol-send-resume,
        zvol-recv as the user) and is verified by zvol-sum on both
        devices; a stream cut twice is discarded (zvol-recv-abort).
        """
        name = 'volume-nonroot-xfer'
        src_dev = '/dev/zvol/%s/%s' % (PARENT, name)
        self.host.admin_ok(
            'zfs create -s -V %d %s/%s && udevadm settle && dd '
            'if=/dev/urandom of=%s bs=1M count=8 seek=4 conv=fsync '
            'status=none' % (64 * MiB, PARENT, name, src_dev), timeout=300)
        want = self.host.admin_ok('b2sum < %s' % src_dev).split()[0]
        src = zfs.ZFSHost(self.ex, PARENT)
        dst = zfs.ZFSHost(self.new_executor(), PARENT2)

        def state():
            out = self.host.admin_ok('zfs list -H -p -o name,guid,written '
                                     '-t all -r %s %s' % (PARENT, PARENT2))
            return sorted(ln for ln in out.splitlines() if name in ln)

        before = state()
        exc = self.assertRaises(transfer.TransferError, transfer.ZvolTransfer(
            src, dst, fault=test_transfer.cut_after(3 * MiB, 2)).run, name)
        self.assertIn('stream failed', str(exc))
        self.assertEqual(before, state())

        stats = transfer.ZvolTransfer(
            src, dst, fault=test_transfer.cut_after(3 * MiB, 1)).run(name)
        self.assertEqual(1, stats.resumed)
        dst_dev = '/dev/zvol/%s/%s' % (PARENT2, name)
        self.assertEqual(want, self.host.admin_ok(
            'udevadm settle; b2sum < %s' % dst_dev).split()[0])
        # the received zvol's node is the user's too (its parent's rule)
        self.assertEqual('root %s 660' % USER, self.host.admin_ok(
            'stat -L -c "%%U %%G %%a" %s' % dst_dev).strip())
        self.assertEqual(
            ['%s/%s' % (PARENT, name), '%s/%s' % (PARENT2, name)],
            [ln.split('\t')[0] for ln in state()])

    def test_replication_between_parents_as_the_user(self):
        """The replication engine (issue 20) with the delegated rights.

        A seed (properties set, readonly=on), an incremental cut once and
        resumed through zvol-recv-incr, a promote (rollback, readonly=off)
        and the way back (demote, a reverse sync), all as the user.
        """
        name = 'volume-nonroot-repl'
        dev1 = '/dev/zvol/%s/%s' % (PARENT, name)
        dev2 = '/dev/zvol/%s/%s' % (PARENT2, name)
        self.host.admin_ok(
            'zfs create -s -V %d -o zol:cinder_id=r1 %s/%s && udevadm '
            'settle && dd if=/dev/urandom of=%s bs=1M count=4 conv=fsync '
            'status=none' % (24 * MiB, PARENT, name, dev1), timeout=300)
        one = zfs.ZFSHost(self.ex, PARENT)
        two = zfs.ZFSHost(self.new_executor(), PARENT2)
        rep = replication.Replicator(one, two)
        self.assertTrue(replication.supports_replication(self.ex))

        def b2sum(dev):
            return self.host.admin_ok('udevadm settle; b2sum < %s'
                                      % dev).split()[0]

        rep.seed(name)
        self.assertEqual({'readonly': 'on', 'zol:cinder_id': 'r1'},
                         two.get(name, ('readonly', 'zol:cinder_id')))
        self.host.admin_ok('dd if=/dev/urandom of=%s bs=1M count=4 seek=4 '
                           'conv=fsync status=none' % dev1, timeout=300)
        rep._fault = test_transfer.cut_after(2 * MiB)
        self.assertEqual(1, rep.sync(name).resumed)
        synced = b2sum(dev1)
        self.assertEqual(synced, b2sum(dev2))
        self.assertEqual('zol-repl-2', rep.promote(name))
        self.assertEqual('off', two.get(name, ('readonly',))['readonly'])
        self.host.admin_ok('dd if=/dev/urandom of=%s bs=1M count=2 seek=10 '
                           'conv=fsync status=none' % dev2, timeout=300)
        back = replication.Replicator(two, one)
        back.demote(name)
        back.sync(name)
        self.assertEqual(b2sum(dev2), b2sum(dev1))
        self.assertEqual('on', one.get(name, ('readonly',))['readonly'])
