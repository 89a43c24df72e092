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

"""The release number and the wrapper versions this release works with.

No Cinder import: ``cinder-zol-check`` and the driver both use it.

Supported skew: the driver works with a wrapper of the same major version
whose minor version is at least ``MIN_WRAPPER``'s (a newer 1.x wrapper only
adds to the protocol); an older wrapper, or one of another major version,
is refused at set-up. Upgrade the ZFS host's wrapper first, then the
driver (doc/deployment.rst, "Upgrading").
"""

import re

# setup.cfg's "version", the driver's VERSION and the wrapper's VERSION
# must all equal this (tests/unit/test_version.py).
RELEASE = '1.6.0'

# (1.4.0 adds the zvol-send/-recv/-sum verbs, which only migration uses:
# it asks for them itself (STREAM_WRAPPER) and otherwise leaves the move
# to Cinder; 1.3.0 changed the wrapper's shape, not its protocol: 1.2.0
# still works.)
# 1.2.0: bounded waits behind the driver's 25 s export budget, restore that
# fails closed on a malformed state file; 1.1.0: target-deny closes the
# denied initiator's sessions.
MIN_WRAPPER = (1, 2, 0)

# 1.4.0: zvol-read-extents / zvol-write-extents (only data crosses SSH).
# (1.5.0 makes the same zvol-read-extents read only the allocated blocks:
# a 1.4 wrapper still gives the same records, from a whole-device scan.)
EXTENTS_WRAPPER = (1, 4, 0)
# tgt unmaps a block-device LUN with BLKDISCARD from 1.0.90 on; before, it
# punches a hole with fallocate, which a zvol (OpenZFS 2.1) refuses, so
# the initiator's UNMAP would be acknowledged and nothing freed.
UNMAP_TGT = (1, 0, 90)

_TGT_LINE = re.compile(r'^tgtadm (\d+)\.(\d+)\.(\d+)\S*\s*$', re.M)

# The first wrapper with the ZFS stream verbs (driver-assisted migration).
STREAM_WRAPPER = (1, 4, 0)
# The first wrapper with zvol-recv-incr (replication, issue 20): needed on
# both hosts of a replicated backend (replication_problem).
REPL_WRAPPER = (1, 6, 0)

_WRAPPER_LINE = re.compile(r'^zfswrapper (\d+)\.(\d+)\.(\d+)\s*$', re.M)


def parse_wrapper_version(text):
    """(major, minor, patch) from the "version" verb's output, or None."""
    match = _WRAPPER_LINE.search(text or '')
    if not match:
        return None
    return tuple(int(part) for part in match.groups())


def parse_tgt_version(text):
    """(major, minor, patch) of the "tgtadm X.Y.Z" line, or None."""
    match = _TGT_LINE.search(text or '')
    if not match:
        return None
    return tuple(int(part) for part in match.groups())


def has_extents(found):
    """The wrapper version ``found`` has the extent stream verbs."""
    return found is not None and found >= EXTENTS_WRAPPER


def tgt_unmaps(found):
    """tgtd of version ``found`` frees a zvol's blocks on UNMAP."""
    return found is not None and found >= UNMAP_TGT


def wrapper_problem(found):
    """None if the wrapper version ``found`` is supported, else what to do.

    ``found`` is parse_wrapper_version()'s result (None: unreadable).
    """
    need = '%d.%d.0 or a later %d.x' % (MIN_WRAPPER[0], MIN_WRAPPER[1],
                                        MIN_WRAPPER[0])
    if found is None:
        return ('its "version" did not print "zfswrapper X.Y.Z"; install '
                'zfswrapper %s on the ZFS host' % need)
    text = '%d.%d.%d' % found
    if found[0] > MIN_WRAPPER[0]:
        return ('zfswrapper %s is newer than this cinder-zol %s supports '
                '(%s): upgrade cinder-zol on the cinder-volume host'
                % (text, RELEASE, need))
    if found[:2] < MIN_WRAPPER[:2]:
        return ('zfswrapper %s is too old for cinder-zol %s: upgrade the '
                'wrapper on the ZFS host to %s (package cinder-zol-zfs-host '
                'or share/cinder-zol/zfswrapper.sh of this release)'
                % (text, RELEASE, need))
    return None


def package_version():
    """The installed distribution's version (pbr), or RELEASE."""
    try:
        from importlib import metadata
        return metadata.version('cinder-zol')
    except Exception:
        return RELEASE


def replication_problem(found):
    """None if wrapper version ``found`` can replicate, else what to do."""
    if (found is not None and found[0] == REPL_WRAPPER[0] and
            found[:2] >= REPL_WRAPPER[:2]):
        return None
    return ('replication needs zfswrapper %d.%d.0 or a later %d.x, found '
            '%s: upgrade the wrapper on that ZFS host'
            % (REPL_WRAPPER[0], REPL_WRAPPER[1], REPL_WRAPPER[0],
               '%d.%d.%d' % found if found else 'none'))
