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

"""cinder-zol-check against a fake ZFS host (no network, no SSH)."""

import io
import json
import os

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization
import fixtures
from oslo_concurrency import processutils
import paramiko
import testtools

from zol_driver import check
from zol_driver import errors

PARENT = 'tank/cinder'
PREFIX = 'iqn.2010-10.org.openstack:'


def _openssh_key(passphrase=None):
    key = ed25519.Ed25519PrivateKey.generate()
    enc = (serialization.BestAvailableEncryption(passphrase)
           if passphrase else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.OpenSSH, enc)


def _paramiko_key():
    return paramiko.Ed25519Key(file_obj=io.StringIO(
        _openssh_key().decode()))


class FakeHost(object):
    """The wrapper's side of the protocol, enough for the check."""

    def __init__(self):
        self.log = []
        self.parent = True
        self.missing = set()       # parents that do not exist
        self.health = 'ONLINE'
        self.capacity = 40
        self.avail = 500 * 1024 ** 3
        self.tgtd = True
        self.confined = True
        self.pool_listable = False
        self.zvols = {}
        self.targets = {}          # iqn -> (tid, persisted)
        self.fail_on = None
        self.secrets = []
        self.closed = False
        self.wrapper = '1.2.0'

    def close(self):
        self.closed = True

    def __call__(self, *argv, check_exit_code=True, process_input=None,
                 deadline=None):
        self.log.append(' '.join(argv))
        if self.fail_on and self.fail_on in argv:
            return self._exit(1, '', 'boom: %s' % self.fail_on, argv,
                              check_exit_code)
        code, out, err = self._answer(list(argv), process_input)
        return self._exit(code, out, err, argv, check_exit_code)

    @staticmethod
    def _exit(code, out, err, argv, check_exit_code):
        ok = [0] if check_exit_code is True else check_exit_code
        if ok and code not in ok:
            raise processutils.ProcessExecutionError(
                stdout=out, stderr=err, exit_code=code, cmd=' '.join(argv))
        return out, err

    def _answer(self, argv, stdin):
        if not self.confined:
            return 0, 'uid=0(root)\n' if argv == ['id'] else '', ''
        verb = argv[0]
        if verb == 'version':
            return 0, ('zfswrapper %s\nzfs-2.1.11-1\nzfs-kmod-2.1.11-1\n'
                       'tgtadm 1.0.85\n' % self.wrapper), ''
        if verb == 'zfs':
            return self._zfs(argv[1:])
        if verb == 'zpool':
            return 0, 'tank\t%d\t1\t1\t%d\t%s\n' % (
                1024 ** 4, self.capacity, self.health), ''
        if verb == 'tgtadm':
            if not self.tgtd:
                return 107, '', ('tgtadm: failed to send request hdr to tgt '
                                 'daemon, Transport endpoint is not '
                                 'connected')
            return 0, ''.join('Target %d: %s\n' % (t[0], iqn) for iqn, t in
                              self.targets.items() if t[0]), ''
        return self._target(verb, argv[1:], stdin)

    def _zfs(self, args):
        sub, target = args[0], args[-1]
        if sub == 'list' and target == 'tank':
            if self.pool_listable:
                return 0, 'tank\n', ''
            return 126, '', 'zfswrapper: refused: outside parents'
        if sub == 'list' and '-d' in args:
            rows = ['%s\tfilesystem\t1\t%d' % (PARENT, self.avail) +
                    '\t-' * 7]
            for name, size in sorted(self.zvols.items()):
                rows.append('%s/%s\tvolume\t1\t1\t%d' % (PARENT, name, size) +
                            '\t-' * 6)
            return 0, '\n'.join(rows) + '\n', ''
        if sub == 'list':
            if not self.parent or target in self.missing:
                return 1, '', ("cannot open '%s': dataset does not exist"
                               % target)
            return 0, '%s\tfilesystem\t1000\t%d\n' % (PARENT, self.avail), ''
        if sub == 'create':
            self.zvols[target.split('/')[-1]] = int(args[args.index('-V')
                                                         + 1])
            return 0, '', ''
        if sub == 'destroy':
            self.zvols.pop(target.split('/')[-1], None)
            return 0, '', ''
        return 126, '', 'zfswrapper: refused: zfs %s' % sub

    def _target(self, verb, args, stdin):
        if verb == 'target-list':
            return 0, ''.join(
                '%s tid=%s lun=- persisted=%s sessions=0\n'
                % (iqn, t[0] or '-', 'yes' if t[1] else 'no')
                for iqn, t in sorted(self.targets.items())), ''
        if verb == 'target-create':
            if len(args) == 4:
                self.secrets.append(stdin)
            self.targets[args[0]] = (len(self.targets) + 1, True)
            return 0, 'tid=%d\n' % len(self.targets), ''
        if verb == 'target-delete':
            self.targets.pop(args[0], None)
            return 0, '', ''
        return 126, '', 'zfswrapper: refused: unknown verb %s' % verb


