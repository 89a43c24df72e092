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

"""The wrapper as the forced command of a key, through a real OpenSSH sshd.

sshd (tests/functional/sshd.py) listens on 127.0.0.1 with its own config
and host key; the client key's authorized_keys line is
``restrict,command="<wrapper> -c <config>"``, and the login user is the
unprivileged ``zol-test``, as in a non-root deployment.  Stub binaries
record what the wrapper ran (the fake tgtadm of the unit tests stands in
for tgtd).
"""

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile

from oslo_concurrency import processutils
import testtools

from tests.functional import sshd
from tests.unit import test_wrapper as unit
from zol_driver import errors
from zol_driver import image_transfer
from zol_driver import ssh
from zol_driver import zfs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
WRAPPER = os.path.join(REPO, 'tools', 'zfswrapper.sh')
IQN = unit.IQN

# A selection of the unit tests' hostile table, now through real SSH.
HOSTILE = [
    'zfs list -H -p tank/cinder; id', 'zfs list -H -p tank/cinder && id',
    'zfs list -H -p $(id)', 'zfs list -H -p `id`',
    'zfs list -H -p tank/cinder\nid', 'zfs list -H -p tank/cinder | sh',
    'zfs list -H -p tank/cinder > /tmp/x', 'zfs destroy tank/cinder/*',
    'sh', 'bash -i', 'cat /etc/shadow', '/bin/sh -c id', 'scp -t /tmp',
    'rsync --server . /tmp', 'zfs destroy -R tank/cinder/v',
    'zfs create tank/cinder/fs', 'zfs set mountpoint=/ tank/cinder/v',
    'zfs set sharenfs=on tank/cinder/v', 'zfs destroy tank/cinder',
    'zfs create -V 1 rpool/x', 'zpool destroy tank', 'zfs list -H -p',
    'tgtadm --lld iscsi --op delete --mode target --tid 1',
    'target-create %s /dev/sda sn1' % IQN, 'zvol-read /dev/sda',
    'zvol-write tank/cinder/../../../dev/sda',
    'zvol-write-extents /dev/sda', 'zvol-read-extents tank/cinder/v@s',
    'zvol-write-extents tank/cinder/zol-deleted-volume-1',
    # 1.5.0: zvol-read-extents snapshots the judged volume only
    'zvol-read-extents tank/cinder/v@zol-extents-1',
    'zvol-read-extents tank/other/v', 'zvol-read-extents tank/cinder',
    # ZFS streams (issue 19)
    'zvol-send tank/other/v@s', 'zvol-send -R tank/cinder/v@s',
    'zvol-send -i tank/cinder/v@a tank/cinder/w@b',
    'zvol-send-resume 1-abc-de', 'zvol-recv -F tank/cinder/v',
    'zvol-recv -o mountpoint=/etc tank/cinder/v', 'zvol-recv tank/other/v',
    'zvol-recv tank/cinder/v@s', 'zfs receive tank/cinder/v',
    'zfs send tank/cinder/v@s', 'zvol-sum /dev/sda',
    # zvol-recv-incr (1.6.0, issue 20)
    'zvol-recv-incr tank/other/v', 'zvol-recv-incr tank/cinder/v@zol-repl-1',
    'zvol-recv-incr -F tank/cinder/v', 'zvol-recv-incr tank/cinder/v -F',
    'zvol-recv-incr -o readonly=off tank/cinder/v',
    'zvol-recv-incr tank/cinder/zol-deleted-v', 'zvol-recv-incr tank/cinder',
    'zvol-recv-incr tank/cinder/v;id',
]


