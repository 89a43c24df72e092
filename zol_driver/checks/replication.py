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

"""Replication checks: the replication_device and its ZFS host.

The device's options are judged by zol_driver.secondary, as the driver
judges them at set-up; its ZFS host is then checked like the primary
(key, sshd, host key, login into the wrapper, versions, parent), with
each result named "secondary <check>".
"""

from zol_driver.checks.context import FAIL
from zol_driver.checks.context import OK
from zol_driver.checks.context import WARN
from zol_driver import secondary
from zol_driver import version

PREFIX = 'secondary '


def configured(settings):
    return bool(secondary.devices(settings))


def check_wrapper_replicates(ctx):
    """With a replication_device, this wrapper must have the verbs."""
    if not configured(ctx.settings):
        return
    problem = version.replication_problem(
        version.parse_wrapper_version(ctx.version))
    if problem:
        ctx.add('replication', FAIL, problem, 'See doc/deployment.rst, '
                '"Upgrading" (wrapper first, then the driver).')
        return
    ctx.add('replication', OK, 'the wrapper has the replication verbs')


def device(settings, results):
    """The device's SiteConf, or None; its problems go to results."""
    site, problems = secondary.load(settings)
    for p in problems:
        results.append(('replication', FAIL if p.failed else WARN,
                        p.detail, p.fix))
    return site


def rename(results):
    """Name the secondary's results after their check, prefixed."""
    for r in results:
        if not r.name.startswith(PREFIX):
            r.name = PREFIX + r.name
    return results
