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

"""ZFS on the ZFS host as typed operations over an executor.

Every method sends argvs that doc/wrapper-protocol.rst allows, parses
``-H -p`` output and turns ZFS's complaints into ``zol_driver.errors``. No
Cinder and no SSH here: the executor is any callable with the semantics of
``processutils.execute``.

Names: methods take names *relative to the parent* (``volume-<uuid>`` or
``volume-<uuid>@snapshot-<uuid>``) and refuse anything that is not one path
segment of the wrapper's safe set, so a bad name fails here with a clear
message instead of at the wrapper with exit 126.

Deletion strategy (why it looks like this)
------------------------------------------
ZFS will not destroy a snapshot that has clones, nor a zvol whose snapshots
have clones; Cinder expects every delete to succeed and every surviving
volume to keep its data. We use:

* **Snapshots** are always destroyed with ``zfs destroy -d``: one command.
  Without clones the snapshot goes at once; with clones ZFS marks it
  ``defer_destroy`` and removes it by itself when its last clone goes.
* **Volumes** are destroyed with ``zfs destroy -r`` (one command, also
  takes deferred and temporary snapshots). Only when ZFS answers "has
  dependent clones" is the zvol renamed to ``PARENT/zol-deleted-<name>``
  (one more command) -- hidden from every listing, data untouched, clones
  untouched. A hidden zvol is destroyed by ``collect_garbage`` once no
  dataset under the parent has an origin in it; the driver runs that from
  the stats listing it makes anyway (no extra round trip unless there is
  something to destroy) and right after a delete while hidden zvols are
  known to exist. Chains (hidden zvol whose clone is hidden too) go leaf
  first.
* **Temporary snapshots** for clone_volume (``<src>@zol-clone-<dst>``) are
  marked for deferred destroy right after the clone is made, so they vanish
  with the clone and never need collecting.

Why not promote the newest clone (as some appliances do)? Promotion moves
the origin's older snapshots onto a *live* volume of the user, changes its
space accounting, costs at least four round trips (fail, find the clones,
promote, destroy), and still needs deferred destroy for the snapshots that
move. Renaming needs two round trips on the rare path, touches no live
volume and is undone by a single destroy later. The functional test
tests/functional/test_zfs_volumes.py tries every deletion order of a
volume/snapshot/clone chain on real ZFS and checks data and leftovers.
"""

import math
import re
import time

from oslo_concurrency import processutils
from oslo_log import log as logging

from zol_driver import errors

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3

HIDDEN_PREFIX = 'zol-deleted-'
CLONE_SNAP_PREFIX = 'zol-clone-'
REVERT_PREFIX = 'zol-revert-'
MIGRATE_SNAP_PREFIX = 'zol-migrate-'     # transfer.py's own snapshot
EXTENTS_SNAP_PREFIX = 'zol-extents-'     # the wrapper's, for image reads
REPL_SNAP_PREFIX = 'zol-repl-'           # replication.py's, kept

PROP_OWNER = 'zol:cinder_id'
PROP_MANAGED = 'zol:managed'

# Native properties the wrapper allows (doc/wrapper-protocol.rst).
NATIVE_PROPS = frozenset((
    'volsize', 'volblocksize', 'compression', 'checksum', 'dedup', 'sync',
    'logbias', 'primarycache', 'secondarycache', 'copies', 'refreservation',
    'reservation', 'readonly', 'snapdev'))

# Properties ZFS can change on an existing zvol (retype in place).
MUTABLE_PROPS = frozenset((
    'compression', 'checksum', 'dedup', 'sync', 'logbias', 'primarycache',
    'secondarycache', 'copies'))

# Columns of the one listing behind stats, GC and setup checks.
SPACE_FIELDS = ('name', 'type', 'used', 'avail', 'volsize', 'volblocksize',
                'compression', 'refreservation', 'origin', PROP_OWNER,
                PROP_MANAGED)
SNAPSHOT_FIELDS = ('name', 'type', 'volsize', 'used', 'defer_destroy',
                   'clones', PROP_OWNER, PROP_MANAGED)
USER_PROPS = (PROP_OWNER, PROP_MANAGED)

