"""Run an argv on the ZFS host over SSH: pooled, host-key-strict, timed.

Why it looks like this (measured on a loopback sshd, see
benchmarks/ssh_latency.py): a new SSH connection costs tens of ms, an exec
channel on a warm connection costs little *if* the socket has TCP_NODELAY
(without it every channel request waits ~40 ms for a delayed ACK).  So we
keep a small pool of warm transports and open one exec channel per command.

A command is retried only when it provably never reached the host (the
connection or the channel could not be opened); once the exec request is
sent, a failure is reported, never repeated blindly.

Works under eventlet and under native threads: every lock, semaphore and
event is created when an executor is built, from the ``threading`` module
as it is then (green after ``eventlet.monkey_patch()``).
"""

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import socket
import threading
import time

from oslo_concurrency import processutils
from oslo_log import log as logging
import paramiko
import tenacity

from zol_driver import errors

LOG = logging.getLogger(__name__)

# doc/wrapper-protocol.rst: the words the wrapper accepts.
SAFE_WORD = re.compile(r'^[A-Za-z0-9_.:/@=,-]+$')
MAX_WORD = 128
MAX_COMMAND = 1024

_BUF = 65536
_POLL = 0.2          # seconds; wakes a blocked read to check deadlines
_RSA_TYPES = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']


class UnsafeArgument(ValueError):
    """A word of the argv is outside the wrapper's safe character set."""


class _NotSent(errors.TransportError):
    """Transport failed before the command was sent: safe to retry."""


def join_argv(argv):
    """The command line the wrapper will split back into exactly ``argv``.

    Refuses (before anything is sent) any word the wrapper would refuse, so
    no quoting is ever needed and nothing is ever evaluated.
    """
    words = [w if isinstance(w, str) else str(w) for w in argv]
    if not words:
        raise UnsafeArgument('empty command')
    for word in words:
        if not SAFE_WORD.match(word) or len(word) > MAX_WORD:
            raise UnsafeArgument('unsafe word in command: %r' % word[:80])
    command = ' '.join(words)
    if len(command) > MAX_COMMAND:
        raise UnsafeArgument('command longer than %d bytes: %s...'
                             % (MAX_COMMAND, command[:80]))
    return command


def fingerprint(key):
    """OpenSSH's SHA256 fingerprint of a paramiko key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return 'SHA256:' + base64.b64encode(digest).decode().rstrip('=')


def _accepted_codes(check_exit_code):
    """processutils.execute's reading of check_exit_code (None = any)."""
    if isinstance(check_exit_code, bool):
        return [0] if check_exit_code else None
    if isinstance(check_exit_code, int):
        return [check_exit_code]
    return list(check_exit_code)


def _why(exc):
    """An exception's message, or its class name when it has none."""
    return str(exc) or exc.__class__.__name__


def _text(chunks):
    return b''.join(chunks).decode('utf-8', 'replace')


