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

"""Errors raised by the host-side modules (ssh, zfs, tgt).

They carry the dataset or target they are about and the host's own message,
and do not depend on Cinder: the driver maps them onto Cinder exceptions.
"""

# Exit code the wrapper uses for a refused command (doc/wrapper-protocol.rst).
WRAPPER_REFUSED = 126


class ZolError(Exception):
    """Base class: ``what`` names the object, ``detail`` the host's words."""

    def __init__(self, what, detail=''):
        self.what = what
        self.detail = (detail or '').strip()
        msg = '%s: %s' % (what, self.detail) if self.detail else what
        super().__init__(msg)


class TransportError(ZolError):
    """The ZFS host could not be reached or the SSH session broke."""


class HostKeyError(TransportError):
    """The ZFS host's SSH key is unknown or does not match known_hosts."""


class CommandTimeout(ZolError):
    """A command on the ZFS host did not finish in time."""


class WrapperRefused(ZolError):
    """The forced-command wrapper refused the command (exit 126)."""


class DatasetNotFound(ZolError):
    """The dataset or snapshot does not exist."""


class DatasetExists(ZolError):
    """The dataset or snapshot already exists."""


class DatasetBusy(ZolError):
    """ZFS reports the dataset busy (still open, e.g. by tgtd)."""


class DatasetHasDependents(ZolError):
    """Snapshots or clones depend on the dataset."""


class WouldShrink(ZolError):
    """The zvol is already larger than the size asked: never shrink it."""

    def __init__(self, what, have, want):
        self.have, self.want = have, want
        super().__init__(what, 'volsize is %d bytes, more than the %d asked'
                         % (have, want))


class RollbackBlocked(ZolError):
    """Newer snapshots exist, so a rollback would destroy them."""


class TargetError(ZolError):
    """The iSCSI target could not be created, changed or removed."""
