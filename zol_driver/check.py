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

Here: reading the configuration, the step table (STEPS) that runs the
checks of zol_driver/checks/ in order with their prerequisites, and the
output. Cinder itself is not imported (it takes seconds and is not
needed): the few Cinder options the driver consumes are declared in
zol_driver/checks/config.py with Cinder's names, types and defaults; a
unit test keeps them equal to Cinder's.
"""

import json
import logging
import os
import sys

from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_utils import netutils

from zol_driver.checks import config
from zol_driver.checks import context
from zol_driver.checks import datasets
from zol_driver.checks import login
from zol_driver.checks import replication
from zol_driver.checks import targets
from zol_driver import errors
from zol_driver import ssh
from zol_driver import version

DRIVER = config.DRIVER
SHARED_GROUP = 'backend_defaults'
TEST_PREFIX = context.TEST_PREFIX

OK, WARN, FAIL, SKIP, INFO = (context.OK, context.WARN, context.FAIL,
                              context.SKIP, context.INFO)
_LABEL = {OK: ' OK ', WARN: 'WARN', FAIL: 'FAIL', SKIP: 'SKIP', INFO: 'INFO'}

LOG = logging.getLogger(__name__)

Result = context.Result
cinder_opts = config.cinder_opts
backend_opts = config.backend_opts

# The checks in the order they run: (name, the facts they need, check).
# A check whose facts were not established is skipped, with the reason.
STEPS = (
    ('config', (), config.check_config),
    ('options', ('config',), config.check_options),
    ('private key', ('config',), login.check_private_key),
    ('ssh port', ('config',), login.check_ssh_port),
    ('host key', ('ssh port',), login.check_host_key),
    ('login', ('host key', 'credentials'), login.check_login),
    ('wrapper', ('login',), login.check_wrapper_refuses),
    ('versions', ('wrapper',), login.check_versions),
    ('replication', ('wrapper',), replication.check_wrapper_replicates),
    ('parent dataset', ('wrapper',), datasets.check_parent),
    ('round trip', ('parent dataset',), datasets.check_round_trip),
    ('pool', ('parent dataset',), datasets.check_pool),
    ('zvols', ('parent dataset',), datasets.check_zvols),
    ('tgtd', ('wrapper',), targets.check_tgtd),
    ('persistence', ('tgtd',), targets.check_persistence),
    ('portal', ('config',), targets.check_portal),
)
WRITE_TEST = ('write test', ('parent dataset', 'tgtd'), targets.write_test)
# The replication_device's ZFS host: reached and judged like the primary.
SECONDARY_STEPS = tuple(s for s in STEPS if s[0] in (
    'private key', 'ssh port', 'host key', 'login', 'wrapper', 'versions',
    'replication', 'parent dataset', 'pool'))

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


class Checker(object):
    """Runs the step table for one backend; results in ``self.results``.

    ``executor_factory(settings, known_hosts, timeout)`` returns an
    executor (SSHExecutor by default); tests pass a fake one.
    """

    def __init__(self, settings, executor_factory=None, timeout=10,
                 sections=None):
        self.ctx = context.Context(settings,
                                   executor_factory or _ssh_executor,
                                   timeout, sections)
        self.results = self.ctx.results

    def run(self, write_test=False, steps=STEPS):
        steps = steps + ((WRITE_TEST,) if write_test else ())
        try:
            for name, needs, check in steps:
                self._step(name, needs, check)
        finally:
            self.ctx.close()
        return self.results

    def _step(self, name, needs, check):
        """Run one check unless a fact it needs was not established."""
        ctx = self.ctx
        missing = [n for n in needs if n not in ctx.facts]
        if missing:
            ctx.add(name, SKIP, 'needs: %s (see above)' % ', '.join(missing))
            return
        try:
            check(ctx)
        except (errors.ZolError, processutils.ProcessExecutionError,
                ssh.UnsafeArgument, OSError) as e:
            ctx.add(name, FAIL, context.host_error(e), ctx.fix_for(e))


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
    return checker.run(write_test=conf.write_test) + check_secondary(
        settings, executor_factory, conf.timeout, sections)


def check_secondary(settings, executor_factory=None, timeout=10,
                    sections=None):
    """The replication_device's checks ([] when there is none)."""
    if not replication.configured(settings):
        return []
    found = []
    site = replication.device(settings, found)
    results = [Result(*r) for r in found]
    if site is not None:
        checker = Checker(site, executor_factory, timeout, sections)
        checker.ctx.facts.add('config')
        results += replication.rename(checker.run(steps=SECONDARY_STEPS))
    return results


def version_line():
    """'cinder-zol-check 1.2.0 (package 1.2.0.dev3)'."""
    return 'cinder-zol-check %s (package %s)' % (
        version.RELEASE, version.package_version())


DATA_FILES = ('zfswrapper.sh', 'zfswrapper-helper.sh', 'zfswrapper.conf',
              'nonroot-setup.sh',
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