class _HostKeys(object):
    """The known_hosts check for one host, with OpenSSH's semantics."""

    def __init__(self, host, port, path, strict, lock):
        self.name = host if port == 22 else '[%s]:%d' % (host, port)
        self.host, self.port = host, port
        self.path, self.strict, self._lock = path, strict, lock

    def known(self):
        """{key type: key} pinned for this host (re-read every time)."""
        keys = paramiko.HostKeys()
        if self.path and os.path.exists(self.path):
            try:
                keys.load(self.path)
            except (OSError, paramiko.SSHException) as e:
                raise errors.HostKeyError(
                    'known_hosts file %s' % self.path, str(e))
        return dict(keys.lookup(self.name) or {})

    def prefer(self, transport, known):
        """Negotiate a host key type we have pinned, as OpenSSH does."""
        if not known:
            return
        options = transport.get_security_options()
        first = []
        for key_type in known:
            first.extend(_RSA_TYPES if key_type == 'ssh-rsa' else [key_type])
        first = [t for t in first if t in options.key_types]
        options.key_types = first + [t for t in options.key_types
                                     if t not in first]

    def verify(self, key, known):
        """Accept the server's key, record it (TOFU), or refuse it."""
        pinned = known.get(key.get_name())
        if pinned is not None and pinned.asbytes() == key.asbytes():
            return
        if known:
            raise errors.HostKeyError(self._changed_message(key, known))
        if self.strict:
            raise errors.HostKeyError(self._unknown_message(key))
        self._record(key)

    def _record(self, key):
        LOG.warning('Trusting SSH host key of ZFS host %(name)s on first '
                    'use: %(type)s %(fp)s (recorded in %(file)s).',
                    {'name': self.name, 'type': key.get_name(),
                     'fp': fingerprint(key), 'file': self.path})
        if not self.path:
            return
        line = '%s %s %s\n' % (self.name, key.get_name(), key.get_base64())
        try:
            with self._lock, open(self.path, 'a') as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                f.write(line)
        except OSError as e:
            raise errors.HostKeyError(
                'ZFS host %s' % self.name,
                'cannot record host key in %s: %s' % (self.path, e))

    def _unknown_message(self, key):
        short = key.get_name().replace('ssh-', '').split('-')[0]
        return ('SSH host key of ZFS host %(name)s is unknown: %(type)s '
                '%(fp)s is not in %(file)s. Check the fingerprint on the host '
                '(ssh-keygen -lf /etc/ssh/ssh_host_%(short)s_key.pub), then '
                'add it, e.g. "ssh-keyscan -p %(port)d -t %(short)s %(host)s '
                '>> %(file)s", or set zol_ssh_strict_host_key = False to '
                'trust it on first use.'
                % {'name': self.name, 'type': key.get_name(),
                   'fp': fingerprint(key), 'file': self.path,
                   'short': short, 'port': self.port, 'host': self.host})

    def _changed_message(self, key, known):
        pinned = ', '.join('%s %s' % (t, fingerprint(k))
                           for t, k in sorted(known.items()))
        return ('SSH host key of ZFS host %(name)s HAS CHANGED: it presents '
                '%(type)s %(fp)s but %(file)s pins %(pinned)s. This may be '
                'an attack. If the host was reinstalled, verify the new '
                'fingerprint on the host, then run "ssh-keygen -R '
                '\'%(name)s\' -f %(file)s" and add the new key.'
                % {'name': self.name, 'type': key.get_name(),
                   'fp': fingerprint(key), 'file': self.path,
                   'pinned': pinned})