class CheckBase(testtools.TestCase):
    """A fake ZFS host, a key, a pinned host key, a cinder.conf."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.host = FakeHost()
        self.host_key = _paramiko_key()
        self.key = os.path.join(self.dir, 'id')
        self._write(self.key, _openssh_key(), 0o600)
        self.known_hosts = os.path.join(self.dir, 'known_hosts')
        self._pin(self.host_key)
        self.probes = []
        self.useFixture(fixtures.MonkeyPatch(
            'zol_driver.checks.login.tcp_probe', self._tcp_probe))
        self.useFixture(fixtures.MonkeyPatch(
            'zol_driver.checks.login.server_host_key',
            lambda *a: self.host_key))
        self.closed_ports = set()
        self.options = {}

    def _write(self, path, data, mode=0o644):
        with open(path, 'wb') as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        os.chmod(path, mode)

    def _pin(self, key):
        keys = paramiko.HostKeys()
        keys.add('zfs1.example.org', key.get_name(), key)
        keys.save(self.known_hosts)

    def _tcp_probe(self, host, port, timeout):
        self.probes.append((host, port))
        if port in self.closed_ports:
            raise ConnectionRefusedError(111, 'Connection refused')
        return 0.5

    def _conf(self, extra='', backend='zfs1', driver=check.DRIVER):
        lines = {
            'volume_driver': driver,
            'volume_backend_name': backend,
            'san_ip': 'zfs1.example.org',
            'san_login': 'cinder',
            'san_private_key': self.key,
            'zol_ssh_known_hosts_file': self.known_hosts,
            'zol_parent_dataset': PARENT,
            'target_ip_address': '192.0.2.10',
        }
        lines.update(self.options)
        body = '\n'.join('%s = %s' % kv for kv in lines.items()
                         if kv[1] is not None)
        path = os.path.join(self.dir, 'cinder.conf')
        self._write(path, '[DEFAULT]\nenabled_backends = %s\n\n[%s]\n%s\n%s\n'
                    % (backend, backend, body, extra))
        return path

    def run_check(self, *args, extra=''):
        out = io.StringIO()
        argv = ['--config-file', self._conf(extra)] + list(args)
        rc = check.main(argv, stdout=out,
                        executor_factory=lambda *a: self.host)
        return rc, out.getvalue()

    def results(self, *args, extra=''):
        rc, out = self.run_check('--json', *args, extra=extra)
        doc = json.loads(out)
        return rc, doc['backends'][0]['checks']

    def status(self, checks, name):
        return [c['status'] for c in checks if c['check'] == name]

    def detail(self, checks, name):
        return ' | '.join(c['detail'] + ' ' + str(c['fix'])
                          for c in checks if c['check'] == name)


class CheckTestCase(CheckBase):

    def test_ready_backend_passes_and_changes_nothing(self):
        rc, checks = self.results()
        self.assertEqual(0, rc, checks)
        bad = [c for c in checks if c['status'] in ('fail', 'warn', 'skip')]
        self.assertEqual([], bad)
        for word in ('create', 'destroy', 'target-create', 'target-delete'):
            self.assertFalse([c for c in self.host.log if word in c.split()],
                             self.host.log)
        self.assertEqual(['id'], [c for c in self.host.log if c == 'id'])
        self.assertTrue(self.host.closed)
        self.assertIn(('192.0.2.10', 3260), self.probes)

    def test_each_of_several_parents_is_checked(self):
        self.options['zol_parent_dataset'] = '%s, tank/cinder2' % PARENT
        rc, checks = self.results()
        self.assertEqual(0, rc, checks)
        self.assertEqual(['ok', 'ok'], self.status(checks, 'parent dataset'))
        self.assertIn('tank/cinder2:', self.detail(checks, 'parent dataset'))
        self.assertIn('in 2 parents', self.detail(checks, 'zvols'))
        # both parents are in pool tank: one zpool list
        self.assertEqual(1, len([c for c in self.host.log
                                 if c.startswith('zpool list')]))
        self.host.missing.add('tank/cinder2')
        rc, checks = self.results()
        self.assertNotEqual(0, rc)
        self.assertEqual(['ok', 'fail'],
                         self.status(checks, 'parent dataset'))
        self.assertIn('tank/cinder2 does not exist',
                      self.detail(checks, 'parent dataset'))

    def test_wrapper_too_old_fails(self):
        self.host.wrapper = '1.1.0'
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertEqual(['info', 'fail'], self.status(checks, 'versions'))
        self.assertIn('upgrade the wrapper on the ZFS host',
                      self.detail(checks, 'versions'))

    def test_data_files_need_no_config(self):
        out = io.StringIO()
        rc = check.main(['--data-files', '--json'], stdout=out)
        files = json.loads(out.getvalue())
        self.assertEqual(sorted(check.DATA_FILES), sorted(files))
        self.assertEqual(0, rc, files)
        for name, path in files.items():
            self.assertEqual(name, os.path.basename(path))
            self.assertTrue(os.path.isfile(path), path)

    def test_text_output_has_verdict_and_fix(self):
        self.host.tgtd = False
        rc, out = self.run_check()
        self.assertEqual(1, rc)
        self.assertIn('[FAIL] tgtd', out)
        self.assertIn('fix: Start tgtd on the ZFS host', out)
        self.assertIn('[SKIP] persistence', out)
        self.assertIn('verdict: NOT READY (1 failed, 0 warnings)', out)

    def test_write_test_creates_exports_and_removes(self):
        self.options['use_chap_auth'] = 'True'
        rc, checks = self.results('--write-test')
        self.assertEqual(0, rc, checks)
        self.assertEqual(['ok'], self.status(checks, 'write test'))
        self.assertEqual({}, self.host.zvols)
        self.assertEqual({}, self.host.targets)
        created = [c for c in self.host.log if c.startswith('zfs create')]
        self.assertEqual(1, len(created))
        self.assertRegex(created[0], r'^zfs create -s -V 67108864 '
                         r'tank/cinder/zol-check-[0-9a-f]{8}$')
        # The CHAP secret went through stdin, not the command line.
        self.assertEqual(1, len(self.host.secrets))
        self.assertNotIn(self.host.secrets[0].strip(), ' '.join(
            self.host.log))

    def test_write_test_exports_as_the_driver_does(self):
        """CHAP unless use_chap_auth is set; the serial from the name."""
        self.results('--write-test')
        self.assertEqual(1, len(self.host.secrets), 'CHAP by default')
        create = [c.split() for c in self.host.log
                  if c.startswith('target-create')][0]
        self.assertRegex(create[3], r'^zolcheck[0-9a-f]{8}$')
        self.assertRegex(create[4], r'^zol[0-9a-f]{12}$')
        self.options['use_chap_auth'] = 'False'
        self.host.secrets = []
        self.results('--write-test')
        self.assertEqual([], self.host.secrets, 'use_chap_auth = False')

    def test_write_test_cleans_up_after_failed_export(self):
        self.host.fail_on = 'target-create'
        rc, checks = self.results('--write-test')
        self.assertEqual(1, rc)
        self.assertIn('export of tank/cinder/zol-check-',
                      self.detail(checks, 'write test'))
        self.assertEqual({}, self.host.zvols)
        self.assertTrue([c for c in self.host.log
                         if c.startswith('target-delete')])

    def test_write_test_reports_what_it_could_not_remove(self):
        self.host.fail_on = 'destroy'
        rc, checks = self.results('--write-test')
        self.assertEqual(1, rc)
        self.assertIn('could not remove', self.detail(checks, 'write test'))
        self.assertEqual(1, len(self.host.zvols))

    def test_unconfined_key_fails(self):
        self.host.confined = False
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], self.status(checks, 'login'))
        self.assertIn('ANY command', self.detail(checks, 'login'))
        self.assertIn('restrict,command=', self.detail(checks, 'login'))
        self.assertEqual(['skip'], self.status(checks, 'parent dataset'))

    def test_pool_root_listable_warns(self):
        self.host.pool_listable = True
        rc, checks = self.results()
        self.assertEqual(0, rc)
        self.assertEqual(['warn'], self.status(checks, 'wrapper'))

    def test_missing_parent(self):
        self.host.parent = False
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertIn('zfs create tank/cinder',
                      self.detail(checks, 'parent dataset'))
        self.assertEqual(['skip'], self.status(checks, 'pool'))

    def test_pool_health_and_capacity(self):
        for health, cap, want in (('DEGRADED', 10, 'warn'),
                                  ('FAULTED', 10, 'fail'),
                                  ('ONLINE', 85, 'warn'),
                                  ('ONLINE', 97, 'fail')):
            self.host.health, self.host.capacity = health, cap
            _rc, checks = self.results()
            self.assertEqual([want], self.status(checks, 'pool'),
                             (health, cap))

    def test_little_free_space_fails(self):
        self.host.avail = 100 * 1024 ** 2
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], self.status(checks, 'parent dataset'))

    def test_targets_missing_from_tgtd(self):
        self.host.targets = {PREFIX + 'volume-1': (None, True),
                             PREFIX + 'volume-2': (3, False),
                             'iqn.other:x': (None, True)}
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertEqual(['fail', 'warn'],
                         self.status(checks, 'persistence'))
        text = self.detail(checks, 'persistence')
        self.assertIn('target-restore', text)
        self.assertNotIn('iqn.other', text)

    def test_unknown_host_key(self):
        self.host_key = _paramiko_key()
        os.unlink(self.known_hosts)
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertIn('ssh-keyscan -p 22 -t ssh-ed25519 zfs1.example.org',
                      self.detail(checks, 'host key'))
        self.assertEqual(['skip'], self.status(checks, 'login'))

    def test_unknown_host_key_tofu_warns_and_leaves_file(self):
        os.unlink(self.known_hosts)
        self.options['zol_ssh_strict_host_key'] = 'False'
        rc, checks = self.results()
        self.assertEqual(0, rc)
        self.assertEqual(['warn'], self.status(checks, 'host key'))
        self.assertFalse(os.path.exists(self.known_hosts))

    def test_changed_host_key(self):
        self.host_key = _paramiko_key()
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertIn('CHANGED', self.detail(checks, 'host key'))
        self.assertIn('ssh-keygen -R', self.detail(checks, 'host key'))

    def test_private_key_problems(self):
        os.chmod(self.key, 0o644)
        _rc, checks = self.results()
        self.assertEqual(['warn'], self.status(checks, 'private key'))
        self._write(self.key, _openssh_key(b'secret'), 0o600)
        _rc, checks = self.results()
        self.assertIn('encrypted', self.detail(checks, 'private key'))
        self._write(self.key, 'not a key', 0o600)
        _rc, checks = self.results()
        self.assertEqual(['fail'], self.status(checks, 'private key'))
        os.unlink(self.key)
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertIn('missing', self.detail(checks, 'private key'))
        self.assertEqual(['skip'], self.status(checks, 'login'))

    def test_option_problems_each_reported(self):
        self.options.update({
            'volume_driver': 'cinder.volume.drivers.lvm.LVMVolumeDriver',
            'zol_volblocksize': '3K', 'zol_parent_dataset': 'tank',
            'zol_zvol_properties': 'mountpoint:/x',
            'max_over_subscription_ratio': '0.5',
            'target_prefix': 'volumes:', 'san_password': 'pw',
            'target_ip_address': None})
        rc, checks = self.results('--backend', 'zfs1',
                                  extra='zol_parent_datset = x\n')
        self.assertEqual(1, rc)
        text = self.detail(checks, 'options')
        for needle in ('volume_driver is cinder.volume', 'pool root',
                       "zol_volblocksize '3K'", 'mountpoint',
                       'max_over_subscription_ratio', 'not an IQN prefix',
                       'san_password is set', 'Did you mean '
                       'zol_parent_dataset?'):
            self.assertIn(needle, text)
        self.assertNotIn('pw', [c['detail'] for c in checks])
        self.assertNotIn('target_ip_address', text)
        # As in cinder-volume, a value outside Cinder's regex is not read.
        self.options = {'max_over_subscription_ratio': 'lots'}
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], self.status(
            checks, 'option max_over_subscription_ratio'))

    def test_ratio_cinder_volume_refuses_is_a_failure(self):
        """cinder-volume cannot read these ratios: the check may not pass."""
        for ratio in ('1e3', 'nan', 'inf', '-1', '0.5'):
            self.options['max_over_subscription_ratio'] = ratio
            rc, checks = self.results()
            self.assertEqual(1, rc, ratio)
            self.assertIn('max_over_subscription_ratio', ' '.join(
                c['check'] + ' ' + c['detail'] for c in checks
                if c['status'] == 'fail'), ratio)
        for ratio in ('auto', '1', '20.0', '1.5'):
            self.options['max_over_subscription_ratio'] = ratio
            rc, checks = self.results()
            self.assertEqual(0, rc, (ratio, checks))

    def test_unset_portal_is_the_zfs_host(self):
        """As the driver: san_ip, not Cinder's my_ip default."""
        self.options['target_ip_address'] = None
        self.results('--backend', 'zfs1')
        self.assertIn(('zfs1.example.org', 3260), self.probes)

    def test_bad_value_is_reported_not_raised(self):
        self.options['san_ssh_port'] = 'twenty-two'
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], self.status(checks, 'option san_ssh_port'))

    def test_portal_closed(self):
        self.options['target_secondary_ip_addresses'] = '192.0.2.11'
        self.closed_ports.add(3260)
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertEqual(['fail', 'fail'], self.status(checks, 'portal'))

    def test_backend_defaults_fallback(self):
        self.options['zol_parent_dataset'] = None
        _rc, checks = self.results(
            extra='\n[backend_defaults]\nzol_parent_dataset = tank/shared\n')
        self.assertIn('parent tank/shared', self.detail(checks, 'options'))

    def test_transport_error_is_one_line(self):
        def broken(*argv, **kwargs):
            raise errors.TransportError('ZFS host zfs1:22',
                                        'authentication as cinder failed')
        self.host = broken
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertIn('authentication as cinder failed',
                      self.detail(checks, 'login'))

    def test_backend_picked_from_enabled_backends(self):
        rc, out = self.run_check()
        self.assertIn('backend [zfs1]', out)
        self.assertEqual(0, rc)

    def test_missing_section_and_missing_file(self):
        rc, checks = self.results('--backend', 'zfs9')
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], self.status(checks, 'config'))
        self.assertEqual(['skip'], self.status(checks, 'options'))
        err = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err))
        rc = check.main(['--config-file', '/nonexistent/cinder.conf'],
                        stdout=io.StringIO())
        self.assertEqual(1, rc)
        self.assertIn('/nonexistent/cinder.conf', err.getvalue())


