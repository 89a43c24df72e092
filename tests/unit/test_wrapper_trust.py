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

"""Issue 15: what may steer tools/zfswrapper.sh besides the key holder.

Initiator-chosen text in tgtd's listing, the config file and the
directories above it, the binaries it names, its state directory, state
files and lock file, CHAP accounts shared between targets, and NUL bytes
in a secret.  Each test here failed against wrapper 1.2.0 as it was before
issue 15 (run with ZOL_WRAPPER=<that script> to see it).
"""

import json
import os
import shutil
import subprocess
import tempfile

from tests.unit import test_wrapper as tw

IQN, IQN2, INIT1, INIT2 = tw.IQN, tw.IQN2, tw.INIT1, tw.INIT2
SECRET = tw.SECRET

OTHER_UID = 4242        # owns nothing on the host: "another local user"
NOBODY = 65534
FAKE = 'iqn.2010-10.org.openstack:fake'


def nexus_text(lines):
    """An initiator name that prints as LINES after its own first line."""
    return 'iqn.1994-05.org.evil:x alias: y\n' + '\n'.join(lines)


class TrustTestCase(tw.WrapperTestCase):

    def create(self, iqn=IQN, vol='v', user='chapuser', secret=SECRET):
        self.w.zvol(vol)
        cmd = 'target-create %s tank/cinder/%s sn-%s' % (iqn, vol, vol)
        stdin = b''
        if user:
            cmd += ' ' + user
            stdin = (secret + '\n').encode()
        return self.w.run(cmd, stdin=stdin)

    def created(self, *args, **kwargs):
        rc, out, err = self.create(*args, **kwargs)
        self.assertEqual(0, rc, out + err)
        return out

    def changes(self):
        """tgtadm calls that change something (not listings)."""
        return [c for c in self.w.calls()
                if c[0] == 'tgtadm' and 'show' not in c]

    def assertFailsClosed(self, command, stdin=b''):
        """Exit 1, "ambiguous", and tgtd exactly as it was."""
        before = self.w.tgtd()
        self.w.reset_calls()
        rc, out, err = self.w.run(command, stdin)
        self.assertEqual(1, rc, '%s: %s%s' % (command, out, err))
        self.assertIn('ambiguous', err)
        self.assertEqual([], self.changes(), command)
        self.assertEqual(before, self.w.tgtd(), command)


