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

"""What one check run has found out, handed to every check explicitly.

A check reads the settings and what earlier checks left (the executor
after the login, the ZFSHost after the parent dataset, the wrapper's
version), records its verdicts with ``add`` and the facts it
established, on which later steps depend, in ``facts``.
"""

import shutil

from oslo_concurrency import processutils

from zol_driver import errors
from zol_driver import zfs

OK, WARN, FAIL, SKIP, INFO = 'ok', 'warn', 'fail', 'skip', 'info'

TEST_PREFIX = 'zol-check-'


class Result(object):
    """One checked fact: what, verdict, what we saw, and how to fix it."""

    def __init__(self, name, status, detail, fix=None):
        self.name, self.status = name, status
        self.detail, self.fix = detail, fix

    def as_dict(self):
        return {'check': self.name, 'status': self.status,
                'detail': self.detail, 'fix': self.fix}


class Context(object):
    """One backend's check run: its inputs, its results, its findings.

    ``executor_factory(settings, known_hosts, timeout)`` returns the
    executor the login check opens (an SSHExecutor; tests pass a fake).
    """

    def __init__(self, settings, executor_factory, timeout=10,
                 sections=None):
        # inputs
        self.settings = settings
        self.executor_factory = executor_factory
        self.timeout = timeout
        self.sections = sections or {}
        # output
        self.results = []
        # findings: facts for the step table, objects for later checks
        self.facts = set()
        self.executor = None        # login
        self.version = ''           # login: the wrapper's version output
        self.zfs = None             # parent dataset: a ZFSHost
        self.avail = 0              # parent dataset: bytes free (all)
        self.zfs_hosts = []         # parent dataset: one per parent
        self.avails = []            # parent dataset: bytes free each
        self.tmpdir = None          # login: the known_hosts copy's folder

    def add(self, name, status, detail, fix=None):
        self.results.append(Result(name, status, detail, fix))
        return status

    @property
    def failed(self):
        return any(r.status == FAIL for r in self.results)

    def fix_for(self, exc):
        """The fix for an error a check did not handle itself."""
        if isinstance(exc, errors.HostKeyError):
            return 'See the "host key" check and doc/deployment.rst.'
        if isinstance(exc, errors.TransportError):
            return ('Check that sshd on %s:%s answers and the login works '
                    '(see the checks above).' % (self.settings.san_ip,
                                                 self.settings.san_ssh_port))
        if isinstance(exc, errors.CommandTimeout):
            return ('The ZFS host is slow or hung: look at zpool status and '
                    'the system load there; raise --timeout to wait longer.')
        if getattr(exc, 'exit_code', None) == errors.WRAPPER_REFUSED:
            return ('The wrapper refused a command the driver needs: check '
                    '"parents" and the binary paths in its config (see '
                    'doc/wrapper-install.rst) and its log.')
        return None

    def close(self):
        if self.executor is not None and hasattr(self.executor, 'close'):
            self.executor.close()
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


def host_error(exc):
    """One line with the host's own words, never a traceback."""
    if isinstance(exc, processutils.ProcessExecutionError):
        text = (exc.stderr or exc.stdout or '').strip()
        return '"%s" exited %s: %s' % (exc.cmd, exc.exit_code, text[:300])
    return str(exc)


def exit_code(executor, *argv):
    """(exit code, stdout or stderr) of a command, whatever it exits."""
    try:
        out, _err = executor(*argv, check_exit_code=[0])
        return 0, out
    except processutils.ProcessExecutionError as e:
        return e.exit_code, (e.stderr or e.stdout or '')


def fmt_gib(size):
    return '%.1f GiB' % ((size or 0) / float(zfs.GiB))
