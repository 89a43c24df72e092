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

"""Unit tests for zol_driver.ssh with paramiko mocked."""

import io
import os
import socket
import tempfile
import threading
from unittest import mock

from cryptography.hazmat.primitives.asymmetric import ed448
from cryptography.hazmat.primitives import serialization
import fixtures
from oslo_concurrency import processutils
import paramiko
import tenacity
import testtools

from zol_driver import errors
from zol_driver import ssh


class FakeChannel(object):
    """Just enough of paramiko.Channel for SSHExecutor."""

    def __init__(self, out=b'', err=b'', code=0, exec_error=None,
                 hang=False):
        self.out = [out] if out else []
        self.err = [err] if err else []
        self.exit_status = code
        self.exec_error = exec_error
        self.hang = hang
        self.sent = []
        self.eof_sent = False
        self.closed = False
        self.command = None
        self.status_event = threading.Event()
        if not hang:
            self.status_event.set()

    def exec_command(self, command):
        self.command = command
        if self.exec_error:
            raise self.exec_error

    def settimeout(self, timeout):
        pass

    def sendall(self, data):
        self.sent.append(data)

    def shutdown_write(self):
        self.eof_sent = True

    def recv(self, n):
        if self.hang:
            raise socket.timeout()
        return self.out.pop(0) if self.out else b''

    def recv_stderr(self, n):
        return self.err.pop(0) if self.err else b''

    def recv_stderr_ready(self):
        return bool(self.err)

    def close(self):
        self.closed = True