class TestListingAmbiguity(TrustTestCase):
    """Text an initiator chose must never change a decision."""

    def setUp(self):
        super().setUp()
        self.created(IQN, 'v')
        self.created(IQN2, 'w', user='chapw')
        for init in (INIT1, INIT2):
            self.assertEqual(0, self.w.run('target-allow %s %s'
                                           % (IQN, init))[0])

    def connect(self, tid, *names):
        t = self.w.tgtd()
        t['targets'][tid]['sessions'] = list(names)
        self.w.set_tgtd(t)

    def test_imitated_target_block_cannot_hide_a_session_from_the_fence(self):
        """The issue's case: INIT1's session moves into an invented target.

        The name closes target 1's block (its LUN, account and ACL
        sections empty), opens "Target 9", and INIT1's real session, listed
        next, lands in it.  Before: target-deny found no session of INIT1
        and reported success while INIT1 stayed connected.
        """
        evil = nexus_text([
            '            Connection: 0', '                IP Address: 1.2.3.4',
            '    LUN information:', '    Account information:',
            '    ACL information:', 'Target 9: ' + FAKE,
            '    System information:', '        Driver: iscsi',
            '        State: ready', '    I_T nexus information:',
            '        I_T nexus: 9', '            Initiator: iqn.1994-05.z:z'])
        self.connect('1', evil, INIT1)
        self.assertFailsClosed('target-deny %s %s' % (IQN, INIT1))
        self.assertEqual([INIT1, INIT2], self.w.tgtd()['targets']['1']['acl'])
        self.assertEqual([evil, INIT1],
                         self.w.tgtd()['targets']['1']['sessions'])
        # and every other verb on that target refuses too
        for command in ('target-allow %s %s' % (IQN, INIT1),
                        'target-delete %s' % IQN, 'target-resize %s' % IQN):
            self.assertFailsClosed(command)
        self.assertFailsClosed('target-create %s tank/cinder/v sn-v chapuser'
                               % IQN, stdin=(SECRET + '\n').encode())

    def test_imitated_target_line_cannot_redirect_a_verb_elsewhere(self):
        """A second "Target 1" naming IQN2: delete IQN2 must not hit tid 1.

        Before: the first block naming IQN2 won, and target-delete IQN2
        deleted tid 1, the target of IQN.
        """
        evil = nexus_text([
            '            Connection: 0', '                IP Address: 1.2.3.4',
            '    LUN information:', '    Account information:',
            '    ACL information:', 'Target 1: ' + IQN2,
            '    System information:', '        Driver: iscsi',
            '        State: ready', '    I_T nexus information:',
            '        I_T nexus: 7', '            Initiator: iqn.1994-05.z:z'])
        self.connect('1', evil)
        self.assertFailsClosed('target-delete %s' % IQN2)
        self.assertEqual({'1': IQN, '2': IQN2}, {
            k: v['iqn'] for k, v in self.w.tgtd()['targets'].items()})
        self.assertFailsClosed('target-deny %s %s' % (IQN, INIT1))

    def test_imitated_nexus_inside_the_block_fails_closed(self):
        """Another nexus header, section header or stray line in I_T."""
        for lines in (
                ['            Connection: 0',
                 '                IP Address: 1.2.3.4',
                 '        I_T nexus: 2',
                 '            Initiator: ' + INIT2],
                ['    LUN information:', '        LUN: 0',
                 '            Initiator: iqn.1994-05.z:z'],
                ['            Connection: 5',
                 '                IP Address: 1.2.3.4',
                 'garbage', '            Initiator: iqn.1994-05.z:z']):
            self.connect('1', INIT1, nexus_text(lines), INIT2)
            self.assertFailsClosed('target-deny %s %s' % (IQN, INIT2))
        # the other target, untouched by any of this, still works
        self.assertEqual(0, self.w.run('target-deny %s %s'
                                       % (IQN2, INIT1))[0])

    def test_odd_but_single_line_names_are_no_ambiguity(self):
        """A name outside the IQN bytes is "?", and decides nothing."""
        self.connect('1', 'not an iqn|2|/dev/sda', INIT1 + '|', INIT1)
        rc, _out, err = self.w.run('target-deny %s %s' % (IQN, INIT1))
        self.assertEqual(0, rc, err)
        self.assertEqual(['not an iqn|2|/dev/sda', INIT1 + '|'],
                         self.w.tgtd()['targets']['1']['sessions'])


# tgtd 1.0.85's own listing (recorded in a private network namespace):
# libiscsi's iscsi-perf logged in to target 1 with the initiator name
# "iqn.1994-05.x:ev alias: y\nTarget 2: iqn.fake\n    System information:".
RECORDED = """\
Target 1: iqn.2010-10.org.openstack:volume-0001
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 2
            Initiator: iqn.1994-05.x:ev alias: y
Target 2: iqn.fake
    System information: alias: none
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
            Type: controller
            SCSI ID: IET     00010000
            SCSI SN: beaf10
            Size: 0 MB, Block size: 1
            Online: Yes
            Removable media: No
            Prevent removal: No
            Readonly: No
            SWP: No
            Thin-provisioning: No
            Backing store type: null
            Backing store path: None
            Backing store flags:{sp}
        LUN: 1
            Type: disk
            SCSI ID: IET     00010001
            SCSI SN: sn-v
            Size: 1 MB, Block size: 512
            Online: Yes
            Removable media: No
            Prevent removal: No
            Readonly: No
            SWP: No
            Thin-provisioning: No
            Backing store type: rdwr
            Backing store path: {dev}
            Backing store flags:{sp}
    Account information:
        chapuser
    ACL information:
        ALL
"""