class TestWrapperThroughSSHD(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('needs root: sshd, a login user and chown')
        if not os.path.exists('/usr/bin/ssh'):
            self.skipTest('OpenSSH client (/usr/bin/ssh) is missing')
        self.dir = tempfile.mkdtemp(prefix='zol-wrapper-sshd-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        os.chmod(self.dir, 0o755)
        self.w = unit.WrapperFixture()
        self.addCleanup(self.w.cleanup)
        self.server = self.useFixture(sshd.SSHServer(
            forced_command='%s -c %s' % (WRAPPER, self.w.conf)))
        self._hand_over(self.server.user)

    def _hand_over(self, user):
        """The wrapper's own files belong to the login user; not config."""
        entry = pwd.getpwnam(user)
        os.chmod(self.w.dir, 0o755)
        for path in (self.w.statedir, self.w.log, self.w.tgt_state,
                     os.path.join(self.w.dir, 'calls'),
                     os.path.join(self.w.dir, 'calls.env.tgtadm'),
                     os.path.join(self.w.dir, 'lock')):
            if not os.path.exists(path):
                if path == self.w.statedir:
                    os.makedirs(path, 0o700)
                else:
                    open(path, 'a').close()
            os.chown(path, entry.pw_uid, entry.pw_gid)
        # nobody but the user may open the lock (the wrapper checks)
        os.chmod(os.path.join(self.w.dir, 'lock'), 0o600)
        for name in ('zfs', 'zpool'):
            env = os.path.join(self.w.dir, 'env.' + name)
            open(env, 'a').close()
            os.chown(env, entry.pw_uid, entry.pw_gid)
        with open(self.w.tgt_state, 'w') as f:
            f.write('{"targets": {}, "accounts": {}}')
        os.chown(self.w.tgt_state, entry.pw_uid, entry.pw_gid)
        os.chown(os.path.join(self.w.dir, 'zvol', 'tank', 'cinder'),
                 entry.pw_uid, entry.pw_gid)
        self.uid = entry.pw_uid

    def ssh(self, command, stdin=b''):
        argv = ['ssh', '-T', '-i', self.server.client_key,
                '-p', str(self.server.port),
                '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
                '-o', 'UserKnownHostsFile=' + self.server.known_hosts,
                '-o', 'GlobalKnownHostsFile=/dev/null',
                '-o', 'StrictHostKeyChecking=yes', '-o', 'LogLevel=ERROR',
                '%s@127.0.0.1' % self.server.user]
        if command is not None:
            argv.append(command)
        p = subprocess.run(argv, input=stdin, capture_output=True,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr.decode()

    def test_allowed_command_runs_as_sent(self):
        rc, _out, err = self.ssh('zfs list -H -p -o name tank/cinder/volume-1')
        self.assertEqual(0, rc, err)
        self.assertEqual([['zfs', 'list', '-H', '-p', '-o', 'name',
                           'tank/cinder/volume-1']], self.w.calls())
        log = self.w.read_log()
        self.assertIn('allowed from 127.0.0.1: zfs list', log)

    def test_wrapper_runs_as_the_unprivileged_user(self):
        rc, _out, err = self.ssh('zfs list -H -p -o name tank/cinder')
        self.assertEqual(0, rc, err)
        st = os.stat(os.path.join(self.w.dir, 'env.zfs'))
        self.assertEqual(self.uid, st.st_uid)

    def test_hostile_commands_are_refused_through_ssh(self):
        for command in HOSTILE:
            rc, out, err = self.ssh(command)
            self.assertEqual(126, rc, command)
            self.assertEqual(b'', out, command)
            self.assertTrue(err.startswith('zfswrapper: refused: '),
                            (command, err))
        self.assertEqual([], self.w.calls())
        self.assertEqual(len(HOSTILE),
                         self.w.read_log().count('refused from 127.0.0.1'))

    def test_interactive_login_is_refused(self):
        rc, _out, err = self.ssh(None)
        self.assertEqual(126, rc)
        self.assertIn('no command', err)

    def test_chap_secret_on_stdin_through_ssh(self):
        self.w.zvol('v')
        os.chown(os.path.join(self.w.dir, 'zvol', 'tank', 'cinder', 'v'),
                 self.uid, -1)
        rc, out, err = self.ssh('target-create %s tank/cinder/v sn1 user1'
                                % IQN, (unit.SECRET + '\n').encode())
        self.assertEqual((0, b'tid=1\n'), (rc, out), err)
        self.assertEqual({'user1': unit.SECRET}, self.w.tgtd()['accounts'])
        self.assertNotIn(unit.SECRET, self.w.read_log())
        rc, out, err = self.ssh('target-list')
        self.assertEqual(0, rc, err)
        self.assertIn(b'persisted=yes', out)

    def test_zvol_streams_through_ssh(self):
        path = self.w.zvol('img', 6 << 20)
        os.chown(path, self.uid, -1)
        data = os.urandom((5 << 20) + 333)
        rc, _out, err = self.ssh('zvol-write tank/cinder/img', data)
        self.assertEqual(0, rc, err)
        rc, out, err = self.ssh('zvol-read tank/cinder/img')
        self.assertEqual(0, rc, err)
        self.assertEqual(6 << 20, len(out))
        self.assertEqual(data, out[:len(data)])

    def test_extent_streams_through_ssh(self):
        """The driver's extent streams both ways, and a hostile one."""
        path = self.w.zvol('img', 6 << 20)
        os.chown(path, self.uid, -1)
        data = os.urandom(70000)
        rc, out, err = self.ssh(
            'zvol-write-extents tank/cinder/img',
            b'D 1048576 70000\n' + data + b'H 0 1048576\nE 2\n')
        self.assertEqual((0, b'records=2\n'), (rc, out), err)
        ex = ssh.SSHExecutor('127.0.0.1', self.server.port, self.server.user,
                             private_key=self.server.client_key,
                             known_hosts_file=self.server.known_hosts)
        self.addCleanup(ex.close)
        with tempfile.TemporaryFile() as got:
            writer = image_transfer.read_zvol(ex, 'tank/cinder/img', got,
                                              6 << 20, extents=True)
            got.seek(0)
            back = got.read()
        self.assertEqual(6 << 20, len(back))
        self.assertEqual(data, back[1 << 20:(1 << 20) + 70000])
        self.assertEqual(70000, len(back.replace(b'\0', b'')) +
                         data.count(b'\0'))
        self.assertEqual(2 * 65536, writer.data)    # two 64 KiB grains
        # beyond the volume: refused before it is applied
        rc, out, err = self.ssh('zvol-write-extents tank/cinder/img',
                                b'D 6291455 2\nzzE 1\n')
        self.assertEqual(1, rc)
        self.assertIn('beyond the volume', err)
        with open(path, 'rb') as f:
            self.assertEqual(b'\0', f.read()[-1:])

    def test_resume_token_on_stdin_is_judged_through_ssh(self):
        for token in (b'tank/cinder/v@s\n', b'1-abc;id\n', b''):
            rc, out, err = self.ssh('zvol-send-resume', token)
            self.assertEqual((126, b''), (rc, out), err)
            self.assertIn('zfswrapper: refused: zvol-send-resume', err)
        self.assertEqual([], self.w.calls())

    def test_incremental_receive_through_ssh(self):
        """zvol-recv-incr: stdin unchanged into zfs receive, never -F.

        A zfs stand-in (the unit tests') that refuses as zfs does a full
        stream into an existing zvol; the real refusals are proven on the
        test bed (tests/functional/test_replication.py).
        """
        unit._write(os.path.join(self.w.bin, 'zfs'),
                    unit.STREAM_ZFS % {'dir': self.w.dir})
        received = os.path.join(self.w.dir, 'received')
        open(received, 'w').close()
        os.chown(received, self.uid, -1)
        unit._write(os.path.join(self.w.dir, 'st.type.tank_cinder_v'),
                    'volume', 0o644)
        stream = os.urandom(300000)
        rc, out, err = self.ssh('zvol-recv-incr tank/cinder/v', stream)
        self.assertEqual((0, b''), (rc, out), err)
        with open(received, 'rb') as f:
            self.assertEqual(stream, f.read())
        self.assertEqual(['zfs', 'receive', '-s', '-u', '-x', 'mountpoint',
                          '-x', 'sharenfs', '-x', 'sharesmb',
                          'tank/cinder/v'], self.w.calls()[-1])
        # zfs refuses (a full stream into the existing replica): its exit
        # code and the wrapper's line come back, nothing else runs
        unit._write(os.path.join(self.w.dir, 'st.rc'), '1', 0o644)
        rc, out, err = self.ssh('zvol-recv-incr tank/cinder/v', stream)
        self.assertEqual((1, b''), (rc, out), err)
        self.assertIn('zvol-recv-incr: tank/cinder/v is unchanged', err)
        self.assertEqual('receive', self.w.calls()[-1][1])
        # a zvol that does not exist: zfs receive never runs
        rc, out, err = self.ssh('zvol-recv-incr tank/cinder/w', stream)
        self.assertEqual(1, rc, err)
        self.assertIn('does not exist', err)
        self.assertNotEqual(['receive'], self.w.calls()[-1][1:2])

    def test_zvol_sum_through_ssh(self):
        path = self.w.zvol('sum', 2 << 20)
        os.chown(path, self.uid, -1)
        with open(path, 'r+b') as f:
            f.write(b'z' * 4096)
        with open(path, 'rb') as f:
            want = hashlib.blake2b(f.read()).hexdigest()
        rc, out, err = self.ssh('zvol-sum tank/cinder/sum')
        self.assertEqual((0, want.encode() + b'\n'), (rc, out), err)

    def test_driver_executor_through_the_wrapper(self):
        ex = ssh.SSHExecutor('127.0.0.1', self.server.port, self.server.user,
                             private_key=self.server.client_key,
                             known_hosts_file=self.server.known_hosts)
        self.addCleanup(ex.close)
        host = zfs.ZFSHost(ex, 'tank/cinder')
        host.create_volume('volume-9', 1 << 30,
                           props={'compression': 'lz4'})
        host.snapshot('volume-9@snapshot-1')
        host.destroy('volume-9', recursive=True)
        self.assertEqual(
            [['zfs', 'create', '-s', '-V', str(1 << 30), '-o',
              'compression=lz4', 'tank/cinder/volume-9'],
             ['zfs', 'snapshot', 'tank/cinder/volume-9@snapshot-1'],
             ['zfs', 'destroy', '-r', 'tank/cinder/volume-9']],
            self.w.calls())
        exc = self.assertRaises(processutils.ProcessExecutionError, ex,
                                'zfs', 'destroy', '-R', 'tank/cinder/x')
        self.assertEqual(errors.WRAPPER_REFUSED, exc.exit_code)
        self.assertIn('refused', exc.stderr)
