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

"""cinder-zol-check: is this backend ready, and if not, what to do.

Reads cinder.conf the way cinder-volume does (the backend's own section,
falling back to [backend_defaults]), then walks the path the driver takes:
options, private key, host key, SSH login into the wrapper, ZFS, tgtd,
persistence and the iSCSI portal. It changes nothing on either host unless
``--write-test`` is given, which creates, exports, unexports and destroys one
small temporary zvol named ``zol-check-<random>``.

One line per check with a verdict and, for each failure or warning, a fix.
Exit code 0 when nothing failed (warnings allowed), 1 otherwise; ``--json``
prints the same as one JSON document.

Cinder itself is not imported (it takes seconds and is not needed): the few
Cinder options the driver consumes are declared here with Cinder's names,
types and defaults; a unit test keeps them equal to Cinder's.
"""

import difflib
import json
import logging
import os
import secrets
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_utils import netutils
import paramiko

from zol_driver import errors
from zol_driver import options
from zol_driver import ssh
from zol_driver import validation
from zol_driver import version
from zol_driver import zfs

DRIVER = 'zol_driver.driver.ZFSonLinuxISCSIDriver'
SHARED_GROUP = 'backend_defaults'
TEST_PREFIX = 'zol-check-'
TEST_SIZE = 64 * 1024 * 1024

OK, WARN, FAIL, SKIP, INFO = 'ok', 'warn', 'fail', 'skip', 'info'
_LABEL = {OK: ' OK ', WARN: 'WARN', FAIL: 'FAIL', SKIP: 'SKIP', INFO: 'INFO'}

SLOW_ROUND_TRIP_MS = 150
POOL_CAPACITY_WARN = 80
POOL_CAPACITY_FAIL = 95
MIN_FREE = zfs.GiB
PORTAL_TIMEOUT = 3.0

LOG = logging.getLogger(__name__)

# Cinder's own options that the driver reads (same names, types and
# defaults as in cinder 29: tests/unit/test_check.py compares them).
cinder_opts = [
    cfg.StrOpt('volume_driver',
               default='cinder.volume.drivers.lvm.LVMVolumeDriver'),
    cfg.StrOpt('volume_backend_name'),
    cfg.StrOpt('san_ip', default=''),
    cfg.PortOpt('san_ssh_port', default=22),
    cfg.StrOpt('san_login', default='admin'),
    cfg.StrOpt('san_password', default='', secret=True),
    cfg.StrOpt('san_private_key', default=''),
    cfg.IntOpt('ssh_conn_timeout', default=30),
    cfg.IntOpt('ssh_min_pool_conn', default=1),
    cfg.IntOpt('ssh_max_pool_conn', default=5),
    cfg.BoolOpt('san_thin_provision', default=True),
    cfg.StrOpt('target_prefix', default='iqn.2010-10.org.openstack:'),
    cfg.StrOpt('target_ip_address', default='$my_ip'),
    cfg.ListOpt('target_secondary_ip_addresses', default=[]),
    cfg.PortOpt('target_port', default=3260),
    cfg.BoolOpt('use_chap_auth', default=False),
    cfg.StrOpt('max_over_subscription_ratio', default='20.0',
               regex=validation.RATIO_PATTERN),
    cfg.IntOpt('reserved_percentage', default=0, min=0, max=100),
]

default_opts = [
    cfg.HostAddressOpt('my_ip', default=netutils.get_my_ipv4()),
    cfg.ListOpt('enabled_backends'),
]

cli_opts = [
    cfg.StrOpt('backend',
               help='Backend section of cinder.conf to check (one of '
                    'enabled_backends). Default: every enabled backend '
                    'whose volume_driver is cinder-zol.'),
    cfg.BoolOpt('write-test', default=False,
                help='Also create, export, unexport and destroy a small '
                     'temporary zvol (%s<random>) on the ZFS host.'
                     % TEST_PREFIX),
    cfg.BoolOpt('json', default=False,
                help='Print one JSON document instead of text.'),
    cfg.BoolOpt('debug', default=False,
                help='Log every command and SSH event to stderr.'),
    cfg.BoolOpt('data-files', default=False,
                help='Print where the files for the ZFS host (wrapper, its '
                     'config sample, restore unit, udev rule, non-root '
                     'set-up script) were installed, and exit.'),
    cfg.IntOpt('timeout', default=10, min=1,
               help='Seconds allowed for each connection and each read-only '
                    'command (the write test uses zol_ssh_command_timeout).'),
]


def backend_opts():
    return options.zol_opts + cinder_opts


class Result(object):
    """One checked fact: what, verdict, what we saw, and how to fix it."""

    def __init__(self, name, status, detail, fix=None):
        self.name, self.status = name, status
        self.detail, self.fix = detail, fix

    def as_dict(self):
        return {'check': self.name, 'status': self.status,
                'detail': self.detail, 'fix': self.fix}


class ConfigError(Exception):
    """cinder.conf could not be read at all."""