RECORDED = RECORDED.replace('{sp}', ' ')    # tgtd's trailing blank
RECORDED_CLEAN = RECORDED.replace(
    'Initiator: iqn.1994-05.x:ev alias: y\nTarget 2: iqn.fake\n'
    '    System information: alias: none\n',
    'Initiator: iqn.1994-05.com.redhat:compute-1 alias: none\n')


class TestRecordedListings(TrustTestCase):
    """Whole listings, as tgtd printed them, through the wrapper's parser."""

    def setUp(self):
        super().setUp()
        self.created(IQN, 'v')
        self.dev = os.path.join(self.w.dir, 'zvol', 'tank', 'cinder', 'v')

    def show(self, text):
        t = self.w.tgtd()
        t['show_raw'] = text.replace('{dev}', self.dev)
        self.w.set_tgtd(t)

    def test_recorded_injection_fails_closed(self):
        self.show(RECORDED)
        self.assertFailsClosed('target-deny %s %s' % (IQN, INIT1))
        self.assertFailsClosed('target-delete %s' % IQN)
        self.assertNotIn('iqn.fake', self.w.run('target-list')[1])

    def test_the_same_listing_without_it_is_trusted(self):
        self.show(RECORDED_CLEAN)
        rc, _out, err = self.w.run('target-deny %s %s' % (IQN, INIT2))
        self.assertEqual(0, rc, err)
        self.assertIn('%s tid=1 lun=%s persisted=yes sessions=1'
                      % (IQN, self.dev), self.w.run('target-list')[1])

    def test_ambiguous_shapes(self):
        """Each listing breaks one rule of tgtd's shape (doc: the parser)."""
        clean = RECORDED_CLEAN
        second = ('Target 2: %s\n    System information:\n'
                  '        Driver: iscsi\n        State: ready\n'
                  '    I_T nexus information:\n    LUN information:\n'
                  '    Account information:\n    ACL information:\n')
        for name, text in [
                ('repeated section header', clean.replace(
                    '    Account information:\n',
                    '    Account information:\n    ACL information:\n'
                    '    Account information:\n')),
                ('repeated Target line', clean + clean),
                ('repeated IQN', clean + second.replace('2: %s', '3: %s')
                 % IQN),
                ('repeated tid', clean + second.replace('2: %s', '1: %s')
                 % IQN2),
                ('tids not ascending', second.replace('2: %s', '5: %s')
                 % IQN2 + clean),
                ('stray line', clean.replace('        State: ready\n',
                                             '        State: ready\n'
                                             'hello\n')),
                ('nexus without its connection', clean.replace(
                    '            Connection: 0\n', '')),
                ('repeated nexus', clean.replace(
                    '            Connection: 0\n'
                    '                IP Address: 127.0.0.1\n',
                    '            Connection: 0\n'
                    '                IP Address: 127.0.0.1\n'
                    '        I_T nexus: 2\n'
                    '            Initiator: iqn.1994-05.z:z alias: none\n'
                    '            Connection: 0\n'
                    '                IP Address: 127.0.0.1\n')),
                ('unknown LUN field', clean.replace(
                    '            SWP: No\n', '            SWP: No\n'
                    '            Evil: /dev/sda\n', 1)),
                ('lines before the first target', 'x\n' + clean)]:
            self.show(text)
            self.assertFailsClosed('target-deny %s %s' % (IQN, INIT2))