_INT_FIELDS = frozenset(('used', 'avail', 'available', 'volsize',
                         'volblocksize', 'refreservation', 'reservation',
                         'referenced', 'written', 'createtxg', 'copies',
                         'logicalused', 'usedbysnapshots'))

_SEGMENT = r'[A-Za-z0-9_:][A-Za-z0-9_.:-]*'
_CHILD_RE = re.compile(r'^%s$' % _SEGMENT)
_SNAP_RE = re.compile(r'^(%s)@(%s)$' % (_SEGMENT, _SEGMENT))
_PARENT_RE = re.compile(r'^%s(/%s)*$' % (_SEGMENT, _SEGMENT))
_PROP_RE = re.compile(r'^(zol:[a-z0-9_]+|[a-z]+)$')
_VALUE_RE = re.compile(r'^[A-Za-z0-9_.:/@,-]+$')
MAX_WORD = 128

# (substring of ZFS's stderr, exception), first match wins.
_ERROR_PATTERNS = (
    ('has dependent clones', errors.DatasetHasDependents),
    ('more recent snapshots', errors.RollbackBlocked),
    ('dataset is busy', errors.DatasetBusy),
    ('pool or dataset is busy', errors.DatasetBusy),
    ('dataset does not exist', errors.DatasetNotFound),
    ('could not find any snapshots to destroy', errors.DatasetNotFound),
    ('dataset already exists', errors.DatasetExists),
    ('has children', errors.DatasetHasDependents),
)


def valid_parent(parent):
    """True if parent is a dataset path the wrapper can accept."""
    return bool(parent and len(parent) <= MAX_WORD and
                _PARENT_RE.match(parent))


def parse_parents(text):
    """zol_parent_dataset -> [parent, ...]: comma or space separated.

    Order is kept (the first is the default pool); duplicates are left
    for validation to name.
    """
    return [p for p in re.split(r'[\s,]+', text or '') if p]


def valid_value(value):
    """True for a property value the wrapper will pass on."""
    return bool(value is not None and len(str(value)) < MAX_WORD and
                _VALUE_RE.match(str(value)))


def valid_child(name):
    """True for one path segment under the parent (no snapshot part)."""
    return bool(name and _CHILD_RE.match(name))


def parse_size(text):
    """'16K', '1M', '8192' -> bytes; ValueError otherwise."""
    text = str(text).strip().upper().rstrip('B')
    units = {'K': 1024, 'M': 1024 ** 2, 'G': GiB, 'T': 1024 ** 4}
    mult = 1
    if text and text[-1] in units:
        mult = units[text[-1]]
        text = text[:-1]
    if not text.isdigit():
        raise ValueError('not a size: %r' % text)
    return int(text) * mult