class GatedChannel(FakeChannel):
    """A channel whose output waits for ``gate``: a transfer in progress."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.reading = threading.Event()
        self.gate = threading.Event()

    def recv(self, n):
        self.reading.set()
        if not self.gate.wait(30):
            raise socket.timeout()
        return super().recv(n)


class StallingChannel(FakeChannel):
    """The host never answers the exec request (paramiko has no timeout)."""

    def __init__(self, transport, **kw):
        super().__init__(**kw)
        self.transport = transport

    def exec_command(self, command):
        self.command = command
        # The fallback only ends the test if nothing closes the transport.
        if self.transport.closed_event.wait(5):
            raise paramiko.SSHException('Channel closed.')


class FakeTransport(object):
    def __init__(self, *channels, open_error=None):
        self.channels = list(channels)
        self.open_error = open_error
        self.open_timeouts = []
        self.active = True
        self.closed = False
        self.closed_event = threading.Event()

    def open_session(self, timeout=None):
        self.open_timeouts.append(timeout)
        if self.open_error:
            raise self.open_error
        return self.channels.pop(0)

    def is_active(self):
        return self.active and not self.closed

    def close(self):
        self.closed = True
        self.closed_event.set()


def stale_transport():
    """Pooled from before a host reboot: "active", but no channel opens."""
    return FakeTransport(open_error=paramiko.SSHException(
        'Timeout opening channel.'))


class JoinArgvTest(testtools.TestCase):

    def test_joins_with_single_spaces(self):
        self.assertEqual(
            'zfs create -s -V 1073741824 -o zol:owner=abc tank/cinder/v-1',
            ssh.join_argv(['zfs', 'create', '-s', '-V', 1073741824, '-o',
                           'zol:owner=abc', 'tank/cinder/v-1']))

    def test_refuses_unsafe_words_naming_them(self):
        for bad in ('a b', 'x;reboot', '$(id)', 'a\nb', '', 'é', "'q'",
                    'a|b', 'a*'):
            e = self.assertRaises(ssh.UnsafeArgument, ssh.join_argv,
                                  ['zfs', 'list', bad])
            self.assertIsInstance(e, ValueError)
            self.assertIn(repr(bad), str(e))

    def test_refuses_overlong_word_and_command(self):
        self.assertRaises(ssh.UnsafeArgument, ssh.join_argv,
                          ['zfs', 'x' * 129])
        ssh.join_argv(['zfs', 'x' * 128])
        self.assertRaises(ssh.UnsafeArgument, ssh.join_argv,
                          ['zfs'] + ['abcdefghi'] * 410)

    def test_refuses_empty_argv(self):
        self.assertRaises(ssh.UnsafeArgument, ssh.join_argv, [])


class ExecutorTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'zol_driver.ssh.SSHExecutor.retry_wait', tenacity.wait_none()))
        self.key = self.useFixture(fixtures.MockPatch(
            'paramiko.PKey.from_path')).mock
        self.log = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        self.ex = ssh.SSHExecutor('192.0.2.10', private_key='/k',
                                  command_timeout=1, retries=3)
        self.transports = []
        self.connect_budgets = []
        self.connect = self.useFixture(fixtures.MockPatchObject(
            ssh.SSHExecutor, '_connect',
            side_effect=self._next_transport)).mock

    def _next_transport(self, budget=None):
        self.connect_budgets.append(budget)
        item = self.transports.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class ExecuteTest(ExecutorTestCase):

    def test_returns_stdout_and_stderr(self):
        chan = FakeChannel(out=b'tank\n', err=b'warn\n')
        self.transports = [FakeTransport(chan)]
        self.assertEqual(('tank\n', 'warn\n'), self.ex('zfs', 'list'))
        self.assertEqual('zfs list', chan.command)
        self.assertTrue(chan.eof_sent)
        self.assertTrue(chan.closed)
        self.assertEqual(1, self.ex.round_trips)

    def test_nonzero_exit_raises_process_execution_error(self):
        self.transports = [FakeTransport(FakeChannel(
            out=b'o', err=b'cannot open', code=1))]
        e = self.assertRaises(processutils.ProcessExecutionError,
                              self.ex, 'zfs', 'destroy', 'tank/cinder/v')
        self.assertEqual(1, e.exit_code)
        self.assertEqual('cannot open', e.stderr)
        self.assertEqual('o', e.stdout)
        self.assertEqual('zfs destroy tank/cinder/v', e.cmd)

    def test_accepted_exit_codes(self):
        self.transports = [FakeTransport(
            FakeChannel(code=1), FakeChannel(code=2), FakeChannel(code=126),
            FakeChannel(code=3))]
        self.ex('a', check_exit_code=[0, 1])
        self.ex('a', check_exit_code=False)
        self.ex('a', check_exit_code=126)
        e = self.assertRaises(processutils.ProcessExecutionError, self.ex,
                              'a', check_exit_code=(0, 1))
        self.assertEqual(3, e.exit_code)

    def test_process_input_is_sent_and_never_logged(self):
        chan = FakeChannel()
        self.transports = [FakeTransport(chan)]
        self.ex('target-create', 'iqn.x:v', 'tank/cinder/v', 'sn1', 'user',
                process_input='s3cret-chap\n')
        self.assertEqual([b's3cret-chap\n'], chan.sent)
        self.assertTrue(chan.eof_sent)
        self.assertIn('target-create iqn.x:v', self.log.output)
        self.assertNotIn('s3cret', self.log.output)

    def test_unsafe_word_is_refused_before_connecting(self):
        self.assertRaises(ssh.UnsafeArgument, self.ex, 'zfs', 'a;b')
        self.connect.assert_not_called()
        self.assertEqual(0, self.ex.round_trips)

    def test_warm_transport_is_reused(self):
        self.transports = [FakeTransport(FakeChannel(), FakeChannel())]
        self.ex('a')
        self.ex('b')
        self.assertEqual(1, self.connect.call_count)
        self.assertEqual(2, self.ex.round_trips)

    def test_dead_pooled_transport_is_replaced(self):
        first = FakeTransport(FakeChannel(), FakeChannel())
        self.transports = [first, FakeTransport(FakeChannel(out=b'ok'))]
        self.ex('a')
        first.active = False
        self.assertEqual(('ok', ''), self.ex('b'))
        self.assertTrue(first.closed)
        self.assertEqual(2, self.connect.call_count)

    def test_channel_open_failure_is_retried_on_new_connection(self):
        broken = FakeTransport(open_error=EOFError())
        self.transports = [broken, FakeTransport(FakeChannel(out=b'ok'))]
        self.assertEqual(('ok', ''), self.ex('a'))
        self.assertTrue(broken.closed)
        self.assertEqual(1, self.ex.round_trips)

    def test_connect_failure_retried_then_reported(self):
        self.transports = [ssh._NotSent('h', 'refused')] * 3
        e = self.assertRaises(errors.TransportError, self.ex, 'zfs', 'list')
        self.assertNotIsInstance(e, ssh._NotSent)
        self.assertIn('not sent', str(e))
        self.assertEqual(3, self.connect.call_count)

    def test_failure_after_send_is_not_retried(self):
        broken = FakeTransport(FakeChannel(
            exec_error=paramiko.SSHException('Channel closed')))
        self.transports = [broken, FakeTransport(FakeChannel())]
        e = self.assertRaises(errors.TransportError, self.ex, 'zfs',
                              'destroy', 'tank/cinder/v')
        self.assertIn('may have run', str(e))
        self.assertEqual(1, self.connect.call_count)
        self.assertEqual(1, self.ex.round_trips)
        self.assertTrue(broken.closed)

    def test_host_key_error_is_not_retried(self):
        self.transports = [errors.HostKeyError('unknown key')] * 3
        self.assertRaises(errors.HostKeyError, self.ex, 'a')
        self.assertEqual(1, self.connect.call_count)

    def test_command_timeout(self):
        transport = FakeTransport(FakeChannel(hang=True))
        self.transports = [transport]
        self.ex.command_timeout = 0.3
        e = self.assertRaises(errors.CommandTimeout, self.ex, 'zfs', 'list')
        self.assertIn('zfs list', str(e))
        self.assertTrue(transport.closed)

    def test_lost_connection_without_exit_status(self):
        chan = FakeChannel(code=-1)
        transport = FakeTransport(chan)
        chan.exec_command = lambda c: setattr(transport, 'active', False)
        self.transports = [transport]
        self.assertRaises(errors.TransportError, self.ex, 'a')

    def test_stream_from_and_to(self):
        big = b'x' * 300000
        sink = io.BytesIO()
        chan_in = FakeChannel()
        self.transports = [FakeTransport(FakeChannel(out=big), chan_in)]
        self.ex.stream_from(['zvol-read', 'tank/cinder/v'], sink)
        self.assertEqual(big, sink.getvalue())
        self.ex.stream_to(['zvol-write', 'tank/cinder/v'], io.BytesIO(big),
                          block_size=100000)
        self.assertEqual(big, b''.join(chan_in.sent))
        self.assertEqual(3, len(chan_in.sent))
        self.assertTrue(chan_in.eof_sent)

    def test_stream_checks_exit_code(self):
        self.transports = [FakeTransport(FakeChannel(code=126,
                                                     err=b'refused'))]
        self.assertRaises(processutils.ProcessExecutionError,
                          self.ex.stream_from, ['zvol-read', 'x/y'],
                          io.BytesIO())

    def test_pool_bounds_concurrent_connections(self):
        self.connect.side_effect = lambda budget=None: FakeTransport(
            *[FakeChannel() for _i in range(100)])
        ex = self.ex
        ex._pool = ssh._Pool(2, 5)
        ex._pool_args = (2, 5)
        threads = [threading.Thread(target=ex, args=('a',))
                   for _i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertLessEqual(self.connect.call_count, 2)
        self.assertEqual(16, ex.round_trips)

    def test_close_closes_idle_connections(self):
        transport = FakeTransport(FakeChannel())
        self.transports = [transport]
        self.ex('a')
        self.ex.close()
        self.assertTrue(transport.closed)


class StalePoolTest(ExecutorTestCase):
    """After a host reboot every pooled connection is dead but "active"."""

    def setUp(self):
        super().setUp()
        self.stale = [stale_transport() for _i in range(4)]
        for transport in self.stale:
            self.ex._pool.give(transport)

    def test_idle_pool_dropped_and_fresh_connection_in_one_attempt(self):
        fresh = FakeTransport(FakeChannel(out=b'ok'))
        self.transports = [fresh]
        self.assertEqual(('ok', ''), self.ex('zfs', 'list'))
        # One stale transport tried, then all of them closed, no retry.
        self.assertEqual(1, sum(len(t.open_timeouts) for t in self.stale))
        self.assertTrue(all(t.closed for t in self.stale))
        self.assertEqual(1, self.connect.call_count)
        self.assertNotIn('retrying', self.log.output)
        self.assertIn('connecting afresh', self.log.output)
        self.assertEqual([fresh], self.ex._pool._idle)

    def test_fresh_connection_failing_still_uses_the_retries(self):
        self.transports = [FakeTransport(open_error=EOFError()),
                           FakeTransport(FakeChannel(out=b'ok'))]
        self.assertEqual(('ok', ''), self.ex('zfs', 'list'))
        self.assertEqual(2, self.connect.call_count)
        self.assertEqual(1, self.log.output.count('retrying'))

    def test_command_sent_on_pooled_transport_is_never_repeated(self):
        self.ex._pool.drop_idle()
        pooled = FakeTransport(FakeChannel(), FakeChannel(
            exec_error=paramiko.SSHException('Channel closed')))
        self.transports = [pooled, FakeTransport(FakeChannel())]
        self.ex('a')
        e = self.assertRaises(errors.TransportError, self.ex, 'zfs',
                              'destroy', 'tank/cinder/v')
        self.assertIn('may have run', str(e))
        self.assertEqual(1, self.connect.call_count)
        self.assertEqual(2, self.ex.round_trips)


class StreamLimitTest(ExecutorTestCase):
    """Image streams have their own slots and transports."""

    def start_stream(self, ex, channel, sink):
        thread = threading.Thread(target=ex.stream_from,
                                  args=(['zvol-read', 'tank/cinder/v'], sink))
        thread.start()
        self.addCleanup(thread.join, 30)
        self.addCleanup(channel.gate.set)
        return thread

    def test_control_command_runs_while_a_stream_holds_its_slot(self):
        ex = ssh.SSHExecutor('192.0.2.10', private_key='/k', max_pool=1,
                             command_timeout=1)
        # Were streams on the control pool, the command below would wait
        # this long for the slot, then fail.
        ex._pool = ssh._Pool(1, 0.5)
        stream = GatedChannel(out=b'image')
        control = FakeTransport(FakeChannel(out=b'tank'))
        self.transports = [FakeTransport(stream), control]
        sink = io.BytesIO()
        thread = self.start_stream(ex, stream, sink)
        self.assertTrue(stream.reading.wait(30))
        self.assertEqual(('tank', ''), ex('zfs', 'list'))
        stream.gate.set()
        thread.join(30)
        self.assertEqual(b'image', sink.getvalue())
        self.assertEqual([control], ex._pool._idle)

    def test_streams_beyond_the_limit_wait_for_a_stream_slot(self):
        ex = ssh.SSHExecutor('192.0.2.10', private_key='/k', max_streams=1,
                             command_timeout=1)
        first, second = GatedChannel(out=b'1'), FakeChannel(out=b'2')
        self.transports = [FakeTransport(first, second)]
        waiting = threading.Event()
        acquire = ex._streams.acquire

        def watched_acquire(timeout):
            if first.reading.is_set():
                waiting.set()
            return acquire(timeout)
        ex._streams.acquire = watched_acquire
        sinks = io.BytesIO(), io.BytesIO()
        self.start_stream(ex, first, sinks[0])
        self.assertTrue(first.reading.wait(30))
        thread = threading.Thread(target=ex.stream_from,
                                  args=(['zvol-read', 'x/y'], sinks[1]))
        thread.start()
        self.assertTrue(waiting.wait(30))
        self.assertIsNone(second.command)
        first.gate.set()
        thread.join(30)
        self.assertEqual((b'1', b'2'), tuple(s.getvalue() for s in sinks))
        # The second stream reused the first one's transport.
        self.assertEqual(1, self.connect.call_count)

    def test_stream_never_takes_a_control_transport(self):
        control = FakeTransport(FakeChannel(), FakeChannel())
        self.transports = [control, FakeTransport(FakeChannel(out=b'x'))]
        self.ex('a')
        self.ex.stream_from(['zvol-read', 'x/y'], io.BytesIO())
        self.assertEqual(2, self.connect.call_count)
        self.assertEqual(1, len(control.channels))
        self.assertEqual([control], self.ex._pool._idle)


class DeadlineTest(ExecutorTestCase):
    """``deadline=`` bounds every step of one call."""

    def use_fake_clock(self):
        self.now = 0.0
        self.sleeps = []

        def sleep(seconds):
            self.sleeps.append(seconds)
            self.now += seconds
        self.ex._now = lambda: self.now
        self.ex._sleep = sleep

    def test_connect_attempts_and_backoff_stay_within_the_budget(self):
        self.use_fake_clock()
        self.ex.retries = 5
        self.ex.retry_wait = tenacity.wait_fixed(1)

        def slow_failure(budget):
            self.connect_budgets.append(budget.left())
            self.now += 4
            raise ssh._NotSent('h', 'cannot connect: timed out')
        self.connect.side_effect = slow_failure
        e = self.assertRaises(errors.TransportError, self.ex, 'zfs', 'list',
                              deadline=10)
        # t=0 connect (10 s left), fails at 4; 1 s backoff; t=5 connect
        # (5 s left), fails at 9; a 1 s backoff would leave nothing: stop.
        self.assertEqual([10, 5], self.connect_budgets)
        self.assertEqual([1], self.sleeps)
        self.assertNotIsInstance(e, ssh._NotSent)
        self.assertIn('10s deadline', str(e))
        self.assertIn('not sent', str(e))
        self.assertIn('timed out', str(e))

    def test_no_deadline_keeps_the_retries(self):
        self.use_fake_clock()
        self.transports = [ssh._NotSent('h', 'refused')] * 3
        self.assertRaises(errors.TransportError, self.ex, 'zfs', 'list')
        self.assertEqual(3, self.connect.call_count)
        self.assertEqual([None] * 3,
                         [b.left() for b in self.connect_budgets])

    def test_spent_deadline_sends_nothing(self):
        e = self.assertRaises(errors.TransportError, self.ex, 'zfs', 'list',
                              deadline=0)
        self.assertIn('deadline', str(e))
        self.assertIn('not sent', str(e))
        self.connect.assert_not_called()
        self.assertEqual(0, self.ex.round_trips)

    def test_bounds_the_wait_for_a_pool_slot(self):
        self.ex._pool = ssh._Pool(1, 3600)
        self.assertTrue(self.ex._pool.acquire(0))
        self.addCleanup(self.ex._pool.release)
        e = self.assertRaises(errors.TransportError, self.ex, 'zfs', 'list',
                              deadline=0.3)
        self.assertIn('0.3s deadline', str(e))
        self.assertIn('not sent', str(e))
        self.connect.assert_not_called()

    def test_cuts_channel_open_and_command_run(self):
        transport = FakeTransport(FakeChannel(hang=True))
        self.transports = [transport]
        self.ex.command_timeout = 3600
        self.ex.conn_timeout = 3600
        e = self.assertRaises(errors.CommandTimeout, self.ex, 'zfs', 'list',
                              deadline=0.3)
        self.assertIn('0.3s deadline', str(e))
        self.assertIn('may have run', str(e))
        self.assertLessEqual(transport.open_timeouts[0], 0.3)
        self.assertTrue(transport.closed)

    def test_without_deadline_the_configured_timeouts_apply(self):
        transport = FakeTransport(FakeChannel())
        self.transports = [transport]
        self.ex.conn_timeout = 7
        self.ex('zfs', 'list')
        self.assertEqual([7], transport.open_timeouts)

    def test_stalled_exec_request_is_bounded_by_the_deadline(self):
        transport = FakeTransport()
        transport.channels = [StallingChannel(transport)]
        self.transports = [transport]
        self.ex.command_timeout = 3600
        e = self.assertRaises(errors.CommandTimeout, self.ex, 'zfs', 'list',
                              deadline=0.3)
        self.assertIn('may have run', str(e))
        self.assertTrue(transport.closed)

    def test_stalled_exec_request_is_bounded_by_the_command_timeout(self):
        transport = FakeTransport()
        transport.channels = [StallingChannel(transport)]
        self.transports = [transport]
        self.ex.command_timeout = 0.3
        e = self.assertRaises(errors.CommandTimeout, self.ex, 'zfs', 'list')
        self.assertIn('"zfs list" did not finish within 0.3s', str(e))
        self.assertTrue(transport.closed)


class WarmUpTest(ExecutorTestCase):
    """warm_up() runs at start-up, when the host may well be down."""

    def executor(self, min_pool):
        return ssh.SSHExecutor('192.0.2.10', private_key='/k',
                               min_pool=min_pool, max_pool=5)

    def test_opens_min_pool_connections(self):
        ex = self.executor(3)
        self.transports = [FakeTransport() for _i in range(3)]
        self.assertEqual(3, ex.warm_up())
        self.assertEqual(3, ex._pool.idle_count())
        self.assertEqual(0, ex.warm_up())
        self.assertEqual(3, self.connect.call_count)

    def test_host_down_is_a_warning_not_an_error(self):
        ex = self.executor(3)
        self.transports = [ssh._NotSent('ZFS host 192.0.2.10:22',
                                        'cannot connect: refused')] * 3
        self.assertEqual(0, ex.warm_up())
        self.assertEqual(1, self.connect.call_count)
        self.assertIn('opened 0 of 3', self.log.output)
        self.assertIn('cannot connect: refused', self.log.output)

    def test_counts_what_it_opened_before_a_failure(self):
        ex = self.executor(3)
        self.transports = [FakeTransport(), errors.HostKeyError('changed')]
        self.assertEqual(1, ex.warm_up())
        self.assertEqual(1, ex._pool.idle_count())
        self.assertIn('changed', self.log.output)

    def test_deadline_reaches_the_connect(self):
        ex = self.executor(1)
        self.transports = [FakeTransport()]
        self.assertEqual(1, ex.warm_up(deadline=5))
        self.assertLessEqual(self.connect_budgets[0].left(), 5)


class ConnectTest(testtools.TestCase):
    """_connect and host keys, with paramiko.Transport mocked."""

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger())
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.known_hosts = os.path.join(self.dir, 'known_hosts')
        self.server_key = paramiko.ECDSAKey.generate()
        self.transport = mock.Mock()
        self.transport.get_remote_server_key.return_value = self.server_key
        self.transport.get_security_options.return_value.key_types = [
            'ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512']
        self.useFixture(fixtures.MockPatch('paramiko.Transport',
                                           return_value=self.transport))
        self.useFixture(fixtures.MockPatchObject(
            ssh.SSHExecutor, '_open_socket'))
        self.key = self.useFixture(fixtures.MockPatch(
            'paramiko.PKey.from_path')).mock.return_value

    def executor(self, **kw):
        args = dict(port=2222, private_key='/k',
                    known_hosts_file=self.known_hosts)
        args.update(kw)
        return ssh.SSHExecutor('192.0.2.10', **args)

    def pin(self, key):
        with open(self.known_hosts, 'w') as f:
            f.write('[192.0.2.10]:2222 %s %s\n' % (key.get_name(),
                                                   key.get_base64()))

    def test_known_key_accepted_and_preferred(self):
        self.pin(self.server_key)
        self.assertIs(self.transport, self.executor()._connect())
        self.transport.auth_publickey.assert_called_once_with('root',
                                                              self.key)
        self.transport.auth_password.assert_not_called()
        self.transport.set_keepalive.assert_called_once_with(30)
        self.assertEqual(
            'ecdsa-sha2-nistp256',
            self.transport.get_security_options().key_types[0])

    def test_unknown_key_refused_when_strict(self):
        e = self.assertRaises(errors.HostKeyError, self.executor()._connect)
        msg = str(e)
        self.assertIn('[192.0.2.10]:2222', msg)
        self.assertIn(ssh.fingerprint(self.server_key), msg)
        self.assertIn('ssh-keyscan -p 2222', msg)
        self.assertIn('zol_ssh_strict_host_key', msg)
        self.transport.close.assert_called_once_with()
        self.transport.auth_publickey.assert_not_called()

    def test_unknown_key_recorded_on_first_use(self):
        self.executor(strict_host_key=False)._connect()
        keys = paramiko.HostKeys(self.known_hosts)
        self.assertEqual(self.server_key.asbytes(),
                         keys.lookup('[192.0.2.10]:2222')[
                             self.server_key.get_name()].asbytes())
        self.assertIn('on first use', self.log.output)
        # Now pinned: a strict executor accepts it.
        self.executor()._connect()

    def test_changed_key_refused_even_without_strict(self):
        self.pin(paramiko.ECDSAKey.generate())
        e = self.assertRaises(errors.HostKeyError,
                              self.executor(strict_host_key=False)._connect)
        self.assertIn('HAS CHANGED', str(e))
        self.assertIn(ssh.fingerprint(self.server_key), str(e))
        self.assertIn('ssh-keygen -R', str(e))

    def test_password_only_when_configured(self):
        self.pin(self.server_key)
        self.transport.auth_publickey.side_effect = (
            paramiko.AuthenticationException('denied'))
        e = self.assertRaises(errors.TransportError,
                              self.executor()._connect)
        self.assertIn('authentication as root failed', str(e))
        self.transport.auth_password.assert_not_called()
        self.executor(password='pw')._connect()
        self.transport.auth_password.assert_called_once_with('root', 'pw')

    def test_authentication_timeout_is_retryable(self):
        """A login that stalls (a link dropping packets) is not a refusal.

        paramiko says "Authentication timeout." when no answer came within
        auth_timeout; nothing was sent, so the executor may try again. The
        fault suite's link drop failed a create from an image this way: the
        transfer's new login gave up where the control path rode it out.
        """
        self.pin(self.server_key)
        self.transport.auth_publickey.side_effect = (
            paramiko.AuthenticationException('Authentication timeout.'))
        e = self.assertRaises(ssh._NotSent,
                              self.executor(password='pw')._connect)
        self.assertIn('no answer to the login', str(e))
        self.transport.auth_password.assert_not_called()
        self.transport.close.assert_called()

    def test_password_alone(self):
        self.pin(self.server_key)
        self.executor(private_key=None, password='pw')._connect()
        self.transport.auth_publickey.assert_not_called()
        self.transport.auth_password.assert_called_once_with('root', 'pw')

    def test_needs_key_or_password(self):
        self.assertRaises(errors.TransportError, ssh.SSHExecutor, 'h')

    def test_handshake_failure_is_retryable(self):
        self.transport.start_client.side_effect = paramiko.SSHException(
            'Error reading SSH protocol banner')
        self.assertRaises(ssh._NotSent, self.executor()._connect)

    def test_connection_refused_is_retryable(self):
        ssh.SSHExecutor._open_socket.side_effect = ConnectionRefusedError()
        self.assertRaises(ssh._NotSent, self.executor()._connect)

    def test_each_connect_step_waits_at_most_what_is_left(self):
        self.pin(self.server_key)
        ex = self.executor(conn_timeout=30)
        ex._connect(ssh._Budget(2.5, lambda: 100.0))
        ssh.SSHExecutor._open_socket.assert_called_once_with(2.5)
        self.transport.start_client.assert_called_once_with(timeout=2.5)
        self.assertEqual((2.5, 2.5, 2.5), (
            self.transport.banner_timeout, self.transport.handshake_timeout,
            self.transport.auth_timeout))

    def test_without_budget_each_step_waits_the_connect_timeout(self):
        self.pin(self.server_key)
        self.executor(conn_timeout=30)._connect()
        ssh.SSHExecutor._open_socket.assert_called_once_with(30)
        self.transport.start_client.assert_called_once_with(timeout=30)
        self.assertEqual(30, self.transport.auth_timeout)


class KeyLoadingTest(testtools.TestCase):

    def test_real_key_with_passphrase(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'k')
        paramiko.ECDSAKey.generate().write_private_key_file(
            path, password='pass phrase')
        ex = ssh.SSHExecutor('h', private_key=path,
                             key_passphrase='pass phrase')
        self.assertIsInstance(ex._pkey, paramiko.ECDSAKey)
        self.assertRaises(errors.TransportError, ssh.SSHExecutor, 'h',
                          private_key=path)
        e = self.assertRaises(errors.TransportError, ssh.SSHExecutor, 'h',
                              private_key=path, key_passphrase='wrong-pw')
        self.assertNotIn('wrong-pw', str(e))

    def test_missing_key_file(self):
        path = tempfile.mktemp()
        e = self.assertRaises(errors.TransportError, ssh.SSHExecutor, 'h',
                              private_key=path)
        self.assertIn('SSH private key %s: cannot load' % path, str(e))
        self.assertIn('No such file', str(e))

    def test_unreadable_key_file(self):
        path = self.useFixture(fixtures.TempDir()).path
        e = self.assertRaises(errors.TransportError, ssh.SSHExecutor, 'h',
                              private_key=path)
        self.assertIn('SSH private key %s: cannot load' % path, str(e))
        with mock.patch('paramiko.PKey.from_path',
                        side_effect=PermissionError(13, 'Permission denied')):
            e = self.assertRaises(errors.TransportError, ssh.SSHExecutor,
                                  'h', private_key='/etc/cinder/id')
        self.assertIn('SSH private key /etc/cinder/id: cannot load '
                      '(PermissionError)', str(e))

    def test_not_a_private_key(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'k')
        with open(path, 'w') as f:
            f.write('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 a public key\n')
        e = self.assertRaises(errors.TransportError, ssh.SSHExecutor, 'h',
                              private_key=path)
        self.assertIn('SSH private key %s: cannot load' % path, str(e))

    def test_key_type_paramiko_cannot_use(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'k')
        with open(path, 'wb') as f:
            f.write(ed448.Ed448PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
        e = self.assertRaises(errors.TransportError, ssh.SSHExecutor, 'h',
                              private_key=path)
        self.assertIn('SSH private key %s: cannot load' % path, str(e))
        self.assertIn('unsupported key type Ed448PrivateKey', str(e))


class FromConfigurationTest(testtools.TestCase):

    def test_reads_san_and_zol_options(self):
        conf = mock.Mock(
            san_ip='192.0.2.5', san_ssh_port=2022, san_login='cinder',
            san_private_key='/etc/cinder/id', san_password='',
            ssh_conn_timeout=7, ssh_min_pool_conn=1, ssh_max_pool_conn=4,
            zol_ssh_known_hosts_file='/etc/cinder/kh',
            zol_ssh_strict_host_key=False, zol_ssh_command_timeout=60,
            zol_ssh_keepalive_interval=0, zol_ssh_retries=2,
            zol_max_streams=3)
        with mock.patch('paramiko.PKey.from_path') as from_path:
            ex = ssh.SSHExecutor.from_configuration(conf)
        from_path.assert_called_once_with('/etc/cinder/id', None)
        self.assertEqual(('192.0.2.5', 2022, 'cinder'),
                         (ex.host, ex.port, ex.login))
        self.assertEqual((7, 60, 0, 2), (ex.conn_timeout, ex.command_timeout,
                                         ex.keepalive, ex.retries))
        self.assertIsNone(ex._password)
        self.assertEqual('/etc/cinder/kh', ex._host_keys.path)
        self.assertFalse(ex._host_keys.strict)
        self.assertEqual((4, 67), ex._pool_args)
        self.assertEqual(3, ex.max_streams)

    def test_max_streams_defaults_before_its_option_exists(self):
        names = ['san_ip', 'san_ssh_port', 'san_login', 'san_private_key',
                 'san_password', 'ssh_conn_timeout', 'ssh_min_pool_conn',
                 'ssh_max_pool_conn', 'zol_ssh_known_hosts_file',
                 'zol_ssh_strict_host_key', 'zol_ssh_command_timeout',
                 'zol_ssh_keepalive_interval', 'zol_ssh_retries']
        conf = mock.Mock(spec=names, san_password='pw', san_private_key='',
                         san_ssh_port=22, ssh_conn_timeout=30,
                         ssh_min_pool_conn=1, ssh_max_pool_conn=5,
                         zol_ssh_command_timeout=120, zol_ssh_retries=3)
        self.assertEqual(2, ssh.SSHExecutor.from_configuration(
            conf).max_streams)