class Settings(object):
    """A backend's resolved option values, read like cinder-volume does.

    Attribute access like Cinder's Configuration (so SSHExecutor's
    ``from_configuration`` works on it); ``explicit`` holds the option
    names actually written in the backend section or [backend_defaults].
    """

    def __init__(self, backend, values, explicit, files):
        self.backend = backend
        self.files = files
        self.explicit = explicit
        self._values = values

    def __getattr__(self, name):
        try:
            return self.__dict__['_values'][name]
        except KeyError:
            raise AttributeError(name)


def _raw_sections(files):
    """{section: set(keys)} as written in the files (typo detection)."""
    sections = {}
    for path in files:
        parsed = {}
        cfg.ConfigParser(path, parsed).parse()
        for name, keys in parsed.items():
            sections.setdefault(name, set()).update(keys)
    return sections


def _config_files(conf):
    files = list(conf.config_file or [])
    if conf.config_dir and os.path.isdir(conf.config_dir):
        files += sorted(os.path.join(conf.config_dir, f)
                        for f in os.listdir(conf.config_dir)
                        if f.endswith('.conf'))
    return files


def parse_args(argv):
    """ConfigOpts with the CLI parsed and the [DEFAULT] options we read."""
    conf = cfg.ConfigOpts()
    conf.register_cli_opts(cli_opts)
    conf.register_opts(default_opts)
    try:
        conf(argv, project='cinder', prog='cinder-zol-check',
             version=version_line())
    except (cfg.ConfigFilesNotFoundError, cfg.ConfigFileParseError,
            cfg.ConfigDirNotFoundError) as e:
        raise ConfigError(str(e))
    if conf.data_files:
        return conf
    if not conf.config_file and not conf.config_dir:
        raise ConfigError('no configuration file found: pass --config-file '
                          '/etc/cinder/cinder.conf')
    return conf


def backends_to_check(conf):
    """--backend, or every enabled backend whose driver is cinder-zol."""
    if conf.backend:
        return [conf.backend]
    sections = _raw_sections(_config_files(conf))
    found = []
    for name in conf.enabled_backends or []:
        driver = None
        for section in (name, SHARED_GROUP):
            if 'volume_driver' in sections.get(section, ()):
                driver = _read_raw(conf, section, 'volume_driver')
                break
        if driver == DRIVER:
            found.append(name)
    return found


def _read_raw(conf, group, name):
    """Value of one of our backend options in one section."""
    opt = next(o for o in backend_opts() if o.name == name)
    try:
        conf.register_opt(opt, group=group)
    except cfg.DuplicateOptError:
        pass
    return conf[group][name]


def load_settings(conf, backend):
    """(Settings, [Result]) for one backend; bad values become results."""
    files = _config_files(conf)
    sections = _raw_sections(files)
    explicit = set(sections.get(backend, ())) | set(
        sections.get(SHARED_GROUP, ()))
    results = []
    values = {}
    for opt in backend_opts():
        for group in (SHARED_GROUP, backend):
            try:
                conf.register_opt(opt, group=group)
            except cfg.DuplicateOptError:
                pass
        conf.set_default(opt.name, None, group=backend)
        try:
            value = conf[backend][opt.name]
            if value is None:
                value = conf[SHARED_GROUP][opt.name]
        except (cfg.ConfigFileValueError, ValueError) as e:
            results.append(Result(
                'option %s' % opt.name, FAIL, 'invalid value: %s' % e,
                'Fix %s in [%s]; see etc/cinder-zol.conf.sample.'
                % (opt.name, backend)))
            value = opt.default
        values[opt.name] = value
    return Settings(backend, values, explicit, files), results, sections


def _fmt_gib(size):
    return '%.1f GiB' % ((size or 0) / float(zfs.GiB))


