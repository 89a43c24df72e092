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

"""SSHExecutor against a real OpenSSH server on 127.0.0.1."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import fixtures
from oslo_concurrency import processutils
import tenacity
import testtools

from tests.functional import sshd
from zol_driver import errors
from zol_driver import ssh

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# A stand-in for the forced-command wrapper: splits SSH_ORIGINAL_COMMAND
# into words (no globbing) and runs a few test verbs.
WRAPPER = r"""#!/bin/sh
set -f
set -- $SSH_ORIGINAL_COMMAND
case "$1" in
  words) shift; for w; do echo "[$w]"; done ;;
  fail) echo "out"; echo "err $2" >&2; exit "$2" ;;
  cat) cat ;;
  sleep) sleep "$2" ;;
  zeros) head -c "$2" /dev/zero ;;
  count) wc -c ;;
  *) echo "refused: $1" >&2; exit 126 ;;
esac
"""

EVENTLET_SCRIPT = r"""
import eventlet
eventlet.monkey_patch()
import json, sys
sys.path.insert(0, sys.argv[1])
from zol_driver import ssh
host, port, user, key, kh = sys.argv[2:7]
ex = ssh.SSHExecutor(host, int(port), user, private_key=key,
                     known_hosts_file=kh, max_pool=4)
opened = []
real = ex._connect
def counting(*args):
    opened.append(1)
    return real(*args)
ex._connect = counting
def work(i):
    return [ex('words', 'g%d' % i, str(j))[0] for j in range(3)]
pool = eventlet.GreenPool(32)
results = list(pool.imap(work, range(32)))
ok = all(r == ['[g%d]\n[%d]\n' % (i, j) for j in range(3)]
         for i, r in enumerate(results))
print(json.dumps({'ok': ok, 'opened': len(opened),
                  'round_trips': ex.round_trips,
                  'green': eventlet.patcher.is_monkey_patched('thread')}))
