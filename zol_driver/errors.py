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


class RollbackBlocked(ZolError):
    """Newer snapshots exist, so a rollback would destroy them."""


class TargetError(ZolError):
    """The iSCSI target could not be created, changed or removed."""
