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

"""Run an argv on the ZFS host over SSH: pooled, host-key-strict, timed.

Why it looks like this (measured on a loopback sshd, see
benchmarks/ssh_latency.py): a new SSH connection costs tens of ms, an exec
channel on a warm connection costs little *if* the socket has TCP_NODELAY
(without it every channel request waits ~40 ms for a delayed ACK).  So we
keep a small pool of warm transports and open one exec channel per command.

A command is retried only when it provably never reached the host (the
connection or the channel could not be opened); once the exec request is
sent, a failure is reported, never repeated blindly.  A pooled connection
that cannot even open a channel is taken as a sign that the host went away
(a reboot leaves every pooled connection dead): the whole idle pool is
dropped and a fresh connection is tried at once, without spending a retry.

Image streams run on their own transports under their own limit
(``max_streams``), so hour-long copies never starve control commands (and
the stats that keep the backend up).  A call may carry a ``deadline``: one
budget that bounds every wait of that call, so callers with an RPC timeout
of their own always get an answer in time.

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
MAX_COMMAND = 4096

_BUF = 65536
_POLL = 0.2          # seconds; wakes a blocked read to check deadlines
_RSA_TYPES = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']


def _timed_out(auth_error):
    """paramiko's "Authentication timeout.": no answer, not a refusal."""
    return 'timeout' in str(auth_error).lower()


class UnsafeArgument(ValueError):
    """A word of the argv is outside the wrapper's safe character set."""


class _NotSent(errors.TransportError):
    """Transport failed before the command was sent: safe to retry."""


def is_safe_word(word):
    """True if the wrapper accepts ``word`` as one word of a command."""
    return bool(word) and len(word) <= MAX_WORD and \
        SAFE_WORD.match(word) is not None


def join_argv(argv):
    """The command line the wrapper will split back into exactly ``argv``.

    Refuses (before anything is sent) any word the wrapper would refuse, so
    no quoting is ever needed and nothing is ever evaluated.
    """
    words = [w if isinstance(w, str) else str(w) for w in argv]
    if not words:
        raise UnsafeArgument('empty command')
    for word in words:
        if not is_safe_word(word):
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


class _Budget(object):
    """What is left of one call's ``deadline`` (seconds; None: no bound).

    Every wait of the call is cut to what is left, so the whole call ends
    within its deadline whatever step it is stuck in.
    """

    def __init__(self, seconds, clock):
        self.seconds = seconds
        self._clock = clock
        self.end = None if seconds is None else clock() + max(0, seconds)
        self.last_error = None      # why the last attempt failed

    def left(self):
        """Seconds left (never negative), or None without a deadline."""
        if self.end is None:
            return None
        return max(0.0, self.end - self._clock())

    def cap(self, timeout):
        """``timeout`` cut to what is left (None: no limit)."""
        left = self.left()
        if left is None:
            return timeout
        return left if timeout is None else min(timeout, left)

    def binds(self, timeout):
        """Whether the deadline, not ``timeout``, is the nearer limit."""
        left = self.left()
        return left is not None and (timeout is None or left < timeout)

    def spent(self):
        return self.end is not None and self._clock() >= self.end

    def give_up(self):
        """No time for another attempt: count the deadline as reached."""
        self.end = min(self.end, self._clock())

    def __str__(self):
        return 'the %ss deadline of this call' % self.seconds


