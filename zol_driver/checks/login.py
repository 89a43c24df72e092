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

"""SSH checks: the private key, sshd, the host key, the login into the
wrapper, what the wrapper refuses, and its version.
"""

import os
import shutil
import socket
import tempfile
import threading
import time

import paramiko

from zol_driver.checks import context
from zol_driver.checks.context import FAIL
from zol_driver.checks.context import INFO
from zol_driver.checks.context import OK
from zol_driver.checks.context import SKIP
from zol_driver.checks.context import WARN
from zol_driver import errors
from zol_driver import ssh
from zol_driver import version
from zol_driver import zfs


def check_private_key(ctx):
    """A key the driver can load, readable only by its user."""
    s = ctx.settings
    if not s.san_private_key:
        if s.san_password:
            ctx.facts.add('credentials')
            ctx.add('private key', SKIP, 'no san_private_key (password '
                    'login)')
        else:
            ctx.add('private key', FAIL, 'san_private_key is not set',
                    'Create a key: ssh-keygen -t ed25519 -N "" -f '
                    '/etc/cinder/zol_ed25519; set san_private_key.')
        return
    path = os.path.expanduser(s.san_private_key)
    if not os.access(path, os.R_OK):
        why = 'missing' if not os.path.exists(path) else 'not readable'
        ctx.add('private key', FAIL, '%s is %s for uid %d'
                % (path, why, os.getuid()),
                'Create it or fix its owner (the user cinder-volume '
                'runs as, usually cinder) and mode 0600; run this '
                'check as that user.')
        return
    try:
        key = paramiko.PKey.from_path(path)
    except (paramiko.PasswordRequiredException, TypeError) as e:
        if not _encrypted(e):
            ctx.add('private key', FAIL, '%s: cannot load: %s'
                    % (path, e), 'Use an ed25519, ECDSA or RSA key.')
            return
        ctx.add('private key', FAIL, '%s is encrypted' % path,
                'The driver has no passphrase option: use an '
                'unencrypted key readable only by cinder '
                '(ssh-keygen -p -N "" -f %s).' % path)
        return
    except (OSError, ValueError, paramiko.SSHException) as e:
        ctx.add('private key', FAIL, '%s: unsupported or damaged key '
                '(%s)' % (path, e), 'Use an ed25519, ECDSA or RSA '
                '(>= 2048 bits) key: ssh-keygen -t ed25519.')
        return
    ctx.facts.add('credentials')
    detail = '%s: %s %s' % (path, key.get_name(), ssh.fingerprint(key))
    mode = os.stat(path).st_mode & 0o077
    if key.get_name() == 'ssh-rsa' and key.get_bits() < 2048:
        ctx.add('private key', WARN, '%s, only %d bits'
                % (detail, key.get_bits()),
                'Use ssh-keygen -t ed25519 (or RSA >= 2048 bits).')
    elif mode:
        ctx.add('private key', WARN, '%s, readable by group/others '
                '(mode %o)' % (detail, os.stat(path).st_mode & 0o777),
                'chmod 600 %s' % path)
    else:
        ctx.add('private key', OK, detail)


def check_ssh_port(ctx):
    """sshd on the ZFS host accepts TCP."""
    s = ctx.settings
    if not s.san_ip:
        ctx.add('ssh port', SKIP, 'san_ip is not set')
        return
    try:
        ms = tcp_probe(s.san_ip, s.san_ssh_port, ctx.timeout)
    except OSError as e:
        ctx.add('ssh port', FAIL, 'cannot connect to %s:%s: %s'
                % (s.san_ip, s.san_ssh_port, e),
                'Is sshd running on the ZFS host and reachable from '
                'here (firewall, san_ssh_port)?')
        return
    ctx.facts.add('ssh port')
    ctx.add('ssh port', OK, '%s:%s accepts TCP (%.1f ms)'
            % (s.san_ip, s.san_ssh_port, ms))


def check_host_key(ctx):
    """The host key the server presents is the pinned one."""
    s = ctx.settings
    path = s.zol_ssh_known_hosts_file
    keys = ssh._HostKeys(s.san_ip, s.san_ssh_port, path, True,
                         threading.Lock())
    known = keys.known()
    key = server_host_key(s.san_ip, s.san_ssh_port, ctx.timeout,
                          keys, known)
    shown = '%s %s' % (key.get_name(), ssh.fingerprint(key))
    pinned = known.get(key.get_name())
    scan = ('ssh-keyscan -p %d -t %s %s >> %s'
            % (s.san_ssh_port, key.get_name(), s.san_ip, path))
    if pinned is not None and pinned.asbytes() == key.asbytes():
        ctx.facts.add('host key')
        ctx.add('host key', OK, '%s pinned in %s' % (shown, path))
    elif known:
        ctx.add('host key', FAIL, '%s presents %s but %s pins %s: '
                'CHANGED (reinstall, or an attack)'
                % (keys.name, shown, path, ', '.join(
                    '%s %s' % (t, ssh.fingerprint(k))
                    for t, k in sorted(known.items()))),
                'Verify on the host (ssh-keygen -lf /etc/ssh/ssh_host_'
                '*_key.pub); if it matches: ssh-keygen -R \'%s\' -f %s '
                'and %s' % (keys.name, path, scan))
    elif s.zol_ssh_strict_host_key:
        ctx.add('host key', FAIL, '%s (%s) is not in %s'
                % (shown, keys.name, path),
                'Compare with ssh-keygen -lf /etc/ssh/ssh_host_*_key'
                '.pub on the host, then: %s' % scan)
    else:
        ctx.facts.add('host key')
        ctx.add('host key', WARN, '%s (%s) is not in %s; the driver '
                'will trust it on first use' % (shown, keys.name, path),
                'Verify it on the host, then: %s' % scan)