"""


class SSHTestCase(testtools.TestCase):

    key_type = 'ed25519'
    passphrase = None

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('sshd (privilege separation) needs root')
        self.log = self.useFixture(fixtures.FakeLogger(level='INFO'))
        self.useFixture(fixtures.MonkeyPatch(
            'zol_driver.ssh.SSHExecutor.retry_wait',
            tenacity.wait_fixed(0.1)))
        tmp = self.useFixture(fixtures.TempDir()).path
        os.chmod(tmp, 0o755)
        wrapper = os.path.join(tmp, 'wrapper')
        with open(wrapper, 'w') as f:
            f.write(WRAPPER)
        os.chmod(wrapper, 0o755)
        self.server = self.useFixture(sshd.SSHServer(
            forced_command=wrapper, client_key_type=self.key_type,
            key_passphrase=self.passphrase))

    def executor(self, **kw):
        args = dict(port=self.server.port, login=self.server.user,
                    private_key=self.server.client_key,
                    key_passphrase=self.passphrase,
                    known_hosts_file=self.server.known_hosts,
                    conn_timeout=5, command_timeout=10)
        args.update(kw)
        ex = ssh.SSHExecutor(self.server.host, **args)
        self.addCleanup(ex.close)
        return ex


class CommandTest(SSHTestCase):

    def test_words_arrive_exactly(self):
        words = ['a', 'b=c', 'x/y@z:1', '-o', 'zol:k=v,w', '1073741824']
        out, err = self.executor()('words', *words)
        self.assertEqual(''.join('[%s]\n' % w for w in words), out)
        self.assertEqual('', err)

    def test_exit_code_and_stderr(self):
        ex = self.executor()
        e = self.assertRaises(processutils.ProcessExecutionError,
                              ex, 'fail', '3')
        self.assertEqual((3, 'out\n', 'err 3\n', 'fail 3'),
                         (e.exit_code, e.stdout, e.stderr, e.cmd))
        self.assertEqual(('out\n', 'err 3\n'),
                         ex('fail', '3', check_exit_code=[0, 3]))
        e = self.assertRaises(processutils.ProcessExecutionError,
                              ex, 'rm', '-rf', '/')
        self.assertEqual(errors.WRAPPER_REFUSED, e.exit_code)
        self.assertEqual(3, ex.round_trips)

    def test_process_input(self):
        out, _err = self.executor()('cat', process_input='chap-secret\n')
        self.assertEqual('chap-secret\n', out)

    def test_command_timeout_then_next_command_works(self):
        ex = self.executor(command_timeout=1)
        self.assertRaises(errors.CommandTimeout, ex, 'sleep', '5')
        self.assertEqual(('[ok]\n', ''), ex('words', 'ok'))

    def test_streams(self):
        ex = self.executor()
        sink = io.BytesIO()
        ex.stream_from(['zeros', '5000000'], sink)
        self.assertEqual(5000000, len(sink.getvalue()))
        out, _err = ex.stream_to(['count'], io.BytesIO(b'y' * 3000000),
                                 block_size=65536)
        self.assertEqual('3000000', out.strip())
        self.assertRaises(processutils.ProcessExecutionError, ex.stream_to,
                          ['nope'], io.BytesIO(b'z' * 1000000))


class Ed25519Test(SSHTestCase):

    def test_key_type_works(self):
        self.assertEqual(('[x]\n', ''), self.executor()('words', 'x'))


class EcdsaWithPassphraseTest(Ed25519Test):
    key_type = 'ecdsa'
    passphrase = 'correct horse'


class RsaTest(Ed25519Test):
    key_type = 'rsa'


class HostKeyTest(SSHTestCase):

    def test_unknown_key_refused(self):
        open(self.server.known_hosts, 'w').close()
        e = self.assertRaises(errors.HostKeyError, self.executor(),
                              'words', 'x')
        self.assertIn('[127.0.0.1]:%d' % self.server.port, str(e))
        self.assertIn(self.server.host_key_fingerprint, str(e))
        self.assertIn('ssh-keyscan', str(e))

    def test_missing_known_hosts_file_refused(self):
        os.unlink(self.server.known_hosts)
        self.assertRaises(errors.HostKeyError, self.executor(), 'words', 'x')

    def test_changed_key_refused(self):
        ex = self.executor()
        ex('words', 'x')
        self.server.restart(new_host_key=True)
        e = self.assertRaises(errors.HostKeyError, ex, 'words', 'x')
        self.assertIn('HAS CHANGED', str(e))
        self.assertIn(self.server.host_key_fingerprint, str(e))
        # Not even trust-on-first-use accepts a changed key.
        self.assertRaises(errors.HostKeyError,
                          self.executor(strict_host_key=False), 'words', 'x')

    def test_trust_on_first_use_records_key(self):
        os.unlink(self.server.known_hosts)
        self.useFixture(fixtures.FakeLogger())
        ex = self.executor(strict_host_key=False)
        self.assertEqual(('[x]\n', ''), ex('words', 'x'))
        with open(self.server.known_hosts) as f:
            recorded = f.read()
        self.assertIn('[127.0.0.1]:%d ssh-ed25519 ' % self.server.port,
                      recorded)
        self.assertEqual(('[y]\n', ''), self.executor()('words', 'y'))


class ReconnectTest(SSHTestCase):

    def test_killed_sshd_between_commands(self):
        ex = self.executor()
        ex('words', 'before')
        self.server.restart()
        self.assertEqual(('[after]\n', ''), ex('words', 'after'))

    def test_sshd_down_reports_transport_error(self):
        ex = self.executor(retries=2)
        ex('words', 'before')
        self.server.kill()
        e = self.assertRaises(errors.TransportError, ex, 'words', 'x')
        self.assertIn('not sent', str(e))
        self.server.start()
        self.assertEqual(('[back]\n', ''), ex('words', 'back'))


class RebootTest(SSHTestCase):
    """Pooled connections from before a ZFS-host reboot."""

    def freeze_sessions(self):
        """The host's side of every connection goes silent, as in a reboot.

        Sessions are stopped, not killed, so no FIN or RST arrives and
        paramiko still thinks the connections are fine; a new sshd then
        listens on the same port, like the rebooted host.
        """
        sessions = []
        self.addCleanup(self._kill, sessions)
        while True:
            # sshd forks a session's post-auth process after the client is
            # told it is in: stop until no process is left to fork one.
            new = [pid for pid in sshd._children(self.server.proc.pid)
                   if pid not in sessions]
            if not new:
                break
            for pid in new:
                try:
                    os.kill(pid, signal.SIGSTOP)
                except ProcessLookupError:
                    pass        # a pre-auth child that just exited
            sessions.extend(new)
            for pid in new:
                self._wait_stopped(pid)
        self.server.proc.kill()
        self.server.proc.wait()
        self.server.proc = None
        self.server.start()

    @staticmethod
    def _wait_stopped(pid):
        """Until the kernel shows ``pid`` stopped (or gone); bounded."""
        for _i in range(500):
            try:
                with open('/proc/%d/stat' % pid) as f:
                    state = f.read().rsplit(')', 1)[1].split()[0]
            except (OSError, IndexError):
                return
            if state in ('T', 't', 'Z', 'X'):
                return
            time.sleep(0.01)

    @staticmethod
    def _kill(pids):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def test_first_command_after_a_reboot_succeeds_in_one_go(self):
        # Each stale connection used to cost one attempt and up to a
        # connect timeout: with 3 pooled and 2 attempts the command failed.
        ex = self.executor(min_pool=3, max_pool=3, retries=2, conn_timeout=2)
        ex.warm_up()
        self.assertEqual(3, len(ex._pool._idle))
        self.freeze_sessions()
        self.assertEqual(('[after]\n', ''), ex('words', 'after'))
        self.assertNotIn('retrying', self.log.output)
        self.assertIn('connecting afresh', self.log.output)
        self.assertEqual(1, len(ex._pool._idle))

    def test_warm_up_with_the_host_down(self):
        ex = self.executor(min_pool=2)
        self.server.kill()
        self.assertEqual(0, ex.warm_up())
        self.assertIn('opened 0 of 2', self.log.output)
        self.server.start()
        self.assertEqual(2, ex.warm_up())
        self.assertEqual(('[x]\n', ''), ex('words', 'x'))


class LimitTest(SSHTestCase):
    """Stream slots and whole-call deadlines on a real server."""

    def test_control_command_runs_while_a_stream_fills_the_slots(self):
        ex = self.executor(max_pool=1, max_streams=1)
        writing, gate, received = threading.Event(), threading.Event(), []

        class Sink(object):
            def write(self, data):
                writing.set()
                gate.wait(30)
                received.append(len(data))
        thread = threading.Thread(target=ex.stream_from,
                                  args=(['zeros', '1000000'], Sink()))
        thread.start()
        self.addCleanup(thread.join, 60)
        self.addCleanup(gate.set)
        self.assertTrue(writing.wait(30))
        self.assertEqual(('[stats]\n', ''), ex('words', 'stats'))
        gate.set()
        thread.join(60)
        self.assertEqual(1000000, sum(received))

    def test_command_cut_at_the_deadline(self):
        ex = self.executor(command_timeout=60)
        e = self.assertRaises(errors.CommandTimeout, ex, 'sleep', '5',
                              deadline=1)
        self.assertIn('1s deadline', str(e))
        self.assertIn('may have run', str(e))
        self.assertEqual(('[ok]\n', ''), ex('words', 'ok'))

    def test_silent_host_reported_not_sent_within_the_deadline(self):
        # A stopped sshd still accepts TCP connections (the kernel does),
        # but never sends its banner: each attempt would wait 30 s.
        ex = self.executor(conn_timeout=30, retries=3)
        os.kill(self.server.proc.pid, signal.SIGSTOP)
        self.addCleanup(os.kill, self.server.proc.pid, signal.SIGCONT)
        e = self.assertRaises(errors.TransportError, ex, 'words', 'x',
                              deadline=1)
        self.assertIn('1s deadline', str(e))
        self.assertIn('not sent', str(e))


class ConcurrencyTest(SSHTestCase):

    def test_32_native_threads_share_pool_of_4(self):
        ex = self.executor(max_pool=4)
        opened = []
        real = ex._connect

        def counting(*args):
            opened.append(1)
            return real(*args)
        ex._connect = counting
        results = {}

        def work(i):
            results[i] = [ex('words', 't%d' % i, str(j))[0]
                          for j in range(3)]
        threads = [threading.Thread(target=work, args=(i,))
                   for i in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for i in range(32):
            self.assertEqual(['[t%d]\n[%d]\n' % (i, j) for j in range(3)],
                             results.get(i))
        self.assertLessEqual(len(opened), 4)
        self.assertEqual(96, ex.round_trips)

    def test_32_green_threads_share_pool_of_4(self):
        proc = subprocess.run(
            [sys.executable, '-c', EVENTLET_SCRIPT, REPO, self.server.host,
             str(self.server.port), self.server.user,
             self.server.client_key, self.server.known_hosts],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual({'ok': True, 'round_trips': 96, 'green': True},
                         {k: result[k] for k in ('ok', 'round_trips',
                                                 'green')})
        self.assertLessEqual(result['opened'], 4)
