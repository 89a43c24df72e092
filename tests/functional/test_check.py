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

"""cinder-zol-check over real SSH into the real wrapper.

Two hosts:

* a stub ZFS host: a real sshd on 127.0.0.1 whose key runs
  tools/zfswrapper.sh, configured with stub ``zfs``/``zpool`` binaries
  (zvols are files) and the fake ``tgtadm`` of tests/unit/test_wrapper.py;
* the ZFS test bed (real OpenZFS and tgtd in a VM, tests/functional/
  testbed.py), skipped with its reason when it is unavailable.

Everything listens on 127.0.0.1 only; run inside ``unshare --net`` (tox -e
functional does).
"""

import io
import json
import os
import shutil
import socket
import tempfile
import time

import fixtures
import testtools
from testtools import content

from tests.functional import sshd
from tests.functional import testbed
from tests.unit import test_wrapper
from zol_driver import check
from zol_driver import ssh
from zol_driver import version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
WRAPPER = os.path.join(REPO, 'tools', 'zfswrapper.sh')
PARENT = 'tank/cinder'
PREFIX = 'iqn.2010-10.org.openstack:'

# zfs/zpool stand-ins: zvols are files under ZVOL/tank/cinder; every call
# is appended to CALLS.
STUB_ZFS = r'''#!/usr/bin/python3
import os, sys
DIR = %(dir)r
ZVOLS = os.path.join(DIR, 'zvol', 'tank', 'cinder')
PARENT = 'tank/cinder'
prog, args = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(os.path.join(DIR, 'work', 'calls'), 'a') as f:
    f.write(' '.join([prog] + args) + '\n')


def flag(name, default=None):
    return args[args.index(name) + 1] if name in args else default


def gone(name):
    sys.stderr.write("cannot open '%%s': dataset does not exist\n" %% name)
    sys.exit(1)


if prog == 'zpool':
    health = 'ONLINE'
    if os.path.exists(os.path.join(DIR, 'health')):
        health = open(os.path.join(DIR, 'health')).read().strip()
    row = {'name': 'tank', 'size': str(1 << 40), 'alloc': str(1 << 30),
           'free': str((1 << 40) - (1 << 30)), 'capacity': '1',
           'health': health}
    print('\t'.join(row.get(f, '-') for f in flag('-o').split(',')))
    sys.exit(0)
if args == ['version']:
    print('zfs-2.1.11-1\nzfs-kmod-2.1.11-1')
    sys.exit(0)
sub, target = args[0], args[-1]
vols = sorted(os.listdir(ZVOLS))
if sub == 'list':
    rows = []
    if target == PARENT:
        rows.append({'name': PARENT, 'type': 'filesystem', 'used': '4096',
                     'avail': str(100 << 30)})
        if flag('-d'):
            for v in vols:
                size = os.path.getsize(os.path.join(ZVOLS, v))
                rows.append({'name': PARENT + '/' + v, 'type': 'volume',
                             'used': '4096', 'volsize': str(size)})
    elif target.split('/')[-1] in vols:
        rows.append({'name': target, 'type': 'volume'})
    else:
        gone(target)
    for row in rows:
        print('\t'.join(row.get(f, '-')
                        for f in flag('-o', 'name').split(',')))
elif sub == 'create':
    with open(os.path.join(ZVOLS, target.split('/')[-1]), 'wb') as f:
        f.truncate(int(flag('-V')))
elif sub == 'destroy':
    path = os.path.join(ZVOLS, target.split('/')[-1])
    if not os.path.exists(path):
        gone(target)
    os.unlink(path)
else:
    sys.stderr.write('stub zfs: %%s not implemented\n' %% sub)
    sys.exit(2)
'''

WRAPPER_CONFIG = """\
parents = tank/cinder
zfs = {dir}/bin/zfs
zpool = {dir}/bin/zpool
tgtadm = {dir}/bin/tgtadm
dd = /bin/dd
statedir = {dir}/work/state
log = {dir}/work/wrapper.log
zvol_root = {dir}/zvol
zvol_allow_files = yes
zvol_wait = 2
"""


def _write(path, text, mode=0o755):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


