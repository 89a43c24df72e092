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

"""The wrapper's target verbs against a real tgtd on 127.0.0.1.

tgtd runs in the foreground with its own control port and its iSCSI portal
on 127.0.0.1:<free port>; a regular file stands in for each zvol (the test
config points ``zvol_root`` at a temporary directory and allows files).
libiscsi's command-line tools log in as initiators, so CHAP, initiator ACLs
and LUN capacity are checked the way a compute node would see them.
"""

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import fixtures
import testtools

from tests.functional import sshd

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# ZOL_WRAPPER: judge another script (a saved older version, say).
WRAPPER = (os.environ.get('ZOL_WRAPPER') or
           os.path.join(REPO, 'tools', 'zfswrapper.sh'))
TGTD = '/usr/sbin/tgtd'
TGTADM = '/usr/sbin/tgtadm'
DASH = shutil.which('dash') or '/bin/sh'
MiB = 1 << 20

IQN = 'iqn.2010-10.org.openstack:volume-f1'
IQN2 = 'iqn.2010-10.org.openstack:volume-f2'
INIT1 = 'iqn.1994-05.com.redhat:compute-1'
INIT2 = 'iqn.1994-05.com.redhat:compute-2'
USER = 'chapuser1'
SECRET = 'S3cretS3cret4567'


def _missing_tools():
    tools = [TGTD, TGTADM, '/usr/bin/iscsi-inq',
             '/usr/bin/iscsi-readcapacity16', '/usr/bin/flock']
    missing = [t for t in tools if not os.path.exists(t)]
    if missing:
        return 'missing %s (apt-get install tgt libiscsi-bin)' % (
            ', '.join(missing))
    if os.geteuid() != 0:
        return 'tgtd needs root'
    return None


def wrapper_config(directory, control):
    """Write a wrapper config for the tgtd on ``control``; its path.

    State, lock, log and the zvol root (regular files allowed) all live
    in ``directory``; zfs and zpool are /bin/true.
    """
    shim = os.path.join(directory, 'tgtadm')
    with open(shim, 'w') as f:
        f.write('#!/bin/sh\nexec %s -C %d "$@"\n' % (TGTADM, control))
    os.chmod(shim, 0o755)
    conf = os.path.join(directory, 'wrapper.conf')
    with open(conf, 'w') as f:
        f.write('parents = tank/cinder\nzfs = /bin/true\n'
                'zpool = /bin/true\ntgtadm = %(d)s/tgtadm\n'
                'statedir = %(d)s/state\nlockfile = %(d)s/lock\n'
                'log = %(d)s/wrapper.log\nzvol_root = %(d)s/zvol\n'
                'zvol_allow_files = yes\nzvol_wait = 2\n' % {'d': directory})
    return conf


