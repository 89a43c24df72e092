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

"""The volume-type extra specs the driver understands, declared once.

The driver reads them when it creates, clones and retypes zvols, and
publishes them through Cinder's vendor properties, so ``cinder
get-capabilities`` (and Horizon) shows operators what they can set.
doc/volume-types.rst explains each one.
"""

from zol_driver import zfs

VENDOR = 'zol'
SPARSE = VENDOR + ':sparse'
VOLBLOCKSIZE = VENDOR + ':volblocksize'
BLOCKSIZES = ('4K', '8K', '16K', '32K', '64K', '128K')

# title, description and (if the values are few) the values of
# zol:<property> for each property retype can change in place
# (zfs.MUTABLE_PROPS; tests/unit/test_extra_specs.py keeps them equal).
PROPERTIES = {
    'compression': ('ZFS compression', 'compression of new data, e.g. lz4, '
                    'zstd, zstd-3, gzip-9 or off.', None),
    'checksum': ('ZFS checksum', 'checksum algorithm of new blocks, e.g. '
                 'on, fletcher4, sha256 or blake3.', None),
    'dedup': ('ZFS deduplication', 'deduplication of new blocks, e.g. off, '
              'on, verify or sha256,verify.', None),
    'sync': ('ZFS synchronous writes', 'how synchronous writes are '
             'honoured.', ('standard', 'always', 'disabled')),
    'logbias': ('ZFS log bias', 'latency (use the log device) or '
                'throughput (write to the pool).', ('latency', 'throughput')),
    'primarycache': ('ZFS ARC caching', 'what the ARC caches of the zvol.',
                     ('all', 'metadata', 'none')),
    'secondarycache': ('ZFS L2ARC caching', 'what the L2ARC caches of the '
                       'zvol.', ('all', 'metadata', 'none')),
    'copies': ('ZFS copies', 'copies of each new block (1 to 3).',
               ('1', '2', '3')),
}


def spec_bool(value):
    """Extra-spec truth: 'True', '<is> True', 'yes', '1', 'on'."""
    text = str(value).replace('<is>', '').strip().lower()
    return text in ('true', 'yes', '1', 'on')


def vendor_properties(set_property):
    """(properties, vendor name) for Cinder's _init_vendor_properties.

    set_property is the driver's own ``_set_property``, so the entries
    have exactly the shape Cinder's capabilities API expects.
    """
    props = {}
    set_property(props, SPARSE, 'Sparse zvol', 'True: thin (no '
                 'refreservation); False: thick (the whole size reserved). '
                 'Overrides provisioning:type. Changes in place on retype.',
                 'boolean')
    set_property(props, VOLBLOCKSIZE, 'ZFS volblocksize', 'Block size of '
                 'new zvols, a power of two from 4K to 128K. Clones keep '
                 'their origin\'s; a retype to another size migrates.',
                 'string', enum=list(BLOCKSIZES))
    for key in sorted(zfs.MUTABLE_PROPS):
        title, text, values = PROPERTIES[key]
        extra = {'enum': list(values)} if values else {}
        set_property(props, '%s:%s' % (VENDOR, key), title,
                     'ZFS %s: %s Changes in place on retype.' % (key, text),
                     'string', **extra)
    return props, VENDOR