class _Pool(object):
    """At most ``size`` transports; idle ones are reused newest first."""

    def __init__(self, size, wait):
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle = []
        self._wait = wait
        self.closed = False

    @contextlib.contextmanager
    def slot(self):
        if not self._slots.acquire(timeout=self._wait):
            raise errors.TransportError(
                'SSH pool', 'no connection free after %ss' % self._wait)
        try:
            yield
        finally:
            self._slots.release()

    def take(self):
        """An idle live transport, or None; dead ones are dropped."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                transport = self._idle.pop()
            if transport.is_active():
                return transport
            LOG.debug('Dropping dead pooled SSH connection.')
            transport.close()

    def give(self, transport):
        with self._lock:
            if not self.closed:
                self._idle.append(transport)
                return
        transport.close()

    def close(self):
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for transport in idle:
            transport.close()


class SSHExecutor(object):
    """``executor(*argv, check_exit_code=True, process_input=None)``.

    Same contract as processutils.execute, run on the ZFS host through its
    forced-command wrapper.  ``round_trips`` counts commands sent.
    """

    # Backoff between attempts when the transport failed before sending.
    retry_wait = (tenacity.wait_exponential(multiplier=0.2, max=5) +
                  tenacity.wait_random(0, 0.1))

    def __init__(self, host, port=22, login='root', private_key=None,
                 password=None, key_passphrase=None, known_hosts_file=None,
                 strict_host_key=True, conn_timeout=30, command_timeout=120,
                 min_pool=1, max_pool=5, keepalive=30, retries=3):
        if not private_key and not password:
            raise errors.TransportError(
                'ZFS host %s' % host,
                'configure san_private_key (or san_password)')
        self.host, self.port, self.login = host, int(port), login
        self.conn_timeout = conn_timeout or None
        self.command_timeout = command_timeout
        self.min_pool = min(min_pool, max_pool)
        self.keepalive = keepalive
        self.retries = max(1, retries)
        self.round_trips = 0
        self._password = password
        self._pkey = self._load_key(private_key, key_passphrase)
        self._count_lock = threading.Lock()
        self._host_keys = _HostKeys(host, self.port, known_hosts_file,
                                    strict_host_key, threading.Lock())
        self._pool_args = (max_pool, (conn_timeout or 30) + command_timeout)
        self._pool = _Pool(*self._pool_args)

    @classmethod
    def from_configuration(cls, conf):
        """Build from a Cinder backend configuration (SAN + zol options)."""
        return cls(conf.san_ip,
                   port=conf.san_ssh_port,
                   login=conf.san_login,
                   private_key=conf.san_private_key or None,
                   password=conf.san_password or None,
                   known_hosts_file=conf.zol_ssh_known_hosts_file,
                   strict_host_key=conf.zol_ssh_strict_host_key,
                   conn_timeout=conf.ssh_conn_timeout,
                   command_timeout=conf.zol_ssh_command_timeout,
                   min_pool=conf.ssh_min_pool_conn,
                   max_pool=conf.ssh_max_pool_conn,
                   keepalive=conf.zol_ssh_keepalive_interval,
                   retries=conf.zol_ssh_retries)

    # -- public interface ----------------------------------------------

    def __call__(self, *argv, check_exit_code=True, process_input=None,
                 timeout=None):
        command = join_argv(argv)
        if isinstance(process_input, str):
            process_input = process_input.encode('utf-8')
        feed = [process_input] if process_input else []
        out = []
        err = self._execute(command, feed, out.append, check_exit_code,
                            timeout or self.command_timeout, idle=False,
                            stdout=out)
        return _text(out), err

    execute = __call__

    def stream_to(self, argv, fileobj, check_exit_code=True,
                  block_size=1048576):
        """Send ``fileobj``'s bytes to the command's stdin.

        The command timeout applies to inactivity, not to the whole copy.
        """
        blocks = iter(lambda: fileobj.read(block_size), b'')
        out = []
        err = self._execute(join_argv(argv), blocks, out.append,
                            check_exit_code, self.command_timeout, idle=True,
                            stdout=out)
        return _text(out), err

    def stream_from(self, argv, fileobj, check_exit_code=True):
        """Write the command's stdout to ``fileobj`` (inactivity timeout)."""
        err = self._execute(join_argv(argv), [], fileobj.write,
                            check_exit_code, self.command_timeout, idle=True)
        return '', err

    def warm_up(self):
        """Open ``min_pool`` connections now rather than on first use."""
        with contextlib.ExitStack() as stack:
            for _i in range(self.min_pool):
                stack.enter_context(self._pool.slot())
                self._pool.give(self._retrying(self._connect))

    def close(self):
        """Close every pooled connection; later calls reconnect."""
        pool, self._pool = self._pool, _Pool(*self._pool_args)
        pool.close()

    # -- running one command -------------------------------------------

    def _execute(self, command, feed, sink, check_exit_code, timeout, idle,
                 stdout=None):
        LOG.debug('ZFS host %(host)s: running "%(cmd)s"',
                  {'host': self.host, 'cmd': command})
        start = time.monotonic()
        try:
            code, err = self._retrying(self._run, command, feed, sink,
                                       timeout, idle)
        except _NotSent as e:
            raise errors.TransportError(
                'ZFS host %s:%d' % (self.host, self.port),
                '%s (command "%s" not sent)' % (e.detail, command)) from e
        LOG.debug('ZFS host %(host)s: "%(cmd)s" exited %(code)s in '
                  '%(ms).1f ms', {'host': self.host, 'cmd': command,
                                  'code': code,
                                  'ms': (time.monotonic() - start) * 1000})
        accepted = _accepted_codes(check_exit_code)
        if accepted is not None and code not in accepted:
            raise processutils.ProcessExecutionError(
                stdout=_text(stdout or []), stderr=err, exit_code=code,
                cmd=command)
        return err

    def _retrying(self, func, *args):
        retryer = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retries),
            wait=self.retry_wait,
            retry=tenacity.retry_if_exception_type(_NotSent),
            before_sleep=self._log_retry,
            reraise=True)
        return retryer(func, *args)

    def _log_retry(self, state):
        LOG.warning('%(err)s; retrying (attempt %(n)d of %(max)d).',
                    {'err': state.outcome.exception(),
                     'n': state.attempt_number + 1, 'max': self.retries})

    def _run(self, command, feed, sink, timeout, idle):
        """One attempt: check out a transport, run, check it back in."""
        with self._pool.slot():
            transport = self._pool.take() or self._connect()
            ok = False
            try:
                result = self._run_on(transport, command, feed, sink,
                                      timeout, idle)
                ok = True
                return result
            finally:
                if ok and transport.is_active():
                    self._pool.give(transport)
                else:
                    transport.close()

    def _run_on(self, transport, command, feed, sink, timeout, idle):
        try:
            channel = transport.open_session(timeout=self.conn_timeout)
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise _NotSent('ZFS host %s' % self.host,
                           'cannot open SSH channel: %s' % _why(e))
        with self._count_lock:
            self.round_trips += 1
        with contextlib.closing(channel):
            try:
                channel.exec_command(command)
                self._send(channel, feed, command, timeout)
                err = []
                self._read(channel, sink, err, command, timeout, idle)
                return self._exit_code(channel, transport, command,
                                       timeout), _text(err)
            except (paramiko.SSHException, EOFError, OSError) as e:
                raise errors.TransportError(
                    'ZFS host %s' % self.host,
                    'SSH session broke during "%s" (it may have run): %s'
                    % (command, _why(e))) from e

    def _send(self, channel, feed, command, timeout):
        """Write the input, then EOF, so a command never waits on stdin."""
        channel.settimeout(timeout)
        try:
            for block in feed:
                channel.sendall(block)
        except socket.timeout:
            self._check_deadline(0, command, timeout)
        except OSError:
            # The command exited early; its exit code tells why.
            LOG.debug('Command stopped reading its input early.')
        finally:
            if not channel.closed:
                channel.shutdown_write()

    def _read(self, channel, sink, err, command, timeout, idle):
        """Collect stdout into ``sink`` and stderr into ``err``."""
        channel.settimeout(_POLL)
        deadline = time.monotonic() + timeout
        for recv in (channel.recv, channel.recv_stderr):
            while True:
                try:
                    data = recv(_BUF)
                except socket.timeout:
                    while channel.recv_stderr_ready():
                        err.append(channel.recv_stderr(_BUF))
                    self._check_deadline(deadline, command, timeout)
                    continue
                if not data:
                    break
                (sink if recv == channel.recv else err.append)(data)
                if idle:
                    deadline = time.monotonic() + timeout

    def _exit_code(self, channel, transport, command, timeout):
        if not channel.status_event.wait(timeout):
            self._check_deadline(0, command, timeout)
        code = channel.exit_status
        if code == -1 and not transport.is_active():
            raise errors.TransportError(
                'ZFS host %s' % self.host,
                'connection lost during "%s" (it may have run)' % command)
        return code

    def _check_deadline(self, deadline, command, timeout):
        if time.monotonic() >= deadline:
            raise errors.CommandTimeout(
                'ZFS host %s' % self.host,
                '"%s" did not finish within %ss' % (command, timeout))

    # -- connections ---------------------------------------------------

    @staticmethod
    def _load_key(path, passphrase):
        if not path:
            return None
        if isinstance(passphrase, str):
            passphrase = passphrase.encode('utf-8')
        try:
            return paramiko.PKey.from_path(os.path.expanduser(path),
                                           passphrase)
        except (OSError, ValueError, TypeError, paramiko.SSHException) as e:
            # The library's message never holds the passphrase.
            raise errors.TransportError(
                'SSH private key %s' % path, 'cannot load (%s): %s'
                % (e.__class__.__name__, e)) from e

    def _connect(self):
        """A new authenticated transport with a verified host key."""
        where = 'ZFS host %s:%d' % (self.host, self.port)
        try:
            sock = self._open_socket()
        except OSError as e:
            raise _NotSent(where, 'cannot connect: %s' % _why(e))
        transport = paramiko.Transport(sock)
        try:
            self._handshake(transport)
        except paramiko.AuthenticationException as e:
            transport.close()
            raise errors.TransportError(
                where, 'authentication as %s failed: %s' % (self.login, e))
        except errors.ZolError:
            transport.close()
            raise
        except (paramiko.SSHException, EOFError, OSError) as e:
            transport.close()
            raise _NotSent(where, 'SSH handshake failed: %s' % (
                _why(e)))
        if self.keepalive:
            transport.set_keepalive(self.keepalive)
        LOG.debug('Opened SSH connection to %s as %s.', where, self.login)
        return transport

    def _open_socket(self):
        """TCP socket; NODELAY saves a delayed-ACK wait per channel."""
        sock = socket.create_connection((self.host, self.port),
                                        self.conn_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock

    def _handshake(self, transport):
        timeout = self.conn_timeout
        if timeout:
            transport.banner_timeout = timeout
            transport.handshake_timeout = timeout
            transport.auth_timeout = timeout
        known = self._host_keys.known()
        self._host_keys.prefer(transport, known)
        transport.start_client(timeout=timeout)
        self._host_keys.verify(transport.get_remote_server_key(), known)
        if self._pkey is not None:
            try:
                transport.auth_publickey(self.login, self._pkey)
                return
            except paramiko.AuthenticationException:
                if not self._password:
                    raise
        transport.auth_password(self.login, self._password)