class _RunLimit(object):
    """How long one sent command may run, and how to say it ran out.

    Fixed (``idle=False``): the whole run, from the exec request to the
    exit status.  Idle (streams): the time without progress.
    """

    def __init__(self, host, command, timeout, idle, budget, clock):
        self.seconds = budget.cap(timeout)
        self._why = ('%s (it may have run)' % budget
                     if budget.binds(timeout) else '%ss' % timeout)
        self._host, self._command = host, command
        self._idle, self._clock = idle, clock
        self.end = clock() + self.seconds

    def progress(self):
        """Data moved: an idle limit starts again."""
        if self._idle:
            self.end = self._clock() + self.seconds

    def left(self):
        return max(0.0, self.end - self._clock())

    def check(self):
        if self._clock() >= self.end:
            raise self.expired()

    def expired(self):
        return errors.CommandTimeout(
            'ZFS host %s' % self._host,
            '"%s" did not finish within %s' % (self._command, self._why))


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
    """At most ``size`` transports; idle ones are reused newest first.

    ``wait``: how long a command waits for a free slot (None: as long as
    it takes).
    """

    def __init__(self, size, wait, kind='SSH connection'):
        self.size = size
        self.wait = wait
        self.kind = kind
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle = []
        self.closed = False

    def acquire(self, timeout):
        """A slot within ``timeout`` seconds (None: wait for one)."""
        if self._slots.acquire(blocking=False):
            return True
        LOG.debug('All %(n)d %(kind)s slots busy; waiting.',
                  {'n': self.size, 'kind': self.kind})
        return self._slots.acquire(timeout=timeout)

    def release(self):
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
        """Keep ``transport`` idle (never more than ``size`` of them)."""
        with self._lock:
            if not self.closed and len(self._idle) < self.size:
                self._idle.append(transport)
                return
        transport.close()

    def idle_count(self):
        with self._lock:
            return len(self._idle)

    def drop_idle(self):
        """Close every idle transport; how many there were."""
        with self._lock:
            idle, self._idle = self._idle, []
        for transport in idle:
            transport.close()
        return len(idle)

    def close(self):
        with self._lock:
            self.closed = True
        self.drop_idle()