def run_wrapper(conf, command, stdin=b''):
    """(rc, stdout, stderr) of the wrapper judging ``command``.

    It is started the way sshd starts a forced command: the request in
    SSH_ORIGINAL_COMMAND, the client in SSH_CONNECTION.
    """
    env = {'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND': command,
           'SSH_CONNECTION': '127.0.0.1 40000 127.0.0.1 22'}
    p = subprocess.run([DASH, WRAPPER, '-c', conf], input=stdin, env=env,
                       capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Tgtd(fixtures.Fixture):
    """A tgtd with its own control port and a portal on 127.0.0.1."""

    def _setUp(self):
        self.dir = tempfile.mkdtemp(prefix='zol-tgtd-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        while True:
            self.control = random.randint(2000, 32000)  # tgtd: <= 32767
            if not os.path.exists('/var/run/tgtd/socket.%d' % self.control):
                break
        self.port = sshd.free_port()
        self.proc = None
        self.addCleanup(self.kill)
        self.start()

    def tgtadm(self, *args):
        return subprocess.run([TGTADM, '-C', str(self.control)] + list(args),
                              capture_output=True, text=True, timeout=30)

    def start(self):
        log = open(os.path.join(self.dir, 'tgtd.log'), 'a')
        self.proc = subprocess.Popen(
            [TGTD, '-f', '-C', str(self.control), '--iscsi',
             'portal=127.0.0.1:%d' % self.port],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(os.path.join(self.dir, 'tgtd.log')) as f:
                    log = f.read()[-800:]
                raise RuntimeError('tgtd exited %s: %s'
                                   % (self.proc.returncode, log))
            p = self.tgtadm('--lld', 'iscsi', '--op', 'show',
                            '--mode', 'target')
            if p.returncode == 0:
                try:
                    socket.create_connection(('127.0.0.1', self.port),
                                             0.5).close()
                    return
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError('tgtd did not come up')

    def kill(self):
        """SIGKILL (a crash: tgtd forgets every target)."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        # A killed tgtd leaves its control socket behind.
        for suffix in ('', '.lock'):
            with contextlib.suppress(FileNotFoundError):
                os.unlink('/var/run/tgtd/socket.%d%s'
                          % (self.control, suffix))


class TestWrapperTgt(testtools.TestCase):

    def setUp(self):
        super().setUp()
        why = _missing_tools()
        if why:
            self.skipTest('real tgtd unavailable: ' + why)
        self.tgtd = self.useFixture(Tgtd())
        self.dir = tempfile.mkdtemp(prefix='zol-wrapper-tgt-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.zvols = os.path.join(self.dir, 'zvol', 'tank', 'cinder')
        os.makedirs(self.zvols)
        self.conf = wrapper_config(self.dir, self.tgtd.control)

    # ------------------------------------------------------------ helpers

    def wrapper(self, command, stdin=b''):
        return run_wrapper(self.conf, command, stdin)

    def ok(self, command, stdin=b''):
        rc, out, err = self.wrapper(command, stdin)
        self.assertEqual(0, rc, '%s: %s%s' % (command, out, err))
        return out

    def zvol(self, name, size=64 * MiB):
        path = os.path.join(self.zvols, name)
        with open(path, 'wb') as f:
            f.truncate(size)
        return path

    def create(self, iqn=IQN, vol='vol1', serial='sn-f1', user=USER,
               secret=SECRET):
        if not os.path.exists(os.path.join(self.zvols, vol)):
            self.zvol(vol)
        cmd = 'target-create %s tank/cinder/%s %s' % (iqn, vol, serial)
        stdin = b''
        if user:
            cmd += ' ' + user
            stdin = (secret + '\n').encode()
        return self.ok(cmd, stdin)

    def url(self, iqn, chap=None):
        auth = '%s%%%s@' % chap if chap else ''
        return 'iscsi://%s127.0.0.1:%d/%s/1' % (auth, self.tgtd.port, iqn)

    def inq(self, iqn, chap=None, initiator=None, *extra):
        argv = ['iscsi-inq']
        if initiator:
            argv += ['-i', initiator]
        argv += list(extra) + [self.url(iqn, chap)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr

    def capacity(self, iqn, chap=None):
        p = subprocess.run(['iscsi-readcapacity16', '-s',
                            self.url(iqn, chap)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(0, p.returncode, p.stdout + p.stderr)
        return int(p.stdout.split()[0])

    def serial(self, iqn, chap=None):
        rc, out = self.inq(iqn, chap, None, '-e', '1', '-c', '128')
        self.assertEqual(0, rc, out)
        return out

    def listing(self):
        out = self.ok('target-list')
        return {line.split()[0]: line for line in out.splitlines()}

    def tgtd_targets(self):
        """{iqn: (tid, LUN 1 path, LUN 1 serial, accounts, ACL)}."""
        show = self.tgtd.tgtadm('--lld', 'iscsi', '--op', 'show',
                                '--mode', 'target').stdout
        targets, t, section, lun = {}, None, None, None
        for line in show.splitlines():
            words = line.split()
            if line.startswith('Target '):
                t = {'tid': words[1].rstrip(':'), 'path': None, 'sn': None,
                     'Account': [], 'ACL': []}
                targets[words[2]] = t
            elif line.startswith('    ') and not line.startswith('     '):
                section = words[0]
            elif section == 'LUN' and words[:1] == ['LUN:']:
                lun = words[1]
            elif section == 'LUN' and lun == '1' and words[:2] == [
                    'SCSI', 'SN:']:
                t['sn'] = words[2]
            elif section == 'LUN' and lun == '1' and words[:3] == [
                    'Backing', 'store', 'path:']:
                t['path'] = words[3]
            elif section in ('Account', 'ACL'):
                t[section].append(words[0])
        return {iqn: (t['tid'], t['path'], t['sn'], t['Account'], t['ACL'])
                for iqn, t in targets.items()}

    def count_tgtadm_calls(self):
        """Record each tgtadm run of the wrapper; a reader of the record."""
        record = os.path.join(self.dir, 'tgtadm.calls')
        with open(os.path.join(self.dir, 'tgtadm'), 'w') as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "$*" >>%s\n'
                    'exec %s -C %d "$@"\n'
                    % (record, TGTADM, self.tgtd.control))

        def calls():
            with open(record) as f:
                return f.read().splitlines()
        return calls

    # -------------------------------------------------------------- tests

    def test_create_then_chap_login_works_and_wrong_secret_fails(self):
        self.assertEqual('tid=1\n', self.create())
        self.assertEqual(0, self.inq(IQN, (USER, SECRET))[0])
        rc, out = self.inq(IQN, (USER, 'WrongSecret12345'))
        self.assertNotEqual(0, rc, out)
        rc, out = self.inq(IQN)
        self.assertNotEqual(0, rc, out)
        self.assertIn('sn-f1', self.serial(IQN, (USER, SECRET)))
        line = self.listing()[IQN]
        self.assertEqual('%s tid=1 lun=%s/vol1 persisted=yes sessions=0'
                         % (IQN, self.zvols), line)
        # idempotent: same tid, nothing changed, login still works
        self.assertEqual('tid=1\n', self.create())
        self.assertEqual(0, self.inq(IQN, (USER, SECRET))[0])

    def test_two_targets_get_the_lowest_free_tids(self):
        # (a CHAP user each: tgtd's accounts are global, and the wrapper
        # refuses one that is bound to another target)
        self.assertEqual('tid=1\n', self.create(IQN, 'vol1'))
        self.assertEqual('tid=2\n', self.create(IQN2, 'vol2', 'sn-f2',
                                                user='chapuser2'))
        self.ok('target-delete %s' % IQN)
        self.assertEqual(
            'tid=1\n', self.create('iqn.2010-10.org.openstack:v3', 'vol3',
                                   'sn-f3', user='chapuser3'))

    def test_chap_secret_change(self):
        self.create()
        self.create(secret='AnotherSecret987')
        self.assertNotEqual(0, self.inq(IQN, (USER, SECRET))[0])
        self.assertEqual(0, self.inq(IQN, (USER, 'AnotherSecret987'))[0])

    def test_allow_and_deny_initiators(self):
        self.create()
        self.ok('target-allow %s %s' % (IQN, INIT1))
        self.assertEqual(0, self.inq(IQN, (USER, SECRET), INIT1)[0])
        self.assertNotEqual(0, self.inq(IQN, (USER, SECRET), INIT2)[0])
        self.ok('target-allow %s %s' % (IQN, INIT2))
        self.assertEqual(0, self.inq(IQN, (USER, SECRET), INIT2)[0])
        self.ok('target-deny %s %s' % (IQN, INIT1))
        self.assertNotEqual(0, self.inq(IQN, (USER, SECRET), INIT1)[0])
        self.assertEqual(0, self.inq(IQN, (USER, SECRET), INIT2)[0])
        self.ok('target-deny %s %s' % (IQN, INIT2))
        self.assertNotEqual(0, self.inq(IQN, (USER, SECRET), INIT2)[0])
        acl = self.tgtd.tgtadm('--lld', 'iscsi', '--op', 'show',
                               '--mode', 'target').stdout
        self.assertNotIn('ALL', acl.split('ACL information:')[1])

    def _hold_session(self, initiator):
        """iscsi-perf as ``initiator``: I/O on one session for a minute."""
        perf = subprocess.Popen(
            ['iscsi-perf', '-i', initiator, '-t', '60', '-m', '4',
             self.url(IQN, (USER, SECRET))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: perf.poll() is None and perf.kill())
        return perf

    def _session_initiators(self):
        show = self.tgtd.tgtadm('--lld', 'iscsi', '--op', 'show',
                                '--mode', 'target').stdout
        return sorted(line.split()[1] for line in show.splitlines()
                      if line.strip().startswith('Initiator:'))

    def test_deny_closes_only_the_denied_initiators_session(self):
        self.create()
        self.ok('target-allow %s %s' % (IQN, INIT1))
        self.ok('target-allow %s %s' % (IQN, INIT2))
        perf1 = self._hold_session(INIT1)
        perf2 = self._hold_session(INIT2)
        deadline = time.monotonic() + 20
        while self._session_initiators() != [INIT1, INIT2]:
            if time.monotonic() > deadline:
                self.skipTest('iscsi-perf did not hold two sessions open')
            time.sleep(0.2)
        self.ok('target-deny %s %s' % (IQN, INIT1))
        # At once, not when INIT1 logs out by itself: and it cannot log in
        # again (iscsi-perf keeps trying to reconnect).
        self.assertEqual([INIT2], self._session_initiators())
        time.sleep(2)
        self.assertEqual([INIT2], self._session_initiators())
        self.assertNotEqual(0, self.inq(IQN, (USER, SECRET), INIT1)[0])
        self.assertIsNone(perf2.poll(), 'the allowed initiator was cut off')
        for perf in (perf1, perf2):
            perf.kill()
            perf.wait()

    def test_resize_online(self):
        self.create()
        path = os.path.join(self.zvols, 'vol1')
        self.assertEqual(64 * MiB, self.capacity(IQN, (USER, SECRET)))
        with open(path, 'r+b') as f:
            f.truncate(96 * MiB)
        # tgtd keeps the size it read when the LUN was added ...
        self.assertEqual(64 * MiB, self.capacity(IQN, (USER, SECRET)))
        self.ok('target-resize %s' % IQN)
        # ... until the wrapper makes it re-open the backing store.
        self.assertEqual(96 * MiB, self.capacity(IQN, (USER, SECRET)))
        self.assertIn('sn-f1', self.serial(IQN, (USER, SECRET)))
        self.assertIn('tid=1 ', self.listing()[IQN])

    def test_restore_after_tgtd_crash(self):
        self.create(IQN, 'vol1')
        self.create(IQN2, 'vol2', 'sn-f2', user=None)
        self.ok('target-allow %s %s' % (IQN2, INIT1))
        self.tgtd.kill()
        self.tgtd.start()
        listing = self.listing()
        self.assertEqual('%s tid=- lun=- persisted=yes sessions=0' % IQN,
                         listing[IQN])
        self.assertNotEqual(0, self.inq(IQN, (USER, SECRET))[0])
        out = self.ok('target-restore')
        self.assertEqual(sorted(['%s restored' % IQN, '%s restored' % IQN2]),
                         sorted(out.splitlines()))
        self.assertEqual(0, self.inq(IQN, (USER, SECRET))[0])
        self.assertNotEqual(0, self.inq(IQN, (USER, 'WrongSecret12345'))[0])
        self.assertEqual(0, self.inq(IQN2, None, INIT1)[0])
        self.assertNotEqual(0, self.inq(IQN2, None, INIT2)[0])
        self.assertIn('sn-f1', self.serial(IQN, (USER, SECRET)))
        self.assertIn('tid=1 ', self.listing()[IQN])
        self.assertIn('tid=2 ', self.listing()[IQN2])
        out = self.ok('target-restore')
        self.assertEqual(sorted(['%s ok' % IQN, '%s ok' % IQN2]),
                         sorted(out.splitlines()))

    def test_restore_of_many_targets_lists_tgtd_once(self):
        """20 targets come back as they were, for one listing of tgtd."""
        iqns = ['iqn.2010-10.org.openstack:volume-r%02d' % i
                for i in range(20)]
        for i, iqn in enumerate(iqns):
            self.create(iqn, 'r%02d' % i, 'sn-r%02d' % i,
                        user='chapr%02d' % i if i % 2 == 0 else None)
            if i % 4 == 1:
                self.ok('target-allow %s %s' % (iqn, INIT1))
            elif i % 4 == 3:
                self.ok('target-allow %s %s' % (iqn, INIT2))
                self.ok('target-allow %s %s' % (iqn, INIT1))
                self.ok('target-deny %s %s' % (iqn, INIT2))
        # tids with a gap, so restore must keep each one, not renumber
        self.ok('target-delete %s' % iqns[5])
        del iqns[5]
        before = self.tgtd_targets()
        self.assertEqual(19, len(before))
        self.assertEqual(('4', '%s/r03' % self.zvols, 'sn-r03', [], [INIT1]),
                         before[iqns[3]])
        self.assertEqual(('5', '%s/r04' % self.zvols, 'sn-r04', ['chapr04'],
                          ['ALL']), before[iqns[4]])
        self.tgtd.kill()
        self.tgtd.start()
        self.assertEqual({}, self.tgtd_targets())
        calls = self.count_tgtadm_calls()
        out = self.ok('target-restore')
        self.assertEqual(['%s restored' % i for i in iqns],
                         sorted(out.splitlines()))
        self.assertEqual(before, self.tgtd_targets())
        shows = [c for c in calls() if '--op show' in c]
        self.assertEqual(1, len(shows), shows)
        # what an initiator sees: CHAP and ACL as before the crash
        self.assertEqual(0, self.inq(iqns[4], ('chapr04', SECRET))[0])
        self.assertNotEqual(0, self.inq(iqns[4], ('chapr04',
                                                  'WrongSecret12345'))[0])
        self.assertIn('sn-r04', self.serial(iqns[4], ('chapr04', SECRET)))
        self.assertEqual(0, self.inq(iqns[3], None, INIT1)[0])
        self.assertNotEqual(0, self.inq(iqns[3], None, INIT2)[0])
        out = self.ok('target-restore')
        self.assertEqual(['%s ok' % i for i in iqns],
                         sorted(out.splitlines()))
        self.assertEqual(before, self.tgtd_targets())

    def test_connected_session_blocks_chap_change_not_delete(self):
        self.create()
        perf = subprocess.Popen(
            ['iscsi-perf', '-t', '60', '-m', '4',
             self.url(IQN, (USER, SECRET))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: perf.poll() is None and perf.kill())
        deadline = time.monotonic() + 20
        while 'sessions=1' not in self.listing()[IQN]:
            if time.monotonic() > deadline or perf.poll() is not None:
                self.skipTest('iscsi-perf did not hold a session open')
            time.sleep(0.2)
        rc, _out, err = self.wrapper(
            'target-create %s tank/cinder/vol1 sn-f1 %s' % (IQN, USER),
            b'ChangedSecret123\n')
        self.assertEqual(1, rc)
        self.assertIn('session', err)
        self.assertEqual(0, self.inq(IQN, (USER, SECRET))[0])
        # I/O keeps commands in flight: a forced delete alone would fail.
        # The initiator still running afterwards shows the delete did not
        # wait for it to stop.
        self.ok('target-delete %s' % IQN)
        self.assertNotIn(IQN, self.listing())
        self.assertIsNone(perf.poll(), 'the initiator gave up by itself')
        show = self.tgtd.tgtadm('--lld', 'iscsi', '--op', 'show',
                                '--mode', 'account').stdout
        self.assertNotIn(USER, show)
        perf.kill()
        perf.wait()

    def test_delete_is_idempotent_and_removes_state(self):
        self.create()
        self.ok('target-delete %s' % IQN)
        self.ok('target-delete %s' % IQN)
        self.assertEqual({}, self.listing())
        self.assertEqual([], os.listdir(os.path.join(self.dir, 'state')))
        self.assertNotEqual(0, self.inq(IQN, (USER, SECRET))[0])

    def test_initiator_name_imitating_a_target_cannot_fool_the_fence(self):
        """A real initiator whose name carries newlines and listing lines.

        libiscsi sends the name as given (-i); tgtd prints it raw, so the
        listing shows an invented "Target 9" that takes INIT1's session,
        listed after it, out of the real target's block (the listing is
        unchanged afterwards: nothing was unbound or closed).  Before issue 15
        target-deny reported success and INIT1 stayed connected; now every
        verb on that target refuses and changes nothing.  (libiscsi sends
        no alias; tgtd prints "alias: none" after the name.)
        """
        self.create()
        # libiscsi cuts a name at 255 bytes: the shortest imitation.
        evil = '\n'.join([
            'iqn.1994-05.org.evil:x', 'Target 9: iqn.2010-10.org.openstack:f',
            '    I_T nexus information:', '        I_T nexus: 9',
            '            Initiator: iqn.1994-05.z:z'])
        self._hold_session(evil)
        self._wait_for_session('iqn.1994-05.org.evil:x')
        self._hold_session(INIT1)
        self._wait_for_session(INIT1)
        show = self.tgtd.tgtadm('--lld', 'iscsi', '--op', 'show',
                                '--mode', 'target').stdout
        self.assertIn('Target 9: iqn.2010-10.org.openstack:f\n', show)
        rc, _out, err = self.wrapper('target-deny %s %s' % (IQN, INIT1))
        self.assertEqual(1, rc, err)
        self.assertIn('ambiguous', err)
        self.assertIn(INIT1, self._session_initiators())
        self.assertEqual(show, self.tgtd.tgtadm(
            '--lld', 'iscsi', '--op', 'show', '--mode', 'target').stdout)
        rc, _out, err = self.wrapper('target-delete %s' % IQN)
        self.assertEqual(1, rc, err)
        self.assertIn('ambiguous', err)
        self.assertIn(IQN, self.tgtd_targets())

    def _wait_for_session(self, name):
        deadline = time.monotonic() + 20
        while name not in self._session_initiators():
            if time.monotonic() > deadline:
                self.skipTest('iscsi-perf did not hold a session as %s'
                              % name)
            time.sleep(0.2)

    def test_raw_show_is_read_only_and_works(self):
        self.create()
        out = self.ok('tgtadm --lld iscsi --op show --mode target')
        self.assertIn('Target 1: %s' % IQN, out)
        self.assertIn('SCSI SN: sn-f1', out)