class TestConfigTrust(TrustTestCase):
    """Whoever can change the config, or a directory above it, owns us."""

    def conf_in(self, directory, mode=0o644, uid=0):
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, 'wrapper.conf')
        shutil.copy(self.w.conf, path)
        os.chmod(path, mode)
        os.chown(path, uid, 0)
        return path

    def assertConfRefused(self, conf):
        rc, _out, err = self.w.run('zfs list -H -p -o name tank/cinder',
                                   conf=conf)
        self.assertEqual(126, rc, err)
        self.assertIn('bad configuration', err)
        self.assertEqual([], self.w.calls())

    def test_config_of_another_owner_or_writable_by_others(self):
        d = os.path.join(self.w.dir, 'etc')
        for mode, uid in ((0o644, OTHER_UID), (0o664, 0), (0o646, 0)):
            self.assertConfRefused(self.conf_in(d, mode, uid))

    def test_config_through_a_symlink(self):
        link = os.path.join(self.w.dir, 'link.conf')
        os.symlink(self.w.conf, link)
        self.assertConfRefused(link)

    def test_directory_above_the_config(self):
        d = os.path.join(self.w.dir, 'open')
        conf = self.conf_in(d)
        for mode, uid in ((0o777, 0), (0o775, 0), (0o755, OTHER_UID)):
            os.chmod(d, mode)
            os.chown(d, uid, 0)
            self.assertConfRefused(conf)
        # root's and sticky, as /tmp: nobody else can rename an entry
        os.chown(d, 0, 0)
        os.chmod(d, 0o1777)
        rc, _out, err = self.w.run('zfs list -H -p -o name tank/cinder',
                                   conf=conf)
        self.assertEqual(0, rc, err)

    def test_non_root_refuses_a_config_it_owns_even_read_only(self):
        """The owner of a 0444 file can chmod it: ownership decides."""
        top = tempfile.mkdtemp(prefix='zol-nonroot-')
        self.addCleanup(shutil.rmtree, top, ignore_errors=True)
        os.chmod(top, 0o755)
        shutil.copytree(self.w.bin, os.path.join(top, 'bin'))
        # The checkout may sit where nobody cannot read (CI clones under
        # /root, 0700): the wrapper and its helper go beside the config.
        wrapper = os.path.join(top, 'zfswrapper.sh')
        shutil.copy(tw.WRAPPER, wrapper)
        shutil.copy(os.path.join(os.path.dirname(tw.WRAPPER),
                                 'zfswrapper-helper.sh'), top)
        os.makedirs(os.path.join(top, 'state'), mode=0o700)
        os.chown(os.path.join(top, 'state'), NOBODY, NOBODY)
        with open(self.w.conf) as f:
            text = f.read().replace(self.w.dir, top)
        conf = os.path.join(top, 'wrapper.conf')
        with open(conf, 'w') as f:
            f.write(text.replace('log = %s/wrapper.log' % top,
                                 'log = %s/state/log' % top))
        os.chown(conf, NOBODY, NOBODY)
        os.chmod(conf, 0o444)
        argv = ['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY,
                '--clear-groups', tw.DASH, wrapper, '-c', conf]
        env = {'PATH': '/usr/bin:/bin',
               'SSH_ORIGINAL_COMMAND': 'zfs list -H -p -o name tank/cinder'}
        p = subprocess.run(argv, env=env, capture_output=True, timeout=60)
        self.assertEqual(126, p.returncode, p.stderr)
        self.assertIn(b'not owned by uid 0', p.stderr)
        # root's and read-only for it: accepted
        os.chown(conf, 0, 0)
        p = subprocess.run(argv, env=env, capture_output=True, timeout=60)
        self.assertEqual(0, p.returncode, p.stderr)

    def test_every_binary_path_is_checked(self):
        for key in ('udevadm', 'logger', 'flock', 'sudo', 'dd'):
            for value in ('relative/bin', '/usr/../bin/true', '/nonexistent',
                          '/bin/./true'):
                self.w.configure(**{key: value})
                self.assertConfRefused(self.w.conf)

    def test_parent_may_not_be_a_pool_root(self):
        self.w.configure(parents='tank')
        self.assertConfRefused(self.w.conf)
        self.w.configure(parents='tank/cinder tank2')
        self.assertConfRefused(self.w.conf)