def check_login(ctx):
    """The key logs in and runs the wrapper; opens ctx.executor."""
    s = ctx.settings
    ctx.executor = ctx.executor_factory(s, _known_hosts_copy(ctx),
                                        ctx.timeout)
    code, out = context.exit_code(ctx.executor, 'version')
    ctx.facts.add('login')
    who = '%s@%s:%s' % (s.san_login, s.san_ip, s.san_ssh_port)
    fix = ('Put restrict,command="/usr/local/sbin/zfswrapper.sh -c '
           '/etc/cinder-zol/zfswrapper.conf" before the key in '
           'authorized_keys (etc/authorized_keys.sample).')
    if code == 0 and out.startswith('zfswrapper'):
        ctx.version = out
        ctx.facts.add('in wrapper')
        ctx.add('login', OK, 'logged in as %s; the key runs the '
                'wrapper' % who)
        return
    id_code, id_out = context.exit_code(ctx.executor, 'id')
    if id_code == 0:
        ctx.add('login', FAIL, 'logged in as %s, and the key runs ANY '
                'command ("id": %s)' % (who, id_out.strip()[:80]), fix)
    elif code == errors.WRAPPER_REFUSED:
        ctx.add('login', FAIL, 'logged in as %s; the wrapper refused '
                '"version": %s' % (who, out.strip()[:200]),
                'Install the wrapper of this release and check its '
                'config (doc/wrapper-install.rst).')
    else:
        ctx.add('login', FAIL, 'logged in as %s, but "version" did not '
                'reach the wrapper (exit %s): %s'
                % (who, code, out.strip()[:200]), fix)


def _known_hosts_copy(ctx):
    """A private copy, so a trust-on-first-use never edits the real."""
    ctx.tmpdir = tempfile.mkdtemp(prefix='zol-check-')
    copy = os.path.join(ctx.tmpdir, 'known_hosts')
    src = ctx.settings.zol_ssh_known_hosts_file
    if src and os.path.exists(src):
        shutil.copyfile(src, copy)
    return copy


def check_wrapper_refuses(ctx):
    """The wrapper refuses what the driver never sends."""
    if 'in wrapper' not in ctx.facts:
        ctx.add('wrapper', SKIP, 'the login does not run the wrapper')
        return
    code, out = context.exit_code(ctx.executor, 'id')
    if code != errors.WRAPPER_REFUSED:
        ctx.add('wrapper', FAIL, 'the key ran "id" (exit %s): %s'
                % (code, out.strip()[:120]),
                'The key is not confined: fix its authorized_keys line '
                '(restrict,command=...) and check the wrapper install.')
        return
    ctx.facts.add('wrapper')
    pool = (zfs.parse_parents(ctx.settings.zol_parent_dataset) or
            ['tank'])[0].split('/')[0]
    code, _out = context.exit_code(ctx.executor, 'zfs', 'list', '-H',
                                   '-p', '-o', 'name', pool)
    if code != errors.WRAPPER_REFUSED:
        ctx.add('wrapper', WARN, 'refuses "id", but lets this key list '
                'the pool root %s (outside %s)'
                % (pool, ctx.settings.zol_parent_dataset),
                'List only the backends\' parents in the wrapper\'s '
                '"parents" (never a pool root).')
        return
    ctx.add('wrapper', OK, 'refuses arbitrary commands (exit 126) and '
            'datasets outside the parents')


def check_versions(ctx):
    """The wrapper's version suits the driver; ZFS userland = module."""
    lines = [ln.strip() for ln in ctx.version.splitlines() if ln.strip()]
    ctx.add('versions', INFO, '; '.join(lines))
    problem = version.wrapper_problem(
        version.parse_wrapper_version(ctx.version))
    if problem:
        ctx.add('versions', FAIL, 'the driver would refuse this '
                'wrapper: %s' % problem, 'See doc/deployment.rst, '
                '"Upgrading" (wrapper first, then the driver).')
    user = kmod = None
    for line in lines:
        for word in line.replace(':', ' ').split():
            if word.startswith('zfs-kmod-'):
                kmod = word[len('zfs-kmod-'):]
            elif word.startswith('zfs-') and word[4:5].isdigit():
                user = word[len('zfs-'):]
    if user and kmod and user != kmod:
        ctx.add('versions', WARN, 'zfs userland %s differs from the '
                'loaded kernel module %s' % (user, kmod),
                'Reboot the ZFS host (or reload the zfs module) after '
                'upgrading OpenZFS.')


def _encrypted(exc):
    """paramiko or cryptography saying the key needs a passphrase."""
    return (isinstance(exc, paramiko.PasswordRequiredException) or
            'password' in str(exc).lower())


def tcp_probe(host, port, timeout):
    """Milliseconds to open (and close) a TCP connection; OSError if not."""
    start = time.monotonic()
    socket.create_connection((host, int(port)), timeout).close()
    return (time.monotonic() - start) * 1000


def server_host_key(host, port, timeout, keys, known):
    """The host key the server presents (no login, nothing recorded)."""
    sock = socket.create_connection((host, int(port)), timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = transport.handshake_timeout = timeout
        keys.prefer(transport, known)
        try:
            transport.start_client(timeout=timeout)
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise errors.TransportError('%s:%s' % (host, port),
                                        'SSH handshake failed: %s' % e)
        return transport.get_remote_server_key()
    finally:
        transport.close()