class SSHExecutor(object):
    """``executor(*argv, check_exit_code=True, process_input=None)``.

    Same contract as processutils.execute, run on the ZFS host through its
    forced-command wrapper, plus ``timeout=`` and ``deadline=`` (seconds).
    ``round_trips`` counts commands sent.  Commands share ``max_pool``
    connections; stream_to/stream_from share ``max_streams`` others.
    """

    # Backoff between attempts when the transport failed before sending.
    retry_wait = (tenacity.wait_exponential(multiplier=0.2, max=5) +
                  tenacity.wait_random(0, 0.1))

    def __init__(self, host, port=22, login='root', private_key=None,
                 password=None, key_passphrase=None, known_hosts_file=None,
                 strict_host_key=True, conn_timeout=30, command_timeout=120,
                 min_pool=1, max_pool=5, keepalive=30, retries=3,
                 max_streams=2):
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
        self.max_streams = max(1, int(max_streams))
        self.round_trips = 0
        self._password = password
        self._pkey = self._load_key(private_key, key_passphrase)
        self._count_lock = threading.Lock()
        self._host_keys = _HostKeys(host, self.port, known_hosts_file,
                                    strict_host_key, threading.Lock())
        self._pool_args = (max_pool, (conn_timeout or 30) + command_timeout)
        self._pool = _Pool(*self._pool_args)
        # Streams wait as long as it takes for a stream slot: each stream
        # in progress either moves data or ends on its inactivity timeout.
        self._stream_args = (self.max_streams, None, 'image stream')
        self._streams = _Pool(*self._stream_args)

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
                   retries=conf.zol_ssh_retries,
                   # Read safely: the option may not be registered yet.
                   max_streams=getattr(conf, 'zol_max_streams', None) or 2)

    # -- public interface ----------------------------------------------

    def __call__(self, *argv, check_exit_code=True, process_input=None,
                 timeout=None, deadline=None):
        """Run ``argv``; ``deadline`` (seconds) bounds the whole call.

        The deadline covers the wait for a pool slot, every connect attempt
        and retry backoff, and the run itself (``timeout``, default the
        command timeout, is cut to what is left, never lengthened).
        Exceeded: CommandTimeout if the command was sent (it may have run),
        TransportError if it was not.
        """
        budget = _Budget(deadline, self._now)
        command = join_argv(argv)
        if isinstance(process_input, str):
            process_input = process_input.encode('utf-8')
        feed = [process_input] if process_input else []
        out = []
        err = self._execute(self._pool, command, feed, out.append,
                            check_exit_code, timeout or self.command_timeout,
                            False, budget, stdout=out)
        return _text(out), err

    execute = __call__

    def stream_to(self, argv, fileobj, check_exit_code=True,
                  block_size=1048576):
        """Send ``fileobj``'s bytes to the command's stdin.

        The command timeout applies to inactivity, not to the whole copy.
        Runs on a stream slot and transport, never on the control pool.
        """
        blocks = iter(lambda: fileobj.read(block_size), b'')
        out = []
        err = self._execute(self._streams, join_argv(argv), blocks,
                            out.append, check_exit_code, self.command_timeout,
                            True, _Budget(None, self._now), stdout=out)
        return _text(out), err

    def stream_from(self, argv, fileobj, check_exit_code=True,
                    process_input=None):
        """Write the command's stdout to ``fileobj`` (inactivity timeout).

        Runs on a stream slot and transport, never on the control pool.
        ``process_input`` (a few bytes, e.g. a resume token) goes to stdin.
        """
        if isinstance(process_input, str):
            process_input = process_input.encode('utf-8')
        feed = [process_input] if process_input else []
        err = self._execute(self._streams, join_argv(argv), feed,
                            fileobj.write, check_exit_code,
                            self.command_timeout, True,
                            _Budget(None, self._now))
        return '', err

    def warm_up(self, deadline=None):
        """Open connections until ``min_pool`` are idle; how many it opened.

        Safe at start-up: failing to connect (host down, refused key...) is
        logged as a warning, never raised, since every command connects
        when it needs to anyway.  One attempt per connection and none after
        a failure, so a down host costs one connect timeout (or less, with
        ``deadline`` seconds).
        """
        budget = _Budget(deadline, self._now)
        pool = self._pool
        want = self.min_pool - pool.idle_count()
        opened = held = 0
        try:
            while opened < want and pool.acquire(0):
                held += 1
                pool.give(self._connect(budget))
                opened += 1
        except (errors.ZolError, paramiko.SSHException, EOFError,
                OSError) as e:
            LOG.warning('ZFS host %(host)s: opened %(n)d of %(want)d SSH '
                        'connections ahead of use; commands will connect '
                        'when needed: %(err)s',
                        {'host': self.host, 'n': opened, 'want': want,
                         'err': e})
        finally:
            for _i in range(held):
                pool.release()
        return opened

    def close(self):
        """Close every pooled connection; later calls reconnect."""
        pool, self._pool = self._pool, _Pool(*self._pool_args)
        streams, self._streams = self._streams, _Pool(*self._stream_args)
        pool.close()
        streams.close()

    # -- clock: methods, so tests can fake them and eventlet's patched
    #    sleep is looked up at each call --------------------------------

    def _now(self):
        return time.monotonic()

    def _sleep(self, seconds):
        time.sleep(seconds)

    # -- running one command -------------------------------------------

    def _execute(self, pool, command, feed, sink, check_exit_code, timeout,
                 idle, budget, stdout=None):
        LOG.debug('ZFS host %(host)s: running "%(cmd)s"',
                  {'host': self.host, 'cmd': command})
        start = time.monotonic()
        try:
            code, err = self._retrying(budget, self._run, pool, command,
                                       feed, sink, timeout, idle, budget)
        except _NotSent as e:
            detail = '%s (command "%s" not sent)' % (e.detail, command)
            if budget.spent():
                detail = 'gave up within %s: %s' % (budget, detail)
            raise errors.TransportError(
                'ZFS host %s:%d' % (self.host, self.port), detail) from e
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

    def _retrying(self, budget, func, *args):
        """Retry _NotSent: ``retries`` attempts, all within ``budget``."""
        def stop(state):
            return state.attempt_number >= self.retries or budget.spent()

        def wait(state):
            budget.last_error = state.outcome.exception()
            pause = self.retry_wait(state)
            left = budget.left()
            if left is not None and pause >= left:
                budget.give_up()        # the next attempt would start late
                return 0
            return pause

        retryer = tenacity.Retrying(
            stop=stop, wait=wait, sleep=self._sleep,
            retry=tenacity.retry_if_exception_type(_NotSent),
            before_sleep=self._log_retry,
            reraise=True)
        return retryer(func, *args)

    def _log_retry(self, state):
        LOG.warning('%(err)s; retrying (attempt %(n)d of %(max)d).',
                    {'err': state.outcome.exception(),
                     'n': state.attempt_number + 1, 'max': self.retries})

    def _run(self, pool, command, feed, sink, timeout, idle, budget):
        """One attempt: check out a transport, run, check it back in.

        A pooled transport that cannot even open a channel most likely
        predates a reboot of the host, and so do its idle siblings: all of
        them are closed and a new connection is tried in this same attempt,
        rather than one retry and backoff (and up to a connect timeout)
        spent on each of them.
        """
        if budget.spent():
            raise budget.last_error or _NotSent(
                'ZFS host %s' % self.host, 'no time left to try')
        by_deadline = budget.binds(pool.wait)
        if not pool.acquire(budget.cap(pool.wait)):
            raise errors.TransportError(
                'ZFS host %s' % self.host,
                'no %s free within %s (command "%s" not sent)'
                % (pool.kind, budget if by_deadline else
                   '%ss' % pool.wait, command))
        try:
            args = (command, feed, sink, timeout, idle, budget)
            transport = pool.take()
            if transport is not None:
                try:
                    return self._run_checked(pool, transport, *args)
                except _NotSent as e:
                    if budget.spent():
                        raise       # out of time, not proof of a stale pool
                    dropped = pool.drop_idle()
                    LOG.warning('ZFS host %(host)s: pooled SSH connection '
                                'failed (%(err)s); closed it and %(n)d idle '
                                'one(s), connecting afresh.',
                                {'host': self.host, 'err': e.detail,
                                 'n': dropped})
            transport = self._connect(budget)
            return self._run_checked(pool, transport, *args)
        finally:
            pool.release()

    def _run_checked(self, pool, transport, *args):
        """Run on ``transport``; pool it again only if all went well."""
        ok = False
        try:
            result = self._run_on(transport, *args)
            ok = True
            return result
        finally:
            if ok and transport.is_active():
                pool.give(transport)
            else:
                transport.close()

    def _run_on(self, transport, command, feed, sink, timeout, idle, budget):
        try:
            channel = transport.open_session(
                timeout=budget.cap(self.conn_timeout))
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise _NotSent('ZFS host %s' % self.host,
                           'cannot open SSH channel: %s' % _why(e))
        if budget.spent():
            channel.close()
            raise _NotSent('ZFS host %s' % self.host,
                           'no time left to send the command')
        with self._count_lock:
            self.round_trips += 1
        limit = _RunLimit(self.host, command, timeout, idle, budget,
                          self._now)
        fired = None
        with contextlib.closing(channel):
            try:
                with self._watchdog(transport, limit.left()) as fired:
                    channel.exec_command(command)
                self._send(channel, feed, limit)
                err = []
                self._read(channel, sink, err, limit)
                return self._exit_code(channel, transport, command,
                                       limit), _text(err)
            except (paramiko.SSHException, EOFError, OSError) as e:
                if fired is not None and fired.is_set():
                    raise limit.expired() from e
                raise errors.TransportError(
                    'ZFS host %s' % self.host,
                    'SSH session broke during "%s" (it may have run): %s'
                    % (command, _why(e))) from e

    @contextlib.contextmanager
    def _watchdog(self, transport, seconds):
        """Close ``transport`` if the block outlives ``seconds``.

        paramiko waits for the reply to an exec request without any
        timeout: a host that stalls right then would hold the caller (and
        its pool slot) for ever.
        """
        fired = threading.Event()

        def fire():
            fired.set()
            transport.close()
        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        timer.start()
        try:
            yield fired
        finally:
            timer.cancel()

    def _send(self, channel, feed, limit):
        """Write the input, then EOF, so a command never waits on stdin."""
        try:
            for block in feed:
                limit.progress()        # a slow source is not a stall
                channel.settimeout(limit.left())
                channel.sendall(block)
        except socket.timeout:
            raise limit.expired()
        except OSError:
            # The command exited early; its exit code tells why.
            LOG.debug('Command stopped reading its input early.')
        finally:
            if not channel.closed:
                channel.shutdown_write()

    def _read(self, channel, sink, err, limit):
        """Collect stdout into ``sink`` and stderr into ``err``."""
        channel.settimeout(_POLL)
        for recv in (channel.recv, channel.recv_stderr):
            while True:
                try:
                    data = recv(_BUF)
                except socket.timeout:
                    while channel.recv_stderr_ready():
                        err.append(channel.recv_stderr(_BUF))
                    limit.check()
                    continue
                if not data:
                    break
                (sink if recv == channel.recv else err.append)(data)
                limit.progress()

    def _exit_code(self, channel, transport, command, limit):
        if not channel.status_event.wait(limit.left()):
            raise limit.expired()
        code = channel.exit_status
        if code == -1 and not transport.is_active():
            raise errors.TransportError(
                'ZFS host %s' % self.host,
                'connection lost during "%s" (it may have run)' % command)
        return code

    # -- connections ---------------------------------------------------

    @staticmethod
    def _load_key(path, passphrase):
        """The private key at ``path``; any failure names the file."""
        if not path:
            return None
        if isinstance(passphrase, str):
            passphrase = passphrase.encode('utf-8')
        try:
            return paramiko.PKey.from_path(os.path.expanduser(path),
                                           passphrase)
        except paramiko.UnknownKeyType as e:
            # Not an SSHException; its own text is a repr of key bytes.
            raise errors.TransportError(
                'SSH private key %s' % path,
                'cannot load: unsupported key type %s; use an ed25519, '
                'ECDSA or RSA key' % getattr(e.key_type, '__name__',
                                             e.key_type)) from e
        except (OSError, ValueError, TypeError, paramiko.SSHException) as e:
            # The library's message never holds the passphrase.
            raise errors.TransportError(
                'SSH private key %s' % path, 'cannot load (%s): %s'
                % (e.__class__.__name__, e)) from e

    def _connect(self, budget=None):
        """A new authenticated transport with a verified host key.

        Each step (TCP connect, banner, key exchange, authentication) waits
        at most the connect timeout, cut to what is left of ``budget``.
        """
        where = 'ZFS host %s:%d' % (self.host, self.port)
        budget = budget or _Budget(None, self._now)
        if budget.spent():
            raise _NotSent(where, 'no time left to connect')
        try:
            sock = self._open_socket(budget.cap(self.conn_timeout))
        except OSError as e:
            raise _NotSent(where, 'cannot connect: %s' % _why(e))
        transport = paramiko.Transport(sock)
        try:
            self._handshake(transport, budget)
        except paramiko.AuthenticationException as e:
            transport.close()
            if _timed_out(e):       # a stalled link, not a refusal
                raise _NotSent(where, 'no answer to the login as %s within '
                               '%ss' % (self.login, transport.auth_timeout))
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

    def _open_socket(self, timeout):
        """TCP socket; NODELAY saves a delayed-ACK wait per channel."""
        sock = socket.create_connection((self.host, self.port), timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock

    def _handshake(self, transport, budget):
        timeout = budget.cap(self.conn_timeout)
        if timeout is not None:
            transport.banner_timeout = timeout
            transport.handshake_timeout = timeout
            transport.auth_timeout = timeout
        known = self._host_keys.known()
        self._host_keys.prefer(transport, known)
        transport.start_client(timeout=timeout)
        self._host_keys.verify(transport.get_remote_server_key(), known)
        timeout = budget.cap(self.conn_timeout)
        if timeout is not None:
            transport.auth_timeout = timeout
        if self._pkey is not None:
            try:
                transport.auth_publickey(self.login, self._pkey)
                return
            except paramiko.AuthenticationException as e:
                if not self._password or _timed_out(e):
                    raise
        transport.auth_password(self.login, self._password)
