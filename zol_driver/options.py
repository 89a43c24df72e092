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

"""Every configuration option of cinder-zol, declared once with help text.

The driver also consumes some of Cinder's own options (the SAN SSH options
and the iSCSI target options); ``list_opts`` names them too, so the
generated sample configuration is complete.
"""

import copy

from oslo_config import cfg

zol_opts = [
    cfg.StrOpt('zol_parent_dataset',
               default='tank/cinder',
               help='ZFS dataset (a filesystem) on the ZFS host under which '
                    'this backend creates one zvol per Cinder volume, e.g. '
                    '"tank/cinder". It must exist and be listed in the '
                    'wrapper\'s "parents"; a pool root is refused. Use a '
                    'different parent for each backend that shares a ZFS '
                    'host. Several parents, comma separated (e.g. '
                    '"hdd/cinder,ssd/cinder", one per ZFS pool), are '
                    'reported as several Cinder pools of this backend, each '
                    'named after its dataset and with its own capacities; '
                    'with one parent the pool keeps the backend\'s name. '
                    'Default: tank/cinder.'),
    cfg.StrOpt('zol_ssh_known_hosts_file',
               default='/etc/cinder/ssh_known_hosts',
               help='OpenSSH known_hosts file holding the ZFS host\'s host '
                    'key(s), one "[host]:port type key" line each (plain '
                    '"host" for port 22), readable by the cinder user. With '
                    'zol_ssh_strict_host_key=True (the default) an unknown '
                    'or changed host key is refused. Default: '
                    '/etc/cinder/ssh_known_hosts.'),
    cfg.BoolOpt('zol_ssh_strict_host_key',
                default=True,
                help='Refuse to connect unless the ZFS host\'s key is in '
                     'zol_ssh_known_hosts_file. False trusts an unknown key '
                     'on first use and appends it to that file (which must '
                     'then be writable); a changed key is always refused. '
                     'Default: True.'),
    cfg.IntOpt('zol_ssh_command_timeout',
               default=120, min=1,
               help='Seconds one command on the ZFS host may run before it '
                    'is abandoned and reported as a timeout (default 120). '
                    'For image copies it limits inactivity, not the whole '
                    'copy. Raise it if large destroys time out on a busy '
                    'pool.'),
    cfg.IntOpt('zol_ssh_keepalive_interval',
               default=30, min=0,
               help='Seconds between SSH keepalive messages on idle pooled '
                    'connections (default 30; 0 disables them). Keeps '
                    'firewalls and NAT from silently dropping warm '
                    'connections.'),
    cfg.IntOpt('zol_ssh_retries',
               default=3, min=1,
               help='Attempts for one command when the transport fails '
                    'before the command was sent (connection refused or '
                    'reset, timeout at connect), with a backoff from 0.2 s '
                    'up to 5 s (default 3; 1 = no retry). A command that '
                    'was sent is never repeated.'),
    cfg.BoolOpt('zol_sparse',
                default=None,
                help='Create zvols sparse (thin, no refreservation). Unset '
                     'follows san_thin_provision (default). False reserves '
                     'the full size at creation (thick). Volume types '
                     'override it with the extra spec "zol:sparse".'),
    cfg.StrOpt('zol_volblocksize',
               default=None,
               help='volblocksize of new zvols, a power of two from 4K to '
                    '128K (for example "16K"). Unset leaves the OpenZFS '
                    'default (16K on OpenZFS 2.2, 8K before). Bytes, with '
                    'an optional K suffix. Volume types override it with '
                    '"zol:volblocksize". Cannot change after creation.'),
    cfg.StrOpt('zol_compression',
               default=None,
               help='compression property for new zvols (for example "lz4", '
                    '"zstd" or "off"). Unset (default) inherits from the '
                    'parent dataset. Volume types override it with '
                    '"zol:compression".'),
    cfg.DictOpt('zol_zvol_properties',
                default={},
                help='Further allow-listed ZFS properties for new zvols, as '
                     'key:value pairs (for example "sync:always,logbias:'
                     'throughput"). Allowed keys: checksum, dedup, sync, '
                     'logbias, primarycache, secondarycache, copies. '
                     'Default: none.'),
    cfg.IntOpt('zol_export_timeout',
               default=25, min=5,
               help='Seconds one export command (create, allow, deny, '
                    'delete or resize a target) may take in all, the SSH '
                    'connection and one re-send included (default 25). An '
                    'attach runs two of them inside one Cinder RPC call, '
                    'so keep twice this value below rpc_response_timeout '
                    '(60 s by default), and this value above the '
                    'wrapper\'s lock_wait plus zvol_wait.'),
    cfg.IntOpt('zol_max_streams',
               default=2, min=1,
               help='Image copies that may stream data to or from the ZFS '
                    'host at once (default 2). Streams use SSH connections '
                    'of their own, so they never hold up volume and export '
                    'commands; further copies wait their turn.'),
    cfg.IntOpt('zol_restore_timeout',
               default=120, min=0,
               help='Seconds cinder-volume keeps retrying, at start-up, to '
                    'restore the targets of in-use volumes when the ZFS '
                    'host cannot (tgtd down, pool not imported yet), with a '
                    'growing pause (default 120). After that the backend '
                    'reports itself down with the reason, the volumes stay '
                    'in-use, and every stats period tries again.'),
    cfg.IntOpt('zol_busy_retries',
               default=5, min=1,
               help='Attempts to destroy a zvol that ZFS reports busy '
                    '(opened by tgtd or udev) before giving up with an '
                    'error (default 5). The n-th retry waits n seconds.'),
    cfg.BoolOpt('zol_migration_verify',
                default=True,
                help='Before a migration to another backend of this driver '
                     'deletes the source, compare a BLAKE2b checksum of the '
                     'whole zvol read on each ZFS host (zvol-sum; the two '
                     'reads run at once). Size and an unchanged source are '
                     'checked either way, and ZFS checks every record of the '
                     'stream on receive. It costs one full read of the '
                     'volume on each host (holes included).'),
    cfg.IntOpt('zol_replication_interval',
               default=60, min=10,
               help='Seconds between two incremental sends of every '
                    'replicated volume (a volume type with '
                    'replication_enabled=\'<is> True\') to the ZFS host '
                    'of replication_device (default 60, at least 10). A '
                    'fail-over loses at most the writes of this interval '
                    'plus the duration of one send '
                    '(doc/replication.rst).'),
]


