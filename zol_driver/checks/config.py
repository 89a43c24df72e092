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

"""Config checks: the backend section, and its options.

The options are judged by zol_driver.validation, as the driver judges them
at start-up; only what the driver cannot see itself (unknown option names,
another volume_driver) is checked here.
"""

import difflib

from oslo_config import cfg
from oslo_config import types

from zol_driver.checks.context import FAIL
from zol_driver.checks.context import OK
from zol_driver.checks.context import WARN
from zol_driver import options
from zol_driver import validation

DRIVER = 'zol_driver.driver.ZFSonLinuxISCSIDriver'

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
    cfg.MultiOpt('replication_device', item_type=types.Dict(), secret=True),
]


def backend_opts():
    return options.zol_opts + cinder_opts


def check_config(ctx):
    """The backend has a section in the files read."""
    s = ctx.settings
    if s.backend not in ctx.sections:
        ctx.add('config', FAIL, 'no [%s] section in %s'
                % (s.backend, ', '.join(s.files)),
                'Add a [%s] section (doc/deployment.rst, "The backend '
                'section") or pass the right --backend.' % s.backend)
        return
    ctx.add('config', OK, '[%s] read from %s'
            % (s.backend, ', '.join(s.files)))
    ctx.facts.add('config')


def check_options(ctx):
    """Options as the driver judges them (validation), typos, driver."""
    problems = (_option_typos(ctx) + _option_driver(ctx) +
                [(p.status, p.detail, p.fix)
                 for p in validation.problems(ctx.settings)])
    for status, detail, fix in problems:
        ctx.add('options', status, detail, fix)
    if not any(p[0] == FAIL for p in problems):
        ctx.add('options', OK, 'consistent (parent %s on %s)'
                % (ctx.settings.zol_parent_dataset, ctx.settings.san_ip))


def _option_typos(ctx):
    known = {o.name for o in backend_opts()}
    found = []
    for key in sorted(ctx.sections.get(ctx.settings.backend, ())):
        if key.startswith('zol_') and key not in known:
            close = difflib.get_close_matches(key, sorted(known), 1)
            found.append((FAIL, 'unknown option %s (ignored by the '
                          'driver)' % key,
                          'Did you mean %s?' % close[0] if close else
                          'Remove it; see etc/cinder-zol.conf.sample.'))
    return found


def _option_driver(ctx):
    s, found = ctx.settings, []
    if s.volume_driver != DRIVER:
        found.append((FAIL, 'volume_driver is %s' % s.volume_driver,
                      'Set volume_driver = %s in [%s].'
                      % (DRIVER, s.backend)))
    if not s.volume_backend_name:
        found.append((WARN, 'volume_backend_name is not set',
                      'Set volume_backend_name = %s so volume types can '
                      'select this backend.' % s.backend))
    return found