class ReplicationCheckTestCase(CheckBase):
    """replication_device: its options, then its ZFS host like the primary."""

    DEVICE = ('backend_id:dr, san_ip:zfs2.example.org, '
              'zol_parent_dataset:tank/dr')

    def setUp(self):
        super().setUp()
        self.host.wrapper = '1.6.0'
        self.host2 = FakeHost()
        self.host2.wrapper = '1.6.0'
        self.options['replication_device'] = self.DEVICE
        keys = paramiko.HostKeys(self.known_hosts)
        keys.add('zfs2.example.org', self.host_key.get_name(),
                 self.host_key)
        keys.save(self.known_hosts)

    def results(self, *args, extra=''):
        out = io.StringIO()
        argv = ['--config-file', self._conf(extra), '--json'] + list(args)
        rc = check.main(argv, stdout=out, executor_factory=lambda s, *a: (
            self.host2 if s.san_ip == 'zfs2.example.org' else self.host))
        return rc, json.loads(out.getvalue())['backends'][0]['checks']

    def test_the_secondary_is_checked_like_the_primary(self):
        rc, checks = self.results()
        self.assertEqual(0, rc, checks)
        for name in ('host key', 'login', 'wrapper', 'parent dataset',
                     'replication'):
            self.assertEqual(['ok'], self.status(checks, name), name)
            self.assertEqual(['ok'], self.status(checks, 'secondary ' + name),
                             name)
        self.assertIn('tank/dr', self.detail(checks,
                                             'secondary parent dataset'))
        self.assertIn('version', self.host2.log)
        self.assertIn(('zfs2.example.org', 22), self.probes)

    def test_wrappers_without_replication_fail(self):
        self.host2.wrapper = '1.5.0'
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertEqual(['ok'], self.status(checks, 'replication'))
        self.assertEqual(['fail'], self.status(checks,
                                               'secondary replication'))
        self.assertIn('replication needs zfswrapper 1.6.0',
                      self.detail(checks, 'secondary replication'))
        self.host.wrapper = '1.5.0'
        rc, checks = self.results()
        self.assertEqual(['fail'], self.status(checks, 'replication'))

    def test_an_unpinned_secondary_host_key_fails(self):
        self._pin(self.host_key)        # zfs1 only
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], self.status(checks, 'secondary host key'))
        self.assertIn('zfs2.example.org', self.detail(
            checks, 'secondary host key'))
        self.assertEqual(['skip'], self.status(checks, 'secondary login'))

    def test_a_bad_device_is_named(self):
        self.options['replication_device'] = 'backend_id:dr, san_ip:zfs2'
        rc, checks = self.results()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], self.status(checks, 'replication')[-1:])
        self.assertIn('lacks zol_parent_dataset',
                      self.detail(checks, 'replication'))
        self.assertEqual([], self.host2.log)

    def test_no_device_no_replication_checks(self):
        del self.options['replication_device']
        rc, checks = self.results()
        self.assertEqual(0, rc, checks)
        self.assertEqual([], [c for c in checks
                              if 'replication' in c['check']])


class DeclaredOptionsTestCase(testtools.TestCase):
    """The check's copies of Cinder's options must equal Cinder's."""

    def test_same_as_cinder(self):
        try:
            from zol_driver import options
        except ImportError as e:  # pragma: no cover
            self.skipTest('cinder is not importable: %s' % e)
        from cinder import objects
        objects.register_all()
        from cinder.volume import manager
        theirs = {o.name: o for o in options.cinder_consumed_opts()}
        theirs.update({o.name: o for o in manager.volume_backend_opts})
        from cinder.volume import driver
        theirs.update({o.name: o for o in driver.volume_opts})
        for mine in check.cinder_opts:
            cinder_opt = theirs[mine.name]
            self.assertEqual((type(cinder_opt), cinder_opt.default,
                              cinder_opt.secret),
                             (type(mine), mine.default, mine.secret),
                             mine.name)
            self.assertEqual(getattr(cinder_opt.type, 'min', None),
                             getattr(mine.type, 'min', None), mine.name)
            self.assertEqual(getattr(cinder_opt.type, 'regex', None),
                             getattr(mine.type, 'regex', None), mine.name)