def cinder_consumed_opts():
    """Cinder's own options this driver reads, if Cinder is importable."""
    try:
        from cinder.volume import driver as cinder_driver
        from cinder.volume.drivers.san import san
    except ImportError:  # pragma: no cover - generator without cinder
        return []
    wanted = {'san_ip', 'san_ssh_port', 'san_login', 'san_password',
              'san_private_key', 'ssh_conn_timeout', 'ssh_min_pool_conn',
              'ssh_max_pool_conn', 'san_thin_provision'}
    target = {'target_prefix', 'target_ip_address', 'target_port',
              'target_secondary_ip_addresses', 'use_chap_auth',
              'max_over_subscription_ratio', 'reserved_percentage',
              'replication_device'}
    return ([o for o in san.san_opts if o.name in wanted] +
            [o for o in cinder_driver.volume_opts if o.name in target])


def _portal_opt(opt):
    """Cinder's target_ip_address with this driver's default explained."""
    opt = copy.deepcopy(opt)
    opt.help = ('IP address or host name of the iSCSI portal that compute '
                'nodes log in to: the ZFS host\'s storage address. Unset, '
                'this driver uses san_ip (not Cinder\'s default of my_ip, '
                'the cinder-volume host, which serves no targets here).')
    return opt


def register(conf=cfg.CONF, group=None):
    conf.register_opts(zol_opts, group=group)


def list_opts():
    """Entry point for oslo-config-generator (oslo.config.opts)."""
    consumed = [_portal_opt(o) if o.name == 'target_ip_address' else o
                for o in cinder_consumed_opts()]
    return [('backend_zol', zol_opts + consumed)]
