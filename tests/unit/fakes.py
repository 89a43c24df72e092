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

"""Fakes shared by the unit tests: recording executors, canned ZFS output,
and the driver wired to them. Test modules import these from here, never
from each other.
"""

import re

from cinder import context
from cinder.tests.unit import fake_snapshot
from cinder.tests.unit import fake_volume
from cinder.volume import configuration
from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from zol_driver import driver
from zol_driver import pools
from zol_driver import tgt
from zol_driver import zfs

P = 'tank/cinder'
GROUP = 'zol_unit'
GiB = zfs.GiB
SECRET = 'Abcdefgh12345678'

# ZFS 2.1's own words, as the wrapper passes them on.
NOT_FOUND = "cannot open '%s': dataset does not exist\n"
EXISTS = "cannot create '%s': dataset already exists\n"
BUSY = "cannot destroy '%s': dataset is busy\n"
CLONES = ("cannot destroy '%s': volume has dependent clones\n"
          "use '-R' to destroy the following datasets:\n%s\n")
NEWER = ("cannot rollback to '%s': more recent snapshots or bookmarks "
         "exist\nuse '-r' to force deletion of the following snapshots "
         "and bookmarks:\n%s\n")


class FakeExecutor(object):
    """Records each argv; answers from rules matched on the joined line.

    ``on(regex, out, err, exit_code, times)``: the first rule whose regex
    matches (re.search) and has times left answers. Unmatched commands
    succeed with empty output.
    """

    def __init__(self):
        self.calls = []
        self.rules = []
        self.deadlines = []

    def on(self, regex, out='', err='', exit_code=0, times=None,
           raises=None):
        """raises: an exception to raise instead of answering."""
        self.rules.append([re.compile(regex), out, err, exit_code, times,
                           raises])
        return self

    def __call__(self, *argv, check_exit_code=True, process_input=None,
                 deadline=None):
        cmd = ' '.join(argv)
        self.calls.append(cmd)
        self.deadlines.append(deadline)
        for rule in self.rules:
            regex, out, err, code, times, raises = rule
            if times == 0 or not regex.search(cmd):
                continue
            if times is not None:
                rule[4] -= 1
            if raises is not None:
                raise raises
            if code:
                raise processutils.ProcessExecutionError(
                    stdout=out, stderr=err, exit_code=code, cmd=cmd)
            return out, err
        return '', ''

    def commands(self, prefix='zfs'):
        return [c for c in self.calls if c.startswith(prefix)]

    def warm_up(self):
        """SSHExecutor's: open the pool's minimum of connections now."""
        self.calls.append('<warm_up>')
        return 1


def getout(*pairs, **kw):
    """Canned 'zfs get -o property,value,source' output."""
    source = kw.get('source', 'local')
    it = iter(pairs)
    return ''.join('%s\t%s\t%s\n' % (k, v, source) for k, v in zip(it, it))


def listing(*rows):
    return ''.join('\t'.join(str(v) for v in row) + '\n' for row in rows)


def space_dict(*args, **kwargs):
    """A parsed space_listing() row."""
    return {f: zfs._parse_value(f, str(v)) for f, v in
            zip(zfs.SPACE_FIELDS, space_row(*args, **kwargs))}


def space_row(name, type_='volume', used=1, avail=100, volsize=None,
              origin='-', owner='-', managed='-'):
    volsize = '-' if volsize is None else volsize
    return (name, type_, used, avail, volsize,
            8192 if type_ == 'volume' else '-', 'lz4', 0, origin, owner,
            managed)


class Recorder(FakeExecutor):
    """FakeExecutor that also records what went to stdin."""

    def __init__(self):
        super().__init__()
        self.inputs = []

    def __call__(self, *argv, check_exit_code=True, process_input=None,
                 deadline=None):
        self.inputs.append(process_input)
        return super().__call__(*argv, check_exit_code=check_exit_code,
                                deadline=deadline)


def verbs(calls):
    """'zfs destroy', 'target-delete': the verb of each recorded call."""
    return [c.split()[0] if c.startswith('target-') else
            ' '.join(c.split()[:2]) for c in calls]


class DriverTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cfg = self.useFixture(config_fixture.Config(cfg.CONF))
        conf = configuration.Configuration(driver.driver.volume_opts,
                                           config_group=GROUP)
        self.drv = driver.ZFSonLinuxISCSIDriver(configuration=conf)
        self.set(san_ip='192.0.2.10', san_private_key='/k',
                 zol_parent_dataset=P, volume_backend_name='zolbe')
        self.ex = FakeExecutor()
        self.drv.executor = self.ex
        self.drv.pools = pools.Pools(
            [zfs.ZFSHost(self.ex, P, busy_retries=2, busy_interval=0)],
            self.drv._backend_name())
        self.drv.zfs.garbage_suspected = False
        self.drv.targets = tgt.TgtTargets(self.ex, self.drv.configuration,
                                          sleep=lambda _s: None)
        self.ctx = context.get_admin_context()

    def set(self, **kw):
        for key, value in kw.items():
            self.cfg.config(group=GROUP, **{key: value})

    def volume(self, size=1, specs=None, **kw):
        vol = fake_volume.fake_volume_obj(self.ctx, size=size, **kw)
        if specs is not None:
            vol.volume_type = fake_volume.fake_volume_type_obj(
                self.ctx, extra_specs=specs)
        return vol

    def snapshot(self, vol, **kw):
        kw.setdefault('volume_size', vol.size)
        return fake_snapshot.fake_snapshot_obj(
            self.ctx, volume=vol, volume_id=vol.id, **kw)