class TestStateTrust(TrustTestCase):
    """The state directory, its files and the lock are the user's own."""

    def test_statedir_must_be_own_not_open_not_a_symlink(self):
        self.created()
        for change in (lambda d: os.chmod(d, 0o770),
                       lambda d: os.chmod(d, 0o707),
                       lambda d: os.chown(d, OTHER_UID, 0)):
            os.chmod(self.w.statedir, 0o700)
            os.chown(self.w.statedir, 0, 0)
            change(self.w.statedir)
            self.w.reset_calls()
            rc, _out, err = self.create(IQN2, 'w', user='chapw')
            self.assertEqual(1, rc, err)
            self.assertIn('statedir', err)
            self.assertEqual([], self.changes())
        os.chmod(self.w.statedir, 0o700)
        os.chown(self.w.statedir, 0, 0)
        real = self.w.statedir + '.real'
        os.rename(self.w.statedir, real)
        os.symlink(real, self.w.statedir)
        rc, _out, err = self.create(IQN2, 'w', user='chapw')
        self.assertEqual(1, rc, err)
        self.assertIn('symlink', err)

    def test_state_files_of_others_or_through_symlinks_are_not_used(self):
        self.created(IQN, 'v')
        self.created(IQN2, 'w', user='chapw')
        path = os.path.join(self.w.statedir, IQN)
        elsewhere = os.path.join(self.w.dir, 'planted')
        shutil.copy(path, elsewhere)
        for setup in (lambda: os.chmod(path, 0o644),
                      lambda: os.chmod(path, 0o620),
                      lambda: os.chown(path, OTHER_UID, 0),
                      lambda: (os.unlink(path), os.symlink(elsewhere, path))):
            self.w.set_tgtd({'targets': {}, 'accounts': {}})
            setup()
            rc, out, _err = self.w.run('target-restore')
            self.assertEqual(1, rc)
            self.assertEqual(sorted(['%s failed' % IQN,
                                     '%s restored' % IQN2]),
                             sorted(out.splitlines()))
            self.assertEqual([IQN2], [t['iqn'] for t in
                                      self.w.tgtd()['targets'].values()])
            if os.path.islink(path):
                os.unlink(path)
            shutil.copy(elsewhere, path)
            os.chmod(path, 0o600)
            os.chown(path, 0, 0)

    def test_state_file_is_never_written_through_a_symlink(self):
        """A link planted where the wrapper makes its new state file."""
        victim = os.path.join(self.w.dir, 'victim')
        with open(victim, 'w') as f:
            f.write('untouched\n')
        os.makedirs(self.w.statedir, mode=0o700)
        self.w.zvol('v')
        env = {'PATH': '/usr/bin:/bin',
               'SSH_ORIGINAL_COMMAND': 'target-create %s tank/cinder/v sn'
               % IQN}
        # $$ of this shell is the wrapper's $$ once it execs it
        p = subprocess.run(
            [tw.DASH, '-c', 'ln -s "$1" "$2/.new.$$" && exec "$3" "$4" -c '
             '"$5"', 'sh', victim, self.w.statedir, tw.DASH, tw.WRAPPER,
             self.w.conf], env=env, capture_output=True, timeout=60)
        self.assertEqual(0, p.returncode, p.stderr)
        with open(victim) as f:
            self.assertEqual('untouched\n', f.read())
        self.assertFalse(os.path.islink(os.path.join(self.w.statedir, IQN)))

    def test_lock_file_through_a_symlink_or_open_to_others(self):
        self.w.zvol('v')
        lock = os.path.join(self.w.dir, 'lock')
        target = os.path.join(self.w.dir, 'elsewhere')
        open(target, 'w').close()
        os.chmod(target, 0o600)
        os.symlink(target, lock)
        rc, _out, err = self.create()
        self.assertEqual(1, rc, err)
        self.assertIn('lock file', err)
        self.assertEqual([], self.changes())
        os.unlink(lock)
        for mode, uid in ((0o644, 0), (0o600, OTHER_UID)):
            with open(lock, 'w'):
                pass
            os.chmod(lock, mode)
            os.chown(lock, uid, 0)
            rc, _out, err = self.create()
            self.assertEqual(1, rc, err)
            self.assertIn('lock file', err)
            os.unlink(lock)
        self.assertEqual([], self.changes())

    def test_lock_file_another_user_made_first(self):
        """A world-writable sticky directory (/run/lock): refused at once.

        Before, the wrapper opened and waited on whatever file it found.
        """
        d = os.path.join(self.w.dir, 'runlock')
        os.makedirs(d)
        os.chmod(d, 0o1777)
        lock = os.path.join(d, 'cinder-zol.lock')
        self.w.configure(lockfile=lock)
        with open(lock, 'w'):
            pass
        os.chmod(lock, 0o644)
        os.chown(lock, OTHER_UID, 0)
        rc, _out, err = self.create()
        self.assertEqual(1, rc, err)
        self.assertIn('lock file', err)
        self.assertEqual([], self.changes())
        # the wrapper's own, made by itself: used
        os.unlink(lock)
        self.created()
        self.assertEqual((0, 0o100600),
                         (os.lstat(lock).st_uid, os.lstat(lock).st_mode))

    def test_default_lock_file_is_in_the_statedir(self):
        self.w.configure(lockfile=None)
        self.created()
        lock = os.path.join(self.w.statedir, '.lock')
        self.assertEqual(0o100600, os.lstat(lock).st_mode)
        self.assertEqual(0, self.w.run('target-restore')[0])