class StubZFSHost(fixtures.Fixture):
    """Wrapper + stubs in a temp dir the sshd login user can use."""

    def _setUp(self):
        self.dir = tempfile.mkdtemp(prefix='zol-check-host-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        os.chmod(self.dir, 0o755)
        for sub in ('bin', 'work', 'zvol/tank/cinder'):
            os.makedirs(os.path.join(self.dir, sub))
        # The wrapper runs as the login user and writes state, log, calls
        # and zvol files; its config and binaries stay root's.
        for sub in ('work', 'zvol/tank/cinder'):
            os.chmod(os.path.join(self.dir, sub), 0o777)
        stub = STUB_ZFS % {'dir': self.dir}
        _write(os.path.join(self.dir, 'bin', 'zfs'), stub)
        _write(os.path.join(self.dir, 'bin', 'zpool'), stub)
        self.tgt_state = os.path.join(self.dir, 'work', 'tgtd.json')
        _write(os.path.join(self.dir, 'bin', 'tgtadm'),
               test_wrapper.FAKE_TGTADM % {
                   'state': self.tgt_state,
                   'calls': os.path.join(self.dir, 'work', 'calls')})
        _write(self.tgt_state, '{"targets": {}, "accounts": {}}', 0o666)
        self.conf = os.path.join(self.dir, 'wrapper.conf')
        _write(self.conf, WRAPPER_CONFIG.format(dir=self.dir), 0o644)
        self.command = '/bin/dash %s -c %s' % (WRAPPER, self.conf)

    def calls(self):
        lines = []
        path = os.path.join(self.dir, 'work', 'calls')
        if os.path.exists(path):
            with open(path) as f:
                lines += [ln.replace('\x1f', ' ') for ln in f]
        return lines

    def zvols(self):
        return os.listdir(os.path.join(self.dir, 'zvol', 'tank', 'cinder'))

    def tgtd(self):
        with open(self.tgt_state) as f:
            return json.load(f)

    def set_tgtd(self, state):
        _write(self.tgt_state, json.dumps(state), 0o666)


class Listener(fixtures.Fixture):
    """A TCP listener on 127.0.0.1 standing in for the iSCSI portal."""

    def _setUp(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.addCleanup(self.sock.close)
        self.port = self.sock.getsockname()[1]


def write_cinder_conf(path, backend, **options):
    lines = ['[DEFAULT]', 'enabled_backends = %s' % backend, '',
             '[%s]' % backend,
             'volume_driver = %s' % check.DRIVER,
             'volume_backend_name = %s' % backend]
    lines += ['%s = %s' % kv for kv in sorted(options.items())]
    _write(path, '\n'.join(lines) + '\n', 0o600)


def run_check(conf_path, *args):
    """(exit code, the JSON document, the text report)."""
    out = io.StringIO()
    rc = check.main(['--config-file', conf_path, '--json'] + list(args),
                    stdout=out)
    text = io.StringIO()
    doc = json.loads(out.getvalue())
    for backend in doc['backends']:
        check.render_text([(backend['backend'], [
            check.Result(c['check'], c['status'], c['detail'], c['fix'])
            for c in backend['checks']])], text)
    return rc, doc, text.getvalue()


def statuses(doc, name):
    return [c['status'] for c in doc['backends'][0]['checks']
            if c['check'] == name]


class StubHostCheckTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('sshd (privilege separation) needs root')
        if not os.path.exists(WRAPPER):
            self.skipTest('%s does not exist yet' % WRAPPER)
        self.host = self.useFixture(StubZFSHost())
        self.server = self.useFixture(sshd.SSHServer(
            forced_command=self.host.command))
        self.portal = self.useFixture(Listener())
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.conf = os.path.join(self.dir, 'cinder.conf')
        self.options = dict(
            san_ip='127.0.0.1', san_ssh_port=self.server.port,
            san_login=self.server.user,
            san_private_key=self.server.client_key,
            zol_ssh_known_hosts_file=self.server.known_hosts,
            zol_parent_dataset=PARENT, target_ip_address='127.0.0.1',
            target_port=self.portal.port)

    def check(self, *args):
        write_cinder_conf(self.conf, 'zfs1', **self.options)
        rc, doc, text = run_check(self.conf, *args)
        self.addDetail('report-%d' % len(self.getDetails()),
                       content.text_content(text))
        return rc, doc, text

    def test_ready_host_passes_read_only(self):
        rc, doc, text = self.check()
        self.assertEqual(0, rc, text)
        for c in doc['backends'][0]['checks']:
            # Python stubs make a command slow enough to warn on a busy
            # machine; the verdict does not depend on it.
            if c['check'] != 'round trip':
                self.assertIn(c['status'], ('ok', 'info'), text)
        self.assertIn('zfswrapper ' + version.RELEASE, text)
        self.assertIn('zfs-kmod-2.1.11-1', text)
        calls = ''.join(self.host.calls())
        for verb in (' create ', ' destroy ', '--op new', '--op delete'):
            self.assertNotIn(verb, calls)

    def test_write_test_leaves_nothing_behind(self):
        self.options['use_chap_auth'] = True
        rc, doc, text = self.check('--write-test')
        self.assertEqual(0, rc, text)
        self.assertEqual(['ok'], statuses(doc, 'write test'), text)
        self.assertEqual([], self.host.zvols())
        state = self.host.tgtd()
        self.assertEqual({}, state['targets'])
        self.assertEqual({}, state['accounts'])
        # no state file is left; the host lock (STATEDIR/.lock) stays
        self.assertEqual(['.lock'], os.listdir(os.path.join(
            self.host.dir, 'work', 'state')))

    def test_tgtd_down(self):
        self.host.set_tgtd({'targets': {}, 'accounts': {}, 'down': True})
        rc, doc, text = self.check()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], statuses(doc, 'tgtd'))
        self.assertIn('systemctl enable --now tgt', text)

    def test_target_lost_by_tgtd_is_reported(self):
        ex = ssh.SSHExecutor('127.0.0.1', self.server.port,
                             self.server.user,
                             private_key=self.server.client_key,
                             known_hosts_file=self.server.known_hosts)
        self.addCleanup(ex.close)
        ex('zfs', 'create', '-s', '-V', '4096', PARENT + '/volume-1')
        ex('target-create', PREFIX + 'volume-1', PARENT + '/volume-1', 'sn1')
        self.host.set_tgtd({'targets': {}, 'accounts': {}})
        rc, doc, text = self.check()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], statuses(doc, 'persistence'))
        self.assertIn('target-restore', text)

    def test_unconfined_key(self):
        self.server = self.useFixture(sshd.SSHServer(
            forced_command='/bin/sh -c "$SSH_ORIGINAL_COMMAND"'))
        self.options.update(san_ssh_port=self.server.port,
                            san_private_key=self.server.client_key,
                            zol_ssh_known_hosts_file=self.server.known_hosts)
        rc, doc, text = self.check()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], statuses(doc, 'login'))
        self.assertIn('restrict,command=', text)

    def test_changed_host_key(self):
        self.server.restart(new_host_key=True)
        rc, doc, text = self.check()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], statuses(doc, 'host key'))
        self.assertIn('CHANGED', text)

    def test_parent_not_in_wrapper_parents(self):
        self.options['zol_parent_dataset'] = 'tank/other'
        rc, doc, text = self.check()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], statuses(doc, 'parent dataset'))
        self.assertIn('Add tank/other to "parents"', text)

    def test_sshd_down_and_portal_closed(self):
        self.server.kill()
        self.portal.sock.close()
        rc, doc, text = self.check()
        self.assertEqual(1, rc)
        self.assertEqual(['fail'], statuses(doc, 'ssh port'))
        self.assertEqual(['fail'], statuses(doc, 'portal'))
        self.assertEqual(['skip'], statuses(doc, 'login'))