class Checker(object):
    """Runs every check of one backend; results in ``self.results``.

    ``executor_factory(settings, known_hosts, timeout)`` returns an
    executor (SSHExecutor by default); tests pass a fake one.
    """

    def __init__(self, settings, executor_factory=None, timeout=10,
                 sections=None):
        self.s = settings
        self.timeout = timeout
        self.sections = sections or {}
        self.results = []
        self.facts = set()
        self.executor = None
        self.zfs = None
        self._factory = executor_factory or self._ssh_executor
        self._tmpdir = None
        self.version = ''
        self.avail = 0

    # -------------------------------------------------------- reporting

    def add(self, name, status, detail, fix=None):
        self.results.append(Result(name, status, detail, fix))
        return status

    @property
    def failed(self):
        return any(r.status == FAIL for r in self.results)

    def _step(self, name, needs, func, *args):
        """Run one check unless a fact it needs was not established."""
        missing = [n for n in needs if n not in self.facts]
        if missing:
            self.add(name, SKIP, 'needs: %s (see above)' % ', '.join(missing))
            return
        try:
            func(*args)
        except (errors.ZolError, processutils.ProcessExecutionError,
                ssh.UnsafeArgument, OSError) as e:
            self.add(name, FAIL, _host_error(e), self._fix_for(e))

    def _fix_for(self, exc):
        if isinstance(exc, errors.HostKeyError):
            return 'See the "host key" check and doc/deployment.rst.'
        if isinstance(exc, errors.TransportError):
            return ('Check that sshd on %s:%s answers and the login works '
                    '(see the checks above).' % (self.s.san_ip,
                                                 self.s.san_ssh_port))
        if isinstance(exc, errors.CommandTimeout):
            return ('The ZFS host is slow or hung: look at zpool status and '
                    'the system load there; raise --timeout to wait longer.')
        if getattr(exc, 'exit_code', None) == errors.WRAPPER_REFUSED:
            return ('The wrapper refused a command the driver needs: check '
                    '"parents" and the binary paths in its config (see '
                    'doc/wrapper-install.rst) and its log.')
        return None

    # ------------------------------------------------------------ run

    def run(self, write_test=False):
        steps = [
            ('config', (), self.check_config),
            ('options', ('config',), self.check_options),
            ('private key', ('config',), self.check_private_key),
            ('ssh port', ('config',), self.check_ssh_port),
            ('host key', ('ssh port',), self.check_host_key),
            ('login', ('host key', 'credentials'), self.check_login),
            ('wrapper', ('login',), self.check_wrapper_refuses),
            ('versions', ('wrapper',), self.check_versions),
            ('parent dataset', ('wrapper',), self.check_parent),
            ('round trip', ('parent dataset',), self.check_round_trip),
            ('pool', ('parent dataset',), self.check_pool),
            ('zvols', ('parent dataset',), self.check_zvols),
            ('tgtd', ('wrapper',), self.check_tgtd),
            ('persistence', ('tgtd',), self.check_persistence),
            ('portal', ('config',), self.check_portal),
        ]
        if write_test:
            steps.append(('write test', ('parent dataset', 'tgtd'),
                          self.write_test))
        try:
            for name, needs, func in steps:
                self._step(name, needs, func)
        finally:
            self.close()
        return self.results

    def close(self):
        if self.executor is not None and hasattr(self.executor, 'close'):
            self.executor.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    # ------------------------------------------------- configuration

    def check_config(self):
        s = self.s
        if s.backend not in self.sections:
            self.add('config', FAIL, 'no [%s] section in %s'
                     % (s.backend, ', '.join(s.files)),
                     'Add a [%s] section (doc/deployment.rst, "The backend '
                     'section") or pass the right --backend.' % s.backend)
            return
        self.add('config', OK, '[%s] read from %s'
                 % (s.backend, ', '.join(s.files)))
        self.facts.add('config')

    def check_options(self):
        problems = (self._option_typos() + self._option_driver() +
                    [(p.status, p.detail, p.fix)
                     for p in validation.problems(self.s)])
        for status, detail, fix in problems:
            self.add('options', status, detail, fix)
        if not any(p[0] == FAIL for p in problems):
            self.add('options', OK, 'consistent (parent %s on %s)'
                     % (self.s.zol_parent_dataset, self.s.san_ip))

    def _option_typos(self):
        known = {o.name for o in backend_opts()}
        found = []
        for key in sorted(self.sections.get(self.s.backend, ())):
            if key.startswith('zol_') and key not in known:
                close = difflib.get_close_matches(key, sorted(known), 1)
                found.append((FAIL, 'unknown option %s (ignored by the '
                              'driver)' % key,
                              'Did you mean %s?' % close[0] if close else
                              'Remove it; see etc/cinder-zol.conf.sample.'))
        return found

    def _option_driver(self):
        s, found = self.s, []
        if s.volume_driver != DRIVER:
            found.append((FAIL, 'volume_driver is %s' % s.volume_driver,
                          'Set volume_driver = %s in [%s].'
                          % (DRIVER, s.backend)))
        if not s.volume_backend_name:
            found.append((WARN, 'volume_backend_name is not set',
                          'Set volume_backend_name = %s so volume types can '
                          'select this backend.' % s.backend))
        return found

    # ----------------------------------------------------- credentials

    def check_private_key(self):
        s = self.s
        if not s.san_private_key:
            if s.san_password:
                self.facts.add('credentials')
                self.add('private key', SKIP, 'no san_private_key (password '
                         'login)')
            else:
                self.add('private key', FAIL, 'san_private_key is not set',
                         'Create a key: ssh-keygen -t ed25519 -N "" -f '
                         '/etc/cinder/zol_ed25519; set san_private_key.')
            return
        path = os.path.expanduser(s.san_private_key)
        if not os.access(path, os.R_OK):
            why = 'missing' if not os.path.exists(path) else 'not readable'
            self.add('private key', FAIL, '%s is %s for uid %d'
                     % (path, why, os.getuid()),
                     'Create it or fix its owner (the user cinder-volume '
                     'runs as, usually cinder) and mode 0600; run this '
                     'check as that user.')
            return
        try:
            key = paramiko.PKey.from_path(path)
        except (paramiko.PasswordRequiredException, TypeError) as e:
            if not _encrypted(e):
                self.add('private key', FAIL, '%s: cannot load: %s'
                         % (path, e), 'Use an ed25519, ECDSA or RSA key.')
                return
            self.add('private key', FAIL, '%s is encrypted' % path,
                     'The driver has no passphrase option: use an '
                     'unencrypted key readable only by cinder '
                     '(ssh-keygen -p -N "" -f %s).' % path)
            return
        except (OSError, ValueError, paramiko.SSHException) as e:
            self.add('private key', FAIL, '%s: unsupported or damaged key '
                     '(%s)' % (path, e), 'Use an ed25519, ECDSA or RSA '
                     '(>= 2048 bits) key: ssh-keygen -t ed25519.')
            return
        self.facts.add('credentials')
        detail = '%s: %s %s' % (path, key.get_name(), ssh.fingerprint(key))
        mode = os.stat(path).st_mode & 0o077
        if key.get_name() == 'ssh-rsa' and key.get_bits() < 2048:
            self.add('private key', WARN, '%s, only %d bits'
                     % (detail, key.get_bits()),
                     'Use ssh-keygen -t ed25519 (or RSA >= 2048 bits).')
        elif mode:
            self.add('private key', WARN, '%s, readable by group/others '
                     '(mode %o)' % (detail, os.stat(path).st_mode & 0o777),
                     'chmod 600 %s' % path)
        else:
            self.add('private key', OK, detail)

    # --------------------------------------------------------- network

    def check_ssh_port(self):
        s = self.s
        if not s.san_ip:
            self.add('ssh port', SKIP, 'san_ip is not set')
            return
        try:
            ms = tcp_probe(s.san_ip, s.san_ssh_port, self.timeout)
        except OSError as e:
            self.add('ssh port', FAIL, 'cannot connect to %s:%s: %s'
                     % (s.san_ip, s.san_ssh_port, e),
                     'Is sshd running on the ZFS host and reachable from '
                     'here (firewall, san_ssh_port)?')
            return
        self.facts.add('ssh port')
        self.add('ssh port', OK, '%s:%s accepts TCP (%.1f ms)'
                 % (s.san_ip, s.san_ssh_port, ms))

    def check_host_key(self):
        s = self.s
        path = s.zol_ssh_known_hosts_file
        keys = ssh._HostKeys(s.san_ip, s.san_ssh_port, path, True,
                             threading.Lock())
        known = keys.known()
        key = server_host_key(s.san_ip, s.san_ssh_port, self.timeout,
                              keys, known)
        shown = '%s %s' % (key.get_name(), ssh.fingerprint(key))
        pinned = known.get(key.get_name())
        scan = ('ssh-keyscan -p %d -t %s %s >> %s'
                % (s.san_ssh_port, key.get_name(), s.san_ip, path))
        if pinned is not None and pinned.asbytes() == key.asbytes():
            self.facts.add('host key')
            self.add('host key', OK, '%s pinned in %s' % (shown, path))
        elif known:
            self.add('host key', FAIL, '%s presents %s but %s pins %s: '
                     'CHANGED (reinstall, or an attack)'
                     % (keys.name, shown, path, ', '.join(
                         '%s %s' % (t, ssh.fingerprint(k))
                         for t, k in sorted(known.items()))),
                     'Verify on the host (ssh-keygen -lf /etc/ssh/ssh_host_'
                     '*_key.pub); if it matches: ssh-keygen -R \'%s\' -f %s '
                     'and %s' % (keys.name, path, scan))
        elif s.zol_ssh_strict_host_key:
            self.add('host key', FAIL, '%s (%s) is not in %s'
                     % (shown, keys.name, path),
                     'Compare with ssh-keygen -lf /etc/ssh/ssh_host_*_key'
                     '.pub on the host, then: %s' % scan)
        else:
            self.facts.add('host key')
            self.add('host key', WARN, '%s (%s) is not in %s; the driver '
                     'will trust it on first use' % (shown, keys.name, path),
                     'Verify it on the host, then: %s' % scan)

    def check_portal(self):
        s = self.s
        # Unset, the driver uses san_ip (never Cinder's my_ip default).
        first = (s.target_ip_address if 'target_ip_address' in s.explicit
                 else s.san_ip)
        portals = [first] + list(s.target_secondary_ip_addresses or [])
        for address in portals:
            try:
                ms = tcp_probe(address, s.target_port, PORTAL_TIMEOUT)
            except OSError as e:
                self.add('portal', FAIL, 'iSCSI portal %s:%s: %s'
                         % (address, s.target_port, e),
                         'Check target_ip_address/target_port, that tgtd '
                         'listens there (ss -ltn on the ZFS host) and the '
                         'firewall; compute nodes need this port too.')
                continue
            self.add('portal', OK, 'iSCSI portal %s:%s accepts TCP '
                     '(%.1f ms; compute nodes must reach it too)'
                     % (address, s.target_port, ms))

    # ------------------------------------------------- login, wrapper

    def check_login(self):
        s = self.s
        self.executor = self._factory(s, self._known_hosts_copy(),
                                      self.timeout)
        code, out = _exit_code(self.executor, 'version')
        self.facts.add('login')
        who = '%s@%s:%s' % (s.san_login, s.san_ip, s.san_ssh_port)
        fix = ('Put restrict,command="/usr/local/sbin/zfswrapper.sh -c '
               '/etc/cinder-zol/zfswrapper.conf" before the key in '
               'authorized_keys (etc/authorized_keys.sample).')
        if code == 0 and out.startswith('zfswrapper'):
            self.version = out
            self.facts.add('in wrapper')
            self.add('login', OK, 'logged in as %s; the key runs the '
                     'wrapper' % who)
            return
        id_code, id_out = _exit_code(self.executor, 'id')
        if id_code == 0:
            self.add('login', FAIL, 'logged in as %s, and the key runs ANY '
                     'command ("id": %s)' % (who, id_out.strip()[:80]), fix)
        elif code == errors.WRAPPER_REFUSED:
            self.add('login', FAIL, 'logged in as %s; the wrapper refused '
                     '"version": %s' % (who, out.strip()[:200]),
                     'Install the wrapper of this release and check its '
                     'config (doc/wrapper-install.rst).')
        else:
            self.add('login', FAIL, 'logged in as %s, but "version" did not '
                     'reach the wrapper (exit %s): %s'
                     % (who, code, out.strip()[:200]), fix)

    def _known_hosts_copy(self):
        """A private copy, so a trust-on-first-use never edits the real."""
        self._tmpdir = tempfile.mkdtemp(prefix='zol-check-')
        copy = os.path.join(self._tmpdir, 'known_hosts')
        src = self.s.zol_ssh_known_hosts_file
        if src and os.path.exists(src):
            shutil.copyfile(src, copy)
        return copy

    def check_wrapper_refuses(self):
        if 'in wrapper' not in self.facts:
            self.add('wrapper', SKIP, 'the login does not run the wrapper')
            return
        code, out = _exit_code(self.executor, 'id')
        if code != errors.WRAPPER_REFUSED:
            self.add('wrapper', FAIL, 'the key ran "id" (exit %s): %s'
                     % (code, out.strip()[:120]),
                     'The key is not confined: fix its authorized_keys line '
                     '(restrict,command=...) and check the wrapper install.')
            return
        self.facts.add('wrapper')
        pool = self.s.zol_parent_dataset.split('/')[0]
        code, _out = _exit_code(self.executor, 'zfs', 'list', '-H', '-p',
                                '-o', 'name', pool)
        if code != errors.WRAPPER_REFUSED:
            self.add('wrapper', WARN, 'refuses "id", but lets this key list '
                     'the pool root %s (outside %s)'
                     % (pool, self.s.zol_parent_dataset),
                     'List only the backends\' parents in the wrapper\'s '
                     '"parents" (never a pool root).')
            return
        self.add('wrapper', OK, 'refuses arbitrary commands (exit 126) and '
                 'datasets outside the parents')

    def check_versions(self):
        lines = [ln.strip() for ln in self.version.splitlines() if ln.strip()]
        self.add('versions', INFO, '; '.join(lines))
        problem = version.wrapper_problem(
            version.parse_wrapper_version(self.version))
        if problem:
            self.add('versions', FAIL, 'the driver would refuse this '
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
            self.add('versions', WARN, 'zfs userland %s differs from the '
                     'loaded kernel module %s' % (user, kmod),
                     'Reboot the ZFS host (or reload the zfs module) after '
                     'upgrading OpenZFS.')

    def check_round_trip(self):
        """What one driver command costs: the parent listing, median of 3."""
        times = []
        for _i in range(3):
            start = time.monotonic()
            self.zfs.parent_info()
            times.append((time.monotonic() - start) * 1000)
        ms = statistics.median(times)
        if ms > SLOW_ROUND_TRIP_MS:
            self.add('round trip', WARN, '%.0f ms per command (median of 3 '
                     'zfs list)' % ms, 'Give the login account a plain '
                     '/bin/sh shell without rc files (a .bashrc running e.g. '
                     'pyenv init costs ~100 ms a command); check network '
                     'latency and load on the ZFS host.')
            return
        self.add('round trip', OK, '%.0f ms per command (median of 3 zfs '
                 'list)' % ms)

    # ------------------------------------------------------------- zfs

    def check_parent(self):
        parent = self.s.zol_parent_dataset
        if not zfs.valid_parent(parent):
            self.add('parent dataset', SKIP, 'invalid zol_parent_dataset')
            return
        self.zfs = zfs.ZFSHost(self.executor, parent)
        try:
            info = self.zfs.parent_info()
        except errors.DatasetNotFound:
            self.add('parent dataset', FAIL, '%s does not exist' % parent,
                     'On the ZFS host: zfs create %s' % parent)
            return
        except errors.WrapperRefused as e:
            self.add('parent dataset', FAIL, 'the wrapper refused to list '
                     '%s: %s' % (parent, e.detail),
                     'Add %s to "parents" in the wrapper config.' % parent)
            return
        if info.get('type') != 'filesystem':
            self.add('parent dataset', FAIL, '%s is a %s' % (
                parent, info.get('type')), 'Use a filesystem dataset.')
            return
        self.facts.add('parent dataset')
        self.avail = info.get('avail') or 0
        status = OK if self.avail >= MIN_FREE else FAIL
        self.add('parent dataset', status, '%s: %s free, %s used'
                 % (parent, _fmt_gib(self.avail), _fmt_gib(info.get('used'))),
                 None if status == OK else 'Free space in the pool or raise '
                 'the quota of %s.' % parent)

    def check_pool(self):
        pool = self.s.zol_parent_dataset.split('/')[0]
        fields = ('name', 'size', 'alloc', 'free', 'capacity', 'health')
        out, _err = self.executor('zpool', 'list', '-H', '-p', '-o',
                                  ','.join(fields), pool)
        row = dict(zip(fields, out.strip().split('\t')))
        health = row.get('health', '?')
        try:
            capacity = int(row.get('capacity', '0').rstrip('%'))
        except ValueError:
            capacity = 0
        detail = '%s: %s, %s, %d%% full' % (
            pool, health, _fmt_gib(int(row.get('size') or 0)), capacity)
        if health in ('FAULTED', 'UNAVAIL', 'SUSPENDED'):
            self.add('pool', FAIL, detail, 'zpool status -x %s on the ZFS '
                     'host; replace failed devices.' % pool)
        elif health != 'ONLINE':
            self.add('pool', WARN, detail, 'zpool status -x %s on the ZFS '
                     'host; replace or resilver devices.' % pool)
        elif capacity >= POOL_CAPACITY_FAIL:
            self.add('pool', FAIL, detail, 'Free space: ZFS slows down and '
                     'may fail writes when a pool is nearly full.')
        elif capacity >= POOL_CAPACITY_WARN:
            self.add('pool', WARN, detail, 'Plan more space: ZFS write '
                     'performance drops above ~80%% full.')
        else:
            self.add('pool', OK, detail)

    def check_zvols(self):
        rows = self.zfs.space_listing()
        vols = [r for r in rows if r.get('type') == 'volume']
        hidden = [r for r in vols if zfs.is_hidden(
            self.zfs.relative(r['name']) or '')]
        leftovers = [r['name'] for r in vols if (
            self.zfs.relative(r['name']) or '').startswith(TEST_PREFIX)]
        provisioned = sum(r.get('volsize') or 0 for r in vols)
        self.add('zvols', INFO, '%d zvols (%s provisioned), %d hidden '
                 'awaiting collection' % (len(vols), _fmt_gib(provisioned),
                                          len(hidden)))
        if leftovers:
            self.add('zvols', WARN, 'left over by an interrupted write test: '
                     '%s' % ', '.join(leftovers), 'On the ZFS host: zfs '
                     'destroy <name> (and target-delete its target).')

    # ------------------------------------------------------------- tgt

    def check_tgtd(self):
        code, out = _exit_code(self.executor, 'tgtadm', '--lld', 'iscsi',
                               '--op', 'show', '--mode', 'target')
        if code != 0:
            self.add('tgtd', FAIL, 'tgtadm failed (exit %s): %s'
                     % (code, out.strip()[:200]),
                     'Start tgtd on the ZFS host: systemctl enable --now '
                     'tgt' if code != errors.WRAPPER_REFUSED else
                     'Check "tgtadm" in the wrapper config.')
            return
        self.facts.add('tgtd')
        count = sum(1 for ln in out.splitlines() if ln.startswith('Target '))
        self.add('tgtd', OK, 'tgtd answers (%d targets)' % count)

    def check_persistence(self):
        code, out = _exit_code(self.executor, 'target-list')
        if code != 0:
            self.add('persistence', FAIL, 'target-list failed (exit %s): %s'
                     % (code, out.strip()[:200]),
                     'Check "statedir" and "lockfile" in the wrapper config '
                     '(doc/wrapper-install.rst).')
            return
        targets = parse_target_list(out)
        ours = [t for t in targets
                if t['iqn'].startswith(self.s.target_prefix)]
        missing = [t['iqn'] for t in ours if t.get('tid') in (None, '-')]
        volatile = [t['iqn'] for t in ours if t.get('persisted') != 'yes']
        restore = ('Restart cinder-volume (it restores its targets on '
                   'start-up) or run: ssh -i %s %s@%s target-restore; see '
                   'doc/deployment.rst, "After a ZFS host reboot".'
                   % (self.s.san_private_key, self.s.san_login,
                      self.s.san_ip))
        if missing:
            self.add('persistence', FAIL, '%d exported volumes are missing '
                     'from tgtd (restarted without restore?): %s'
                     % (len(missing), ', '.join(missing[:5])), restore)
        if volatile:
            self.add('persistence', WARN, '%d targets would not survive a '
                     'tgtd restart (not persisted): %s'
                     % (len(volatile), ', '.join(volatile[:5])),
                     'Re-export them (detach/attach) or recreate them with '
                     'the current wrapper.')
        if not missing and not volatile:
            self.add('persistence', OK, '%d targets of this prefix, all '
                     'live in tgtd and persisted' % len(ours))

    # ------------------------------------------------------ write test

    def write_test(self):
        name = TEST_PREFIX + secrets.token_hex(4)
        iqn = self.s.target_prefix + name
        dataset = self.zfs.full(name)
        timings = []
        cleanup = []
        try:
            self._timed(timings, 'create', self.zfs.create_volume, name,
                        TEST_SIZE, True)
            cleanup.append(('destroy', self.zfs.destroy, name))
            # target-delete is idempotent: undo a half-made export too.
            cleanup.insert(0, ('unexport', self.executor, 'target-delete',
                               iqn))
            self._timed(timings, 'export', self._export, iqn, dataset, name)
            self._timed(timings, 'list', self._expect_listed, iqn)
        except (errors.ZolError, processutils.ProcessExecutionError) as e:
            step = ['create', 'export', 'list'][len(timings)]
            self.add('write test', FAIL, '%s of %s failed: %s'
                     % (step, dataset, _host_error(e)), self._fix_for(e) or
                     'See the wrapper\'s log on the ZFS host.')
        finally:
            left = self._cleanup(timings, cleanup)
        if left:
            self.add('write test', FAIL, 'could not remove: %s'
                     % '; '.join(left), 'On the ZFS host: tgtadm/zfs by '
                     'hand, or ssh with the driver key: target-delete %s; '
                     'zfs destroy %s' % (iqn, dataset))
        elif not any(r.name == 'write test' for r in self.results):
            self.add('write test', OK, '%s: %s' % (dataset, ', '.join(
                '%s %.0f ms' % t for t in timings)))

    def _timed(self, timings, what, func, *args):
        start = time.monotonic()
        func(*args)
        timings.append((what, (time.monotonic() - start) * 1000))

    def _export(self, iqn, dataset, name):
        serial = name.replace('-', '')[:16]
        argv = ['target-create', iqn, dataset, serial]
        secret = None
        if self.s.use_chap_auth:
            argv.append(serial)
            secret = secrets.token_hex(8) + '\n'
        out, _err = self.executor(*argv, process_input=secret)
        if 'tid=' not in out:
            raise errors.TargetError(iqn, 'target-create printed %r'
                                     % out.strip()[:80])

    def _expect_listed(self, iqn):
        out, _err = self.executor('target-list')
        for t in parse_target_list(out):
            if t['iqn'] == iqn:
                if t.get('tid') in (None, '-') or t.get('persisted') != 'yes':
                    raise errors.TargetError(iqn, 'listed as %s' % t['line'])
                return
        raise errors.TargetError(iqn, 'not in target-list after create')

    def _cleanup(self, timings, cleanup):
        left = []
        for what, func, *args in cleanup:
            try:
                self._timed(timings, what, func, *args)
            except (errors.ZolError,
                    processutils.ProcessExecutionError) as e:
                left.append('%s: %s' % (' '.join(args), _host_error(e)))
        return left

    # ------------------------------------------------------- executor

    @staticmethod
    def _ssh_executor(settings, known_hosts, timeout):
        """The driver's own executor, with the check's short timeouts."""
        return ssh.SSHExecutor(
            settings.san_ip, port=settings.san_ssh_port,
            login=settings.san_login,
            private_key=settings.san_private_key or None,
            password=settings.san_password or None,
            known_hosts_file=known_hosts,
            strict_host_key=settings.zol_ssh_strict_host_key,
            conn_timeout=min(settings.ssh_conn_timeout or timeout, timeout),
            command_timeout=settings.zol_ssh_command_timeout,
            min_pool=1, max_pool=1, keepalive=0, retries=1)


# ---------------------------------------------------------------- helpers

def _encrypted(exc):
    """paramiko or cryptography saying the key needs a passphrase."""
    return (isinstance(exc, paramiko.PasswordRequiredException) or
            'password' in str(exc).lower())


def _host_error(exc):
    """One line with the host's own words, never a traceback."""
    if isinstance(exc, processutils.ProcessExecutionError):
        text = (exc.stderr or exc.stdout or '').strip()
        return '"%s" exited %s: %s' % (exc.cmd, exc.exit_code, text[:300])
    return str(exc)


def _exit_code(executor, *argv):
    """(exit code, stdout or stderr) of a command, whatever it exits."""
    try:
        out, err = executor(*argv, check_exit_code=[0])
        return 0, out
    except processutils.ProcessExecutionError as e:
        return e.exit_code, (e.stderr or e.stdout or '')


def parse_target_list(text):
    """Rows of the wrapper's target-list: {'iqn':, 'tid':, ..., 'line':}."""
    rows = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        row = {'iqn': words[0], 'line': line.strip()}
        for word in words[1:]:
            key, _sep, value = word.partition('=')
            row[key] = value
        rows.append(row)
    return rows


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


# ----------------------------------------------------------------- output

def render_text(reports, stream):
    for backend, results in reports:
        stream.write('cinder-zol-check: backend [%s]\n' % backend)
        for r in results:
            stream.write('[%s] %-15s %s\n' % (_LABEL[r.status], r.name,
                                              r.detail))
            if r.fix and r.status in (FAIL, WARN):
                stream.write('       %-15s fix: %s\n' % ('', r.fix))
        fails = sum(1 for r in results if r.status == FAIL)
        warns = sum(1 for r in results if r.status == WARN)
        verdict = 'NOT READY' if fails else 'READY'
        stream.write('verdict: %s (%d failed, %d warnings)\n\n'
                     % (verdict, fails, warns))


def render_json(reports, stream):
    doc = {'ok': not any(r.status == FAIL for _b, rs in reports for r in rs),
           'backends': [{'backend': b,
                         'ok': not any(r.status == FAIL for r in rs),
                         'checks': [r.as_dict() for r in rs]}
                        for b, rs in reports]}
    json.dump(doc, stream, indent=2)
    stream.write('\n')


def check_backend(conf, backend, executor_factory=None):
    settings, results, sections = load_settings(conf, backend)
    checker = Checker(settings, executor_factory, timeout=conf.timeout,
                      sections=sections)
    checker.results.extend(results)
    return checker.run(write_test=conf.write_test)


def version_line():
    """'cinder-zol-check 1.2.0 (package 1.2.0.dev3)'."""
    return 'cinder-zol-check %s (package %s)' % (
        version.RELEASE, version.package_version())


DATA_FILES = ('zfswrapper.sh', 'zfswrapper.conf', 'nonroot-setup.sh',
              'cinder-zol-restore.service', '91-cinder-zol.rules')


def data_files():
    """{name: path} of the ZFS host's files, where pip put them.

    The wheel installs them under <prefix>/share/cinder-zol/; the package's
    RECORD says where that is (a venv, --user, /usr/local). A source
    checkout that was not installed has them in tools/ and etc/.
    """
    found = {}
    try:
        from importlib import metadata
        for entry in metadata.distribution('cinder-zol').files or ():
            parts = entry.parts
            if len(parts) >= 3 and parts[-3:-1] == ('share', 'cinder-zol'):
                found[parts[-1]] = os.path.normpath(str(entry.locate()))
    except Exception:
        LOG.debug('no installed distribution cinder-zol', exc_info=True)
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name in DATA_FILES:
        if name not in found:
            for sub in ('tools', 'etc'):
                path = os.path.join(top, sub, name)
                if os.path.exists(path):
                    found[name] = path
    return {name: found.get(name) for name in DATA_FILES}


def print_data_files(stdout, as_json=False):
    files = data_files()
    if as_json:
        stdout.write(json.dumps(files, indent=1, sort_keys=True) + '\n')
    else:
        for name in DATA_FILES:
            stdout.write('%-27s %s\n' % (name, files[name] or 'MISSING'))
    return 0 if all(files.values()) else 1


def main(argv=None, stdout=None, executor_factory=None):
    """Console script: exit 0 if every backend is ready, else 1."""
    stdout = stdout or sys.stdout
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf = parse_args(argv)
    except ConfigError as e:
        sys.stderr.write('cinder-zol-check: %s\n' % e)
        return 1
    if conf.data_files:
        return print_data_files(stdout, conf.json)
    logging.basicConfig(level=logging.DEBUG if conf.debug else
                        logging.ERROR, stream=sys.stderr)
    if not conf.debug:
        # paramiko logs tracebacks of failures we report in our own words.
        logging.getLogger('paramiko').setLevel(logging.CRITICAL)
    backends = backends_to_check(conf)
    if not backends:
        sys.stderr.write('cinder-zol-check: no backend in enabled_backends '
                         '(%s) has volume_driver = %s; pass --backend NAME\n'
                         % (', '.join(conf.enabled_backends or []), DRIVER))
        return 1
    reports = [(b, check_backend(conf, b, executor_factory))
               for b in backends]
    (render_json if conf.json else render_text)(reports, stdout)
    return 1 if any(r.status == FAIL for _b, rs in reports
                    for r in rs) else 0


if __name__ == '__main__':
    sys.exit(main())