class TestChapTrust(TrustTestCase):

    def test_user_bound_to_another_target_is_refused(self):
        """tgtd's accounts are global: taking one would unbind it there."""
        self.created(IQN, 'v', user='shared')
        self.w.reset_calls()
        rc, _out, err = self.create(IQN2, 'w', user='shared',
                                    secret='Other-secret-12')
        self.assertEqual(1, rc, err)
        self.assertIn('bound to another target', err)
        t = self.w.tgtd()
        self.assertEqual(['shared'], t['targets']['1']['accounts'])
        self.assertEqual({'shared': SECRET}, t['accounts'])

    def test_account_is_deleted_only_when_no_other_target_uses_it(self):
        self.created(IQN, 'v', user='shared')
        self.created(IQN2, 'w', user=None)
        t = self.w.tgtd()
        t['targets']['2']['accounts'] = ['shared']     # bound by hand
        self.w.set_tgtd(t)
        self.assertEqual(0, self.w.run('target-delete %s' % IQN)[0])
        t = self.w.tgtd()
        self.assertEqual({'shared': SECRET}, t['accounts'])
        self.assertEqual(['shared'], t['targets']['2']['accounts'])

    def test_secret_with_a_nul_byte_or_other_bytes_is_refused(self):
        self.w.zvol('v')
        for secret in (b'Secret\x000123456789', b'\x00Secret0123456789',
                       b'Secret0123456789\x00', b'Secret0123456789\r',
                       b'Secret\xff0123456789', b'Secret 0123456789'):
            line = self.assertRefused(
                'target-create %s tank/cinder/v sn chapuser' % IQN,
                stdin=secret + b'\n')
            self.assertIn('CHAP secret', line)
        self.assertFalse(os.path.exists(self.w.tgt_state))

    def test_secret_is_the_first_line_exactly(self):
        self.assertEqual('tid=1\n', self.created())
        self.assertEqual({'chapuser': SECRET}, self.w.tgtd()['accounts'])
        with open(os.path.join(self.w.statedir, IQN)) as f:
            self.assertIn('chap_secret=%s\n' % SECRET, f.read())


class TestFakeTgtd(tw.WrapperTestCase):
    """The stand-in answers the per-tid question as tgtd does."""

    def test_show_of_one_tid(self):
        self.w.zvol('v')
        self.assertPassed('target-create %s tank/cinder/v sn' % IQN)
        tgtadm = os.path.join(self.w.bin, 'tgtadm')
        ok = subprocess.run([tgtadm, '--lld', 'iscsi', '--op', 'show',
                             '--mode', 'target', '--tid', '1'],
                            capture_output=True, text=True)
        gone = subprocess.run([tgtadm, '--lld', 'iscsi', '--op', 'show',
                               '--mode', 'target', '--tid', '2'],
                              capture_output=True, text=True)
        self.assertEqual((0, 22), (ok.returncode, gone.returncode))
        self.assertIn('MaxRecvDataSegmentLength', ok.stdout)
        self.assertEqual({'1'}, set(json.loads(open(
            self.w.tgt_state).read())['targets']))
