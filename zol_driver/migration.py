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

"""Driver-assisted migration: find the destination backend, move the zvol.

A pool's ``location_info`` names the backend's config section, the ZFS
host's address and SSH port, and its parent. The source driver can move a
volume there only if its own cinder.conf has that section, with the same
address, port and parent: it then reaches the destination with that
section's own options (san_login, key, known_hosts), checked by the same
rules as at set-up (validation.py). Anything else is "not ours": the
driver returns (False, None) and Cinder copies the volume its generic way.
"""

from oslo_config import cfg
from oslo_log import log as logging

from cinder.volume import configuration
from cinder.volume import driver as cinder_driver
from cinder.volume.drivers.san import san

from zol_driver import options
from zol_driver import ssh
from zol_driver import validation
from zol_driver import version
from zol_driver import zfs

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

PREFIX = 'ZFSonLinuxISCSIDriver'
DRIVER_PATH = 'zol_driver.driver.ZFSonLinuxISCSIDriver'


def location_info(conf, parent):
    """'ZFSonLinuxISCSIDriver:SECTION:PORT:PARENT:HOST'.

    HOST comes last: an IPv6 address has colons of its own.
    """
    return '%s:%s:%s:%s:%s' % (PREFIX, conf.config_group or '',
                               conf.san_ssh_port, parent, conf.san_ip)


def parse_location(info):
    """{'section', 'port', 'parent', 'host'} or None if not this driver's."""
    parts = (info or '').split(':', 4)
    if len(parts) != 5 or parts[0] != PREFIX or not parts[1]:
        return None
    section, port, parent, host = parts[1:]
    if not port.isdigit() or not zfs.valid_parent(parent) or not host:
        return None
    return {'section': section, 'port': int(port), 'parent': parent,
            'host': host}


def backend_conf(section):
    """[section]'s options as the driver reads them; None if absent."""
    if section not in CONF.list_all_sections():
        return None
    conf = configuration.Configuration(cinder_driver.volume_opts,
                                       config_group=section)
    # volume_driver is the volume manager's option (imported here only:
    # the manager imports drivers, never the other way at load time)
    from cinder.volume import manager as volume_manager
    conf.append_config_values(volume_manager.volume_backend_opts)
    conf.append_config_values(options.zol_opts)
    conf.append_config_values(san.san_opts)
    return conf


class Destination(object):
    """Another backend of this driver that this one can reach."""

    def __init__(self, conf, parent):
        self.conf = conf
        self.parent = parent

    def connect(self, busy_retries=5):
        """A ZFSHost on the destination, over its own SSH executor."""
        return zfs_hosts(self.conf, [self.parent], busy_retries)[0]


def zfs_hosts(conf, parents, busy_retries=5):
    """A ZFSHost per parent on conf's ZFS host, over one new SSH executor.

    conf: a backend's options (a Cinder Configuration, or the SiteConf of
    a replication_device). Connects nothing yet: the executor logs in on
    its first command.
    """
    executor = ssh.SSHExecutor.from_configuration(conf)
    return [zfs.ZFSHost(executor, parent, busy_retries=busy_retries)
            for parent in parents]


def destination(host, own_conf, own_parent):
    """The Destination of Cinder's ``host`` dict, or (None, why)."""
    caps = (host or {}).get('capabilities') or {}
    where = parse_location(caps.get('location_info'))
    if where is None:
        return None, 'not a backend of this driver'
    if (where['host'], where['port'], where['parent']) == (
            own_conf.san_ip, own_conf.san_ssh_port, own_parent):
        return None, 'the destination is this very parent'
    conf = backend_conf(where['section'])
    if conf is None:
        return None, ('this cinder.conf has no section [%s]'
                      % where['section'])
    if conf.safe_get('volume_driver') != DRIVER_PATH:
        return None, '[%s] is not this driver' % where['section']
    if ((conf.san_ip, conf.san_ssh_port) != (where['host'], where['port'])
            or where['parent'] not in zfs.parse_parents(
                conf.zol_parent_dataset)):
        return None, ('[%s] here names another ZFS host or parent than the '
                      'destination reports' % where['section'])
    failed = [p.detail for p in validation.problems(conf) if p.failed]
    if failed:
        return None, '[%s]: %s' % (where['section'], '; '.join(failed))
    return Destination(conf, where['parent']), None


def supports_streams(executor):
    """True if the host's wrapper has the stream verbs (1.4.0 and later)."""
    out, _err = executor('version')
    found = version.parse_wrapper_version(out)
    return bool(found) and found[0] == version.STREAM_WRAPPER[0] and \
        found[:2] >= version.STREAM_WRAPPER[:2]
