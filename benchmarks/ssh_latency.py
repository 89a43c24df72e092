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

"""Per-command latency of the SSH executor against a loopback sshd.

Side by side in one run, the same trivial allowed command through the same
forced-command wrapper:

  floor      run locally: the login shell runs the forced command
  warm pool  zol_driver.ssh.SSHExecutor (warm transport, one exec channel)
  no-NODELAY the same without TCP_NODELAY (to show what it buys)
  new conn   a new paramiko SSHClient per command (the 2012 driver)
  cinder     Cinder's SSHPool + processutils.ssh_execute, if importable

Run as root (sshd needs it):  python benchmarks/ssh_latency.py [-n 200]
Add --eventlet to monkey-patch first, as cinder-volume does by default.
"""

import sys

if __name__ == '__main__' and '--eventlet' in sys.argv:
    import eventlet
    eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from tests.functional import sshd  # noqa: E402
from zol_driver import ssh  # noqa: E402

WRAPPER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), 'tools', 'zfswrapper.sh')
COMMAND = 'version'


def pick_wrapper(workdir):
    """(forced command, description): the real wrapper if it works here."""
    if os.path.exists(WRAPPER):
        config = os.path.join(workdir, 'zfswrapper.conf')
        with open(config, 'w') as f:
            # No ZFS on this machine: stand-in binaries, so the figure is
            # the wrapper's own cost (parse, validate, log, exec).
            f.write('parents = tank/cinder\nlog = %(w)s/wrapper.log\n'
                    'zfs = /bin/true\nzpool = /bin/true\n'
                    'tgtadm = /bin/true\nstatedir = %(w)s/targets\n'
                    'lockfile = %(w)s/lock\n' % {'w': workdir})
        # The sshd test user, not root, runs the wrapper and writes its log.
        log = os.path.join(workdir, 'wrapper.log')
        open(log, 'a').close()
        os.chmod(log, 0o666)
        forced = '/bin/sh %s -c %s' % (WRAPPER, config)
        rc = subprocess.run(['/bin/sh', '-c', forced],
                            env={'SSH_ORIGINAL_COMMAND': COMMAND,
                                 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'},
                            capture_output=True).returncode
        if rc == 0:
            return forced, 'tools/zfswrapper.sh -c <tmp config> "version"'
        print('note: tools/zfswrapper.sh exits %d for "version" here; '
              'using a trivial sh script instead' % rc)
    script = os.path.join(workdir, 'wrapper.sh')
    with open(script, 'w') as f:
        f.write('#!/bin/sh\nset -f\nset -- $SSH_ORIGINAL_COMMAND\n'
                'case "$1" in version) echo "trivial 0";; '
                '*) echo refused >&2; exit 126;; esac\n')
    os.chmod(script, 0o755)
    return script, 'trivial sh script (tools/zfswrapper.sh not usable)'


def timed(func, n):
    func()  # warm up
    samples = []
    for _i in range(n):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def local_floor(forced, server):
    env = {'SSH_ORIGINAL_COMMAND': COMMAND,
           'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'}

    def run():
        subprocess.run(['/bin/sh', '-c', forced], env=env, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return run


class _NoDelayOff(ssh.SSHExecutor):
    def _open_socket(self, timeout):
        sock = super()._open_socket(timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        return sock


def executor(server, cls=ssh.SSHExecutor):
    ex = cls(server.host, server.port, server.user,
             private_key=server.client_key,
             known_hosts_file=server.known_hosts, max_pool=2)
    return ex, lambda: ex(COMMAND)


def new_connection(server):
    import paramiko

    def run():
        client = paramiko.SSHClient()
        client.load_host_keys(server.known_hosts)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(server.host, server.port, username=server.user,
                       key_filename=server.client_key, allow_agent=False,
                       look_for_keys=False)
        try:
            _in, out, _err = client.exec_command(COMMAND)
            out.read()
            if out.channel.recv_exit_status():
                raise RuntimeError('command failed')
        finally:
            client.close()
    return run


def cinder_pool(rsa_server):
    """Cinder's own pool (RSA keys only), or None if not importable."""
    try:
        from cinder import ssh_utils
        from oslo_concurrency import processutils
        from oslo_config import cfg
    except ImportError as e:
        return None, 'not importable: %s' % e
    cfg.CONF([], project='cinder', default_config_files=[])
    cfg.CONF.set_override('ssh_hosts_key_file', rsa_server.known_hosts)
    cfg.CONF.set_override('strict_ssh_host_key_policy', True)
    pool = ssh_utils.SSHPool(rsa_server.host, rsa_server.port, 30,
                             rsa_server.user,
                             privatekey=rsa_server.client_key,
                             min_size=1, max_size=2)

    def run():
        with pool.item() as client:
            processutils.ssh_execute(client, COMMAND)
    return run, 'cinder.ssh_utils.SSHPool (RSA key)'


def row(name, samples, floor):
    med = statistics.median(samples)
    p90 = sorted(samples)[int(len(samples) * 0.9) - 1]
    print('%-34s %6d %9.2f %9.2f %9.2f %8.2fx' % (
        name, len(samples), med, p90, min(samples), med / floor))
    return med


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=200,
                        help='commands per warm measurement')
    parser.add_argument('--new-conn', type=int, default=30,
                        help='commands for the new-connection case')
    parser.add_argument('--eventlet', action='store_true',
                        help='eventlet.monkey_patch() before anything')
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix='zol-bench-')
    os.chmod(workdir, 0o755)
    forced, what = pick_wrapper(workdir)
    server = sshd.SSHServer(forced_command=forced)
    rsa_server = sshd.SSHServer(forced_command=forced, client_key_type='rsa')
    server.setUp()
    rsa_server.setUp()
    try:
        print('forced command: %s' % what)
        print('threads: %s' % ('eventlet (monkey-patched)' if args.eventlet
                               else 'native'))
        print('sshd: OpenSSH on 127.0.0.1:%d, user %s (shell /bin/sh)'
              % (server.port, server.user))
        print('%-34s %6s %9s %9s %9s %9s' % ('case', 'n', 'median',
                                             'p90', 'min', 'vs floor'))
        print('%-34s %6s %9s %9s %9s' % ('', '', 'ms', 'ms', 'ms'))
        samples = timed(local_floor(forced, server), args.n)
        floor = statistics.median(samples)
        row('(a) local wrapper (floor)', samples, floor)
        ex, run = executor(server)
        warm = row('SSHExecutor warm pool', timed(run, args.n), floor)
        ex.close()
        ex, run = executor(server, _NoDelayOff)
        row('  same without TCP_NODELAY', timed(run, min(args.n, 50)), floor)
        ex.close()
        new = row('(b) new connection per command',
                  timed(new_connection(server), args.new_conn), floor)
        run, cwhat = cinder_pool(rsa_server)
        if run is None:
            print('(c) Cinder SSHPool: %s' % cwhat)
        else:
            row('(c) Cinder SSHPool', timed(run, args.n), floor)
        print()
        print('warm pool / floor          = %.2f  (target <= 2)'
              % (warm / floor))
        print('new connection / warm pool = %.1f  (target >= 10)'
              % (new / warm))
    finally:
        server.cleanUp()
        rsa_server.cleanUp()
        subprocess.run(['rm', '-rf', workdir])


if __name__ == '__main__':
    main()