def align_up(size, block):
    """Round size up to a multiple of block (volsize must be aligned)."""
    if not block:
        return size
    return -(-size // block) * block


def gib_ceil(size):
    """Bytes -> whole GiB, rounded up (Cinder sizes are integer GiB)."""
    return int(math.ceil(size / float(GiB))) if size else 0


def is_hidden(child):
    """A deleted zvol kept for its clones (garbage collection's job)."""
    return child.startswith(HIDDEN_PREFIX)


def is_internal(child):
    """A zvol of the driver's own, not a Cinder volume's: never listed.

    Hidden (deleted, kept for clones), or the short-lived clone of a revert.
    """
    return is_hidden(child) or child.startswith(REVERT_PREFIX)


def is_temporary_snapshot(snap):
    """A snapshot of the driver's own, never a Cinder snapshot's.

    Temporary ones (clone, migration, image read) and the replication
    snapshots, which last: none is offered for manage, and a revert goes
    around them (through a clone: a revert past a zol-repl snapshot makes
    the next sync of the replica find no common snapshot: a new seed).
    ``zfs destroy -r`` of a volume takes them all.
    """
    return snap.startswith((CLONE_SNAP_PREFIX, MIGRATE_SNAP_PREFIX,
                            EXTENTS_SNAP_PREFIX, REPL_SNAP_PREFIX))


def blocking_snapshots(detail):
    """Names ZFS listed after 'more recent snapshots ... exist'."""
    return [line.strip() for line in (detail or '').splitlines()
            if '@' in line and not line.startswith('cannot')]


def _parse_value(field, value):
    if value == '-' or value == '':
        return None
    if field in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    return value


class ZFSHost(object):
    """The zvols of one parent dataset on one ZFS host."""

    def __init__(self, executor, parent, busy_retries=5, busy_interval=1.0):
        if not valid_parent(parent):
            raise errors.ZolError(parent, 'not a valid parent dataset name')
        self.executor = executor
        self.parent = parent
        self.busy_retries = max(1, int(busy_retries))
        self.busy_interval = busy_interval
        # A hint, not state: True while hidden zvols may exist, so deletes
        # try to collect them. Every stats listing (Cinder makes one at
        # start and then periodically) collects and resets it.
        self.garbage_suspected = False

    # -------------------------------------------------------------- names

    def full(self, name):
        """'vol' or 'vol@snap' -> 'PARENT/vol[@snap]', validated."""
        if not (_CHILD_RE.match(name or '') or _SNAP_RE.match(name or '')):
            raise errors.ZolError(name, 'not a valid zvol or snapshot name '
                                  'under %s' % self.parent)
        full = '%s/%s' % (self.parent, name)
        if len(full) > MAX_WORD:
            raise errors.ZolError(name, 'name too long for the wrapper')
        return full

    def relative(self, full):
        """'PARENT/vol[@snap]' -> 'vol[@snap]'; None if not under parent."""
        prefix = self.parent + '/'
        if full and full.startswith(prefix):
            return full[len(prefix):]
        return None

    @staticmethod
    def snapshot_name(volume, snap):
        return '%s@%s' % (volume, snap)

    @staticmethod
    def hidden_name(child):
        return HIDDEN_PREFIX + child

    # ------------------------------------------------------------ running

    def _run(self, what, *argv, **kwargs):
        """Run argv; map a failure to a zol_driver.errors exception."""
        try:
            out, _err = self.executor(*argv, **kwargs)
        except processutils.ProcessExecutionError as exc:
            raise self._map_error(what, exc)
        return out

    @staticmethod
    def _map_error(what, exc):
        stderr = (exc.stderr or '').strip()
        if exc.exit_code == errors.WRAPPER_REFUSED:
            return errors.WrapperRefused(what, stderr)
        for needle, cls in _ERROR_PATTERNS:
            if needle in stderr:
                return cls(what, stderr)
        return errors.ZolError(what, stderr or 'exit code %s' %
                               exc.exit_code)

    @staticmethod
    def _prop_args(props, flag='-o'):
        args = []
        for key in sorted(props or {}):
            value = props[key]
            if value is None:
                continue
            value = str(value)
            if not _PROP_RE.match(key) or (
                    not key.startswith('zol:') and key not in NATIVE_PROPS):
                raise errors.ZolError(key, 'property not allowed')
            if not _VALUE_RE.match(value):
                raise errors.ZolError(key, 'value %r has characters the '
                                      'wrapper refuses' % value)
            if flag:
                args.append(flag)
            args.append('%s=%s' % (key, value))
        return args

    # ------------------------------------------------- typed zfs commands

    def create_volume(self, name, size, sparse=True, blocksize=None,
                      props=None):
        """zfs create [-s] -V size [-b bs] -o ... (one command)."""
        argv = ['zfs', 'create']
        if sparse:
            argv.append('-s')
        argv += ['-V', str(align_up(int(size), blocksize))]
        if blocksize:
            argv += ['-b', str(int(blocksize))]
        argv += self._prop_args(props)
        self._run(name, *argv + [self.full(name)])

    def destroy(self, name, recursive=False, defer=False, on_busy=None):
        """zfs destroy with a bounded retry while ZFS says busy.

        on_busy: called once, at the first "busy", before retrying (to
        release whatever may hold the zvol open, such as a target).
        """
        argv = ['zfs', 'destroy']
        if defer:
            argv.append('-d')
        if recursive:
            argv.append('-r')
        argv.append(self.full(name))
        for attempt in range(1, self.busy_retries + 1):
            try:
                return self._run(name, *argv)
            except errors.DatasetBusy as exc:
                if attempt >= self.busy_retries:
                    raise errors.DatasetBusy(
                        name, '%s (still busy after %d attempts)'
                        % (exc.detail, attempt))
                LOG.debug('%s busy, retry %d/%d', name, attempt,
                          self.busy_retries)
                if on_busy is not None:
                    on_busy()
                    on_busy = None
                    continue
                time.sleep(self.busy_interval * attempt)

    def snapshot(self, name, props=None):
        """zfs snapshot [-o ...] vol@snap."""
        self._run(name, *['zfs', 'snapshot'] + self._prop_args(props) +
                  [self.full(name)])

    def snapshot_many(self, names, props=None):
        """One ``zfs snapshot`` of several zvols: one transaction.

        Every zvol is under the one parent, so in one pool, which is what
        ZFS needs to take them atomically (all at the same instant).
        Resumable: if they all exist already with the same owner, done.
        """
        vols = [n.split('@')[0] for n in names]
        if len(set(vols)) != len(vols):
            raise errors.ZolError('snapshot of %s' % ', '.join(names),
                                  'a zvol is named twice')
        try:
            self._run(names[0], *['zfs', 'snapshot'] +
                      self._prop_args(props) +
                      [self.full(n) for n in names])
        except errors.DatasetExists:
            for name in names:
                self._check_resumable(name, props)

    def clone(self, snap, name, props=None):
        """zfs clone [-o ...] vol@snap vol2 (props may set volsize)."""
        self._run(name, *['zfs', 'clone'] + self._prop_args(props) +
                  [self.full(snap), self.full(name)])

    def promote(self, name):
        self._run(name, 'zfs', 'promote', self.full(name))

    def rename(self, old, new):
        self._run(old, 'zfs', 'rename', self.full(old), self.full(new))

    def rollback(self, snap):
        """zfs rollback (never -r): RollbackBlocked if newer snapshots."""
        self._run(snap, 'zfs', 'rollback', self.full(snap))

    def set(self, name, props):
        """zfs set p=v [p=v]... in one command."""
        args = self._prop_args(props, flag=None)
        if args:
            self._run(name, *['zfs', 'set'] + args + [self.full(name)])

    def _get_rows(self, name, props):
        """[(prop, value, source)] of one dataset (None: the parent)."""
        target = self.parent if name is None else self.full(name)
        out = self._run(name or self.parent, 'zfs', 'get', '-H', '-p', '-o',
                        'property,value,source', ','.join(props), target)
        return [tuple(parts) for parts in
                (line.split('\t') for line in out.splitlines())
                if len(parts) == 3]

    def get(self, name, props):
        """{prop: value} of one dataset (None: the parent), parsed.

        zol: user properties count only where set locally: a snapshot
        inherits its zvol's, which would otherwise claim it.
        """
        result = dict.fromkeys(props)
        for prop, value, source in self._get_rows(name, props):
            if prop.startswith('zol:') and source != 'local':
                continue
            result[prop] = _parse_value(prop, value)
        return result

    def list(self, name=None, fields=('name',), types=None, depth=None):
        """Rows (dicts keyed by field) of zfs list -H -p.

        name None lists the parent itself; depth lists descendants.
        """
        target = self.parent if name is None else self.full(name)
        argv = ['zfs', 'list', '-H', '-p']
        if depth is not None:
            argv += ['-r', '-d', str(int(depth))]
        if types:
            argv += ['-t', ','.join(types)]
        argv += ['-o', ','.join(fields), target]
        out = self._run(name or self.parent, *argv)
        rows = []
        for line in out.splitlines():
            parts = line.split('\t')
            if len(parts) != len(fields):
                continue
            rows.append({f: _parse_value(f, v)
                         for f, v in zip(fields, parts)})
        return rows

    # --------------------------------------------- higher-level operations

    def parent_info(self):
        """The parent's own row: name, type, used, avail (setup check)."""
        rows = self.list(fields=('name', 'type', 'used', 'avail'))
        if not rows:
            raise errors.DatasetNotFound(self.parent, 'no listing')
        return rows[0]

    def space_listing(self):
        """ONE listing: the parent and its zvols, with SPACE_FIELDS."""
        return self.list(fields=SPACE_FIELDS, types=('filesystem', 'volume'),
                         depth=1)

    def snapshot_listing(self):
        """ONE listing: snapshots of the zvols under the parent.

        The zvols are listed too, only to tell a snapshot's own zol:
        properties from those it inherits from its zvol (dropped).
        """
        rows = self.list(fields=SNAPSHOT_FIELDS, types=('volume',
                                                        'snapshot'),
                         depth=2)
        owners = {r['name']: r.get(PROP_OWNER) for r in rows
                  if r.get('type') == 'volume'}
        snaps = []
        for row in rows:
            if row.get('type') != 'snapshot':
                continue
            vol_owner = owners.get(row['name'].split('@')[0])
            if vol_owner and row.get(PROP_OWNER) == vol_owner:
                row.update(dict.fromkeys(USER_PROPS))
            snaps.append(row)
        return snaps

    def exists(self, name):
        try:
            self.list(name)
        except errors.DatasetNotFound:
            return False
        return True

    def owner(self, name):
        """Value of zol:cinder_id on name, or None."""
        return self.get(name, (PROP_OWNER,)).get(PROP_OWNER)

    def delete_volume(self, name, release=None):
        """Destroy a zvol, hiding it if clones depend on it.

        release: called before a retry when the zvol is busy and before it
        is hidden, to close what may hold it open (a leftover target):
        a hidden zvol that tgtd still serves could never be collected.
        Returns 'destroyed', 'hidden' or 'absent' (already gone).
        """
        try:
            self.destroy(name, recursive=True, on_busy=release)
        except errors.DatasetNotFound:
            return 'absent'
        except errors.DatasetHasDependents as exc:
            LOG.info('%s has dependent clones; hiding it until they are '
                     'gone (%s)', name, exc.detail.replace('\n', ' '))
            if release is not None:
                release()
            self.rename(name, self.hidden_name(name))
            # Clones deleted in parallel may be gone already, and then no
            # later delete would come to collect it: look once now.
            self.garbage_suspected = True
            self.collect_garbage()
            return 'hidden'
        if self.garbage_suspected:
            self.collect_garbage()
        return 'destroyed'

    def delete_snapshot(self, snap):
        """Destroy now, or when its last clone goes (-d). Gone is fine."""
        try:
            self.destroy(snap, defer=True)
        except errors.DatasetNotFound:
            return 'absent'
        return 'destroyed'

    def clone_volume(self, src, dst, props=None):
        """Instant copy of src as dst through a temporary snapshot.

        Resumable: an existing temporary snapshot or an existing clone
        owned by the same Cinder object is reused. The temporary snapshot
        never outlives the clone: it is destroyed if the clone fails, and
        marked for deferred destroy (sent again if the link dropped) once
        the clone exists. A crash between the two is mended when the clone
        is deleted (the driver destroys the snapshot then).
        """
        snap = self.snapshot_name(src, CLONE_SNAP_PREFIX + dst)
        try:
            self.snapshot(snap)
        except errors.DatasetExists:
            LOG.debug('reusing temporary snapshot %s', snap)
        try:
            self.clone_from(snap, dst, props)
        except errors.ZolError:
            self._drop_temporary(snap)
            raise
        try:
            self.destroy(snap, defer=True)
        except errors.TransportError as exc:
            LOG.warning('marking %s for deferred destroy: %s; sending it '
                        'again', snap, exc)
            self.destroy(snap, defer=True)

    def _drop_temporary(self, snap):
        """Best effort: destroy a temporary snapshot after a failure."""
        try:
            self.destroy(snap, defer=True)
        except errors.ZolError as exc:
            LOG.warning('could not destroy temporary snapshot %s: %s '
                        '(it goes when the volume is deleted)', snap, exc)

    def clone_from(self, snap, dst, props=None):
        """zfs clone, treating an existing dst of the same owner as done."""
        try:
            self.clone(snap, dst, props)
        except errors.DatasetExists:
            self._check_resumable(dst, props)

    def snapshot_or_resume(self, name, props=None):
        """zfs snapshot; an existing one of the same owner is done."""
        try:
            self.snapshot(name, props)
        except errors.DatasetExists:
            self._check_resumable(name, props)

    def create_or_resume(self, name, size, sparse=True, blocksize=None,
                         props=None):
        """create_volume; an existing zvol of the same owner is done."""
        try:
            self.create_volume(name, size, sparse, blocksize, props)
        except errors.DatasetExists:
            self._check_resumable(name, props)

    def _check_resumable(self, name, props):
        want = (props or {}).get(PROP_OWNER)
        have = self.owner(name)
        if not want or have != want:
            raise errors.DatasetExists(
                name, 'exists and belongs to %s, not %s' % (have, want))
        LOG.info('%s already exists for %s: resuming', name, want)

    def extend(self, name, size, blocksize=None):
        """Grow volsize (aligned up to volblocksize when known); two trips.

        ``zfs set volsize`` also shrinks, cutting data off, and an extend
        cut after ZFS grew the zvol leaves it larger than Cinder records:
        a size it already has is done, a smaller one refused (WouldShrink).
        """
        want = align_up(int(size), blocksize)
        have = self.get(name, ('volsize',))['volsize']
        if have is not None and have > want:
            raise errors.WouldShrink(self.full(name), have, want)
        if have != want:
            self.set(name, {'volsize': want})

    def local_props(self, name, props):
        """{prop: value} of the native props set locally on name."""
        return {prop: value for prop, value, source in
                self._get_rows(name, sorted(props)) if source == 'local'}

    def local_settings(self, name):
        """{prop: value} of every property set locally on name (one get).

        Only those the wrapper lets the driver set: zol: user properties
        and NATIVE_PROPS; values as zfs get -p prints them.
        """
        return {prop: value for prop, value, source in
                self._get_rows(name, ('all',))
                if source == 'local' and (prop.startswith('zol:') or
                                          prop in NATIVE_PROPS)}

    def revert_by_clone(self, snap, props):
        """Revert a zvol to snap when ZFS refuses a rollback.

        The blockers are the driver's own snapshots (temporary ones of
        clone_volume, deleted ones kept for clones): they have clones, so
        no rollback can go past them. Instead: clone snap, promote the
        clone (snap and every older snapshot move to it, clones follow),
        hide the old zvol with the blockers, and give the clone the
        zvol's name. Four commands; each failure undoes the steps before.
        props: what the new zvol needs set (owner, the old zvol's local
        properties). The hidden zvol is collected when its clones go.
        """
        vol = snap.split('@')[0]
        tmp = REVERT_PREFIX + vol
        hidden = '%s%s-%d' % (HIDDEN_PREFIX, vol, int(time.time()))
        self.clone_from(snap, tmp, props)
        steps = [(lambda: self.promote(tmp), lambda: self.promote(vol)),
                 (lambda: self.rename(vol, hidden),
                  lambda: self.rename(hidden, vol)),
                 (lambda: self.rename(tmp, vol), None)]
        undo = [lambda: self.destroy(tmp, recursive=True)]
        try:
            for step, back in steps:
                step()
                if back:
                    undo.append(back)
        except errors.ZolError:
            for back in reversed(undo):
                try:
                    back()
                except errors.ZolError as exc:
                    LOG.error('revert of %s: could not undo a step: %s',
                              vol, exc)
                    break
            raise
        self.garbage_suspected = True
        return hidden

    def collect_garbage(self, rows=None):
        """Destroy hidden zvols nothing depends on any more; leaves first.

        rows: a space_listing() already made (saves the round trip).
        Returns the names destroyed.
        """
        if rows is None:
            rows = self.space_listing()
        hidden = set()
        origins = []
        for row in rows:
            child = self.relative(row['name'])
            if child is None or row.get('type') != 'volume':
                continue
            if is_hidden(child):
                hidden.add(child)
            if row.get('origin'):
                origins.append((child, self.relative(row['origin'])))
        done, failed = [], []
        pending = set(hidden)
        # Each pass frees hidden zvols whose dependents were all hidden and
        # freed in an earlier pass; bounded by the number of hidden zvols.
        for _pass in range(len(hidden)):
            needed = {origin.split('@')[0] for child, origin in origins
                      if origin and child not in done}
            ready = sorted(pending - needed)
            if not ready:
                break
            for child in ready:
                pending.discard(child)
                try:
                    self.destroy(child, recursive=True)
                except errors.DatasetNotFound:
                    pass
                except errors.ZolError as exc:
                    LOG.warning('could not collect hidden zvol %s: %s',
                                child, exc)
                    failed.append(child)
                    continue
                done.append(child)
        self.garbage_suspected = bool(pending or failed)
        if done:
            LOG.info('collected hidden zvols: %s', ', '.join(done))
        return done