class TestbedCheckTestCase(testtools.TestCase):
    """The check against real OpenZFS and tgtd (the test-bed VM)."""

    def setUp(self):
        super().setUp()
        self.zfs_host = self.useFixture(testbed.ZFSHostFixture()).host
        rc, out, err = self.zfs_host.driver('version')
        if rc or not out.startswith('zfswrapper'):
            self.skipTest('the test bed has no wrapper installed (rc=%d: '
                          '%s)' % (rc, (err or out).strip()[:200]))
        self.dir = self.useFixture(fixtures.TempDir()).path

    def test_full_check_with_write_test(self):
        h = self.zfs_host
        conf = os.path.join(self.dir, 'cinder.conf')
        write_cinder_conf(conf, 'zfs1', san_ip=h.host, san_ssh_port=h.port,
                          san_login=h.user, san_private_key=h.driver_key,
                          zol_ssh_known_hosts_file=h.known_hosts,
                          zol_parent_dataset=h.parent,
                          target_ip_address=h.iscsi_ip,
                          target_port=h.iscsi_port, use_chap_auth=True)
        start = time.monotonic()
        rc, doc, text = run_check(conf, '--write-test')
        elapsed = time.monotonic() - start
        self.addDetail('report', content.text_content(
            '%s\n(%.1f s)\n' % (text, elapsed)))
        self.assertEqual(0, rc, text)
        self.assertEqual(['ok'], statuses(doc, 'write test'), text)
        names = h.zfs_names()
        self.assertFalse([n for n in names if check.TEST_PREFIX in n], names)
        self.assertNotIn(check.TEST_PREFIX, h.targets())
