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

"""A real OpenSSH server on 127.0.0.1 for functional tests and benchmarks.

Own config, own host key and own client key in a temporary directory; the
client key may run only ``forced_command`` (``restrict,command=...`` in
authorized_keys), like the driver's key on a real ZFS host.  Usable as a
``fixtures`` fixture (``self.useFixture(SSHServer(...))``) or by hand::

    server = SSHServer(forced_command='/bin/echo hi')
    server.setUp()
    ... server.host, server.port, server.user, server.client_key,
        server.known_hosts, server.host_key_fingerprint ...
    server.kill(); server.restart(); server.cleanUp()

sshd runs as root (it needs to for privilege separation).  The login user
defaults to ``zol-test``, a system user with /bin/sh as shell created on
first use: root's own shell may read a heavy ~/.bashrc for every command
(bash does that under sshd), which would dominate any latency measured.
"""

import base64
import getpass
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import fixtures

SSHD = '/usr/sbin/sshd'
SSH_KEYGEN = '/usr/bin/ssh-keygen'

_CONFIG = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {host_key}
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers {user}
UseDNS no
PrintMotd no
PrintLastLog no
MaxSessions 100
MaxStartups 100:30:200
LogLevel ERROR
"""


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _keygen(path, key_type='ed25519'):
    if os.path.exists(path):
        os.unlink(path)
        os.unlink(path + '.pub')
    subprocess.run([SSH_KEYGEN, '-q', '-t', key_type, '-N', '', '-f', path],
                   check=True, stdin=subprocess.DEVNULL)


def _fingerprint(pub_path):
    """OpenSSH-style SHA256 fingerprint of a .pub file."""
    with open(pub_path) as f:
        blob = base64.b64decode(f.read().split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode()
    return 'SHA256:' + digest.rstrip('=')


def _children(pid):
    """Every descendant pid of ``pid`` (read from /proc)."""
    parents = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(kids)
    return found


TEST_USER = 'zol-test'


def ensure_user(name=TEST_USER):
    """Create a system user with /bin/sh as shell, unless it exists."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = None
    if entry is not None:
        if entry.pw_dir != '/' or entry.pw_shell != '/bin/sh':
            subprocess.run(['usermod', '-d', '/', '-s', '/bin/sh', name],
                           check=True)
        return
    # Home "/" exists, so sshd does not complain on stderr of every command.
    subprocess.run(['useradd', '--system', '--shell', '/bin/sh',
                    '--home-dir', '/', '--no-create-home', name],
                   check=True)
    # '*' = no password, but not "locked" (sshd without PAM refuses
    # public keys of locked accounts).
    subprocess.run(['usermod', '-p', '*', name], check=True)


def ensure_sshd():
    """Install openssh-server if sshd is missing (Debian)."""
    if not os.path.exists(SSHD):
        subprocess.run(['apt-get', 'install', '-y', 'openssh-server'],
                       check=True, stdout=subprocess.DEVNULL)
    os.makedirs('/run/sshd', mode=0o755, exist_ok=True)


class SSHServer(fixtures.Fixture):
    """One sshd on 127.0.0.1:<free port> whose client key runs one command.

    ``forced_command`` is what the client key may run (SSH_ORIGINAL_COMMAND
    carries what the client asked for); ``client_key_type`` picks the
    client key algorithm (ed25519, ecdsa, rsa); ``key_passphrase`` encrypts
    the client key.
    """

    host = '127.0.0.1'

    def __init__(self, forced_command='/bin/true', user=None,
                 client_key_type='ed25519', key_passphrase=None,
                 options='restrict'):
        super().__init__()
        self.forced_command = forced_command
        self.user = user
        self.client_key_type = client_key_type
        self.key_passphrase = key_passphrase
        self.options = options
        self.proc = None
        self.port = None
        self.dir = None

    # -- paths ---------------------------------------------------------

    @property
    def host_key(self):
        return os.path.join(self.dir, 'ssh_host_key')

    @property
    def client_key(self):
        return os.path.join(self.dir, 'client_key')

    @property
    def known_hosts(self):
        return os.path.join(self.dir, 'known_hosts')

    @property
    def host_key_fingerprint(self):
        return _fingerprint(self.host_key + '.pub')

    # -- life cycle ----------------------------------------------------

    def _setUp(self):
        ensure_sshd()
        if self.user is None:
            if os.geteuid() == 0:
                ensure_user()
                self.user = TEST_USER
            else:
                self.user = getpass.getuser()
        self.dir = tempfile.mkdtemp(prefix='zol-sshd-')
        # sshd reads authorized_keys as the login user.
        os.chmod(self.dir, 0o755)
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.port = free_port()
        _keygen(self.host_key)
        self._make_client_key()
        self.write_known_hosts()
        self.addCleanup(self.kill)
        self.start()

    def _make_client_key(self):
        cmd = [SSH_KEYGEN, '-q', '-t', self.client_key_type,
               '-N', self.key_passphrase or '', '-f', self.client_key]
        if self.client_key_type == 'rsa':
            cmd[4:4] = ['-b', '2048']
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
        with open(self.client_key + '.pub') as f:
            pub = f.read().strip()
        command = self.forced_command.replace('\\', '\\\\').replace(
            '"', '\\"')
        line = '%s,command="%s" %s\n' % (self.options, command, pub)
        path = os.path.join(self.dir, 'authorized_keys')
        with open(path, 'w') as f:
            f.write(line)
        os.chmod(path, 0o644)

    def write_known_hosts(self, path=None):
        """Write a known_hosts line for this server (host key pinned)."""
        with open(self.host_key + '.pub') as f:
            key_type, blob = f.read().split()[:2]
        with open(path or self.known_hosts, 'w') as f:
            f.write('[%s]:%d %s %s\n' % (self.host, self.port, key_type,
                                         blob))

    def new_host_key(self, key_type='ed25519'):
        """Replace the host key (the next start() serves the new one)."""
        _keygen(self.host_key, key_type)

    def start(self):
        """Start sshd and wait until it accepts connections."""
        config = os.path.join(self.dir, 'sshd_config')
        with open(config, 'w') as f:
            f.write(_CONFIG.format(port=self.port, host_key=self.host_key,
                                   dir=self.dir, user=self.user))
        self.proc = subprocess.Popen([SSHD, '-D', '-e', '-f', config],
                                     stdin=subprocess.DEVNULL,
                                     stderr=open(os.path.join(
                                         self.dir, 'sshd.log'), 'a'))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('sshd exited %s, see %s/sshd.log' %
                                   (self.proc.returncode, self.dir))
            try:
                socket.create_connection((self.host, self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError('sshd did not listen on port %d' % self.port)

    def kill(self):
        """Kill sshd and every session it serves (connections drop)."""
        if self.proc is None:
            return
        pids = _children(self.proc.pid)
        for pid in [self.proc.pid] + pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.proc = None

    def restart(self, new_host_key=False):
        """Kill and start again on the same port."""
        self.kill()
        if new_host_key:
            self.new_host_key()
        self.start()
