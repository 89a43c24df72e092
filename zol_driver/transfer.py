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

"""Move a zvol with ZFS send/receive, piped through cinder-volume.

The engine takes two ``zfs.ZFSHost`` objects (a parent each, on one host
or two) and knows nothing of Cinder. The data path: the sending host's
wrapper ``zvol-send`` writes the stream to its SSH channel, this process
hands each block to the receiving host's ``zvol-recv`` channel. No ZFS
host ever connects to another or holds a key of another
(doc/migration.rst: the security model and the measured cost).

What it guarantees: the source is never changed except for the engine's
own transfer snapshot, which is gone at the end whatever happens; the
destination is either a complete, verified zvol (size, and a BLAKE2b read
on each host, equal) or not there at all. A stream cut off midway is
resumed once from the receiving side's resume token; if that fails too,
the partial receive is discarded.
"""

import queue
import threading
import time
import uuid

from oslo_log import log as logging

from zol_driver import errors
from zol_driver import zfs

LOG = logging.getLogger(__name__)

SNAP_PREFIX = zfs.MIGRATE_SNAP_PREFIX
_BLOCK = 1048576
_QUEUE_BLOCKS = 8        # at most 8 MiB held here between the two hosts
_POLL = 0.5


class TransferError(errors.ZolError):
    """The zvol could not be moved; the destination was cleaned up."""


class VerifyError(TransferError):
    """The destination does not match the source; it was destroyed."""


class _Pipe(object):
    """A bounded hand-over between a sender and a receiver thread.

    Queues of the threading module (green ones under eventlet), not an OS
    pipe: a blocking read of an OS pipe would stall eventlet's hub.
    ``write`` raises BrokenPipeError once the reader closed; ``read``
    returns b'' at the end of the stream.
    """

    def __init__(self, blocks=_QUEUE_BLOCKS):
        self._q = queue.Queue(blocks)
        self._pending = b''
        self._eof = False
        self.reader_closed = threading.Event()
        self.sent = 0

    # sender side
    def write(self, data):
        while not self.reader_closed.is_set():
            try:
                self._q.put(bytes(data), timeout=_POLL)
                self.sent += len(data)
                return len(data)
            except queue.Full:
                continue
        raise BrokenPipeError('the receiving side stopped reading')

    def close_write(self):
        while not self.reader_closed.is_set():
            try:
                self._q.put(None, timeout=_POLL)
                return
            except queue.Full:
                continue

    # receiver side
    def read(self, size=_BLOCK):
        while len(self._pending) < size and not self._eof:
            block = self._q.get()
            if block is None:
                self._eof = True
            else:
                self._pending += block
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def close_read(self):
        self.reader_closed.set()


class Stats(object):
    """What one transfer cost: bytes on the wire, seconds, resumes."""

    def __init__(self):
        self.bytes = 0
        self.seconds = 0.0
        self.resumed = 0

    def __repr__(self):
        return ('<transfer %d bytes in %.1f s, %d resume(s)>'
                % (self.bytes, self.seconds, self.resumed))


class ZvolTransfer(object):
    """Copy ``src``'s zvol ``name`` to a new zvol ``name`` under ``dst``.

    ``src`` and ``dst`` are zfs.ZFSHost objects; their executors need
    ``stream_from``/``stream_to`` (ssh.SSHExecutor). ``fault``: tests only,
    called with the byte count after each block the sender hands over.
    """

    def __init__(self, src, dst, resumes=1, verify=True, fault=None,
                 sum_timeout=3600):
        self.src = src
        self.dst = dst
        self.resumes = resumes
        self.verify = verify
        self.sum_timeout = sum_timeout
        self.fault = fault
        self.stats = Stats()

    def run(self, name, dst_name=None):
        """Move, verify, clean up; returns Stats. Raises TransferError."""
        dst_name = dst_name or name
        snap_name = SNAP_PREFIX + uuid.uuid4().hex[:12]
        snap = self.src.snapshot_name(name, snap_name)
        where = '%s -> %s' % (self.src.full(name), self.dst.full(dst_name))
        if self.dst.exists(dst_name):
            raise TransferError(where, '%s exists already' %
                                self.dst.full(dst_name))
        start = time.monotonic()
        self.src.snapshot(snap)
        try:
            self._move(snap, dst_name, where)
            try:
                if self.verify:
                    self._verify(name, dst_name, where)
                self.dst.destroy(self.dst.snapshot_name(dst_name, snap_name),
                                 defer=True)
            except Exception:
                self._destroy_dst(dst_name)
                raise
        finally:
            self._drop_snapshot(snap)
        self.stats.seconds = time.monotonic() - start
        LOG.info('moved %(where)s: %(stats)r', {'where': where,
                                                'stats': self.stats})
        return self.stats

    # ------------------------------------------------------------ stream

    def _move(self, snap, dst_name, where):
        """The stream, one resume from the token, else discard."""
        self.stream(['zvol-send', self.src.full(snap)], dst_name, where)

    def stream(self, send, dst_name, where, recv='zvol-recv',
               keep_dst=False):
        """One stream ``send`` (a wrapper argv) into ``dst_name``.

        Cut off midway, it is resumed from the receiving side's token (up
        to ``resumes`` times); if that fails too, the partial receive is
        discarded and TransferError raised. ``recv``: ``zvol-recv`` (a new
        zvol) or ``zvol-recv-incr`` (onto an existing zvol, replication).
        ``keep_dst``: the destination existed before: a failure aborts
        the partial receive and never destroys the zvol.
        """
        token = None
        attempt = 0
        while True:
            try:
                self._pipe(send, dst_name, token, recv)
                return
            except Exception as exc:    # any failure: token or discard
                failure = exc
            token = self._resume_token(dst_name)
            if token and attempt < self.resumes:
                attempt += 1
                self.stats.resumed += 1
                LOG.warning('%(where)s: stream cut off (%(e)s); resuming '
                            'from the receive token (%(n)d of %(max)d)',
                            {'where': where, 'e': failure, 'n': attempt,
                             'max': self.resumes})
                send = ['zvol-send-resume']
                continue
            if keep_dst:
                self._abort(dst_name, token)
            else:
                self._discard(dst_name, token)
            raise TransferError(where, 'stream failed: %s' % failure)

    def _pipe(self, send_argv, dst_name, token, recv='zvol-recv'):
        """One stream: sending host's stdout into receiving host's stdin."""
        pipe = _Pipe()
        failures = []
        fault = self.fault

        class _Sink(object):
            def write(self, data):
                pipe.write(data)
                if fault is not None:
                    fault(pipe.sent)

        def sender():
            try:
                self.src.executor.stream_from(
                    send_argv, _Sink(),
                    process_input=(token + '\n') if token else None)
            except Exception as exc:    # reported by the receiving side
                failures.append(exc)
            finally:
                pipe.close_write()

        thread = threading.Thread(target=sender, name='zol-send',
                                  daemon=True)
        thread.start()
        try:
            self.dst.executor.stream_to(
                [recv, self.dst.full(dst_name)], pipe,
                block_size=_BLOCK)
        finally:
            pipe.close_read()
            thread.join()
            self.stats.bytes += pipe.sent
        if failures:
            raise failures[0]

    def _resume_token(self, dst_name):
        try:
            value = self.dst.get(dst_name, ('receive_resume_token',))
        except errors.DatasetNotFound:
            return None
        except errors.ZolError as exc:
            LOG.warning('cannot read the resume token of %(ds)s: %(e)s',
                        {'ds': self.dst.full(dst_name), 'e': exc})
            return None
        return value.get('receive_resume_token')

    def _discard(self, dst_name, token):
        """No partial zvol may stay visible: abort or destroy it."""
        if token:
            try:
                self.dst.executor('zvol-recv-abort', self.dst.full(dst_name))
                return
            except Exception as exc:    # then destroy it
                LOG.warning('discarding the partial receive %(ds)s '
                            'failed: %(e)s', {'ds': self.dst.full(dst_name),
                                              'e': exc})
        self._destroy_dst(dst_name)

    def _abort(self, dst_name, token):
        """Discard a partial receive into an existing zvol, keep the zvol.

        It stays at its newest snapshot. A failed abort is logged: the
        partial receive stays (zvol-recv-abort discards it later).
        """
        if not token:
            return
        try:
            self.dst.executor('zvol-recv-abort', self.dst.full(dst_name))
        except Exception as exc:
            LOG.error('discarding the partial receive into %(ds)s failed: '
                      '%(e)s', {'ds': self.dst.full(dst_name), 'e': exc})

    def _destroy_dst(self, dst_name):
        try:
            self.dst.destroy(dst_name, recursive=True)
        except errors.DatasetNotFound:
            pass

    def _drop_snapshot(self, snap):
        try:
            self.src.destroy(snap, defer=True)
        except errors.DatasetNotFound:
            pass
        except errors.ZolError as exc:
            LOG.error('the transfer snapshot %(s)s could not be removed: '
                      '%(e)s', {'s': self.src.full(snap), 'e': exc})

    # ------------------------------------------------------------ verify

    def _verify(self, name, dst_name, where):
        """Sizes equal, source unchanged since the snapshot, BLAKE2b equal.

        Each host reads its own zvol (``zvol-sum``): no data crosses the
        network again. ``written`` = 0 proves the source zvol still holds
        exactly the snapshot that was sent, so its sum is the snapshot's.
        """
        src = self.src.get(name, ('volsize', 'written'))
        dst = self.dst.get(dst_name, ('volsize', 'type'))
        if dst.get('type') != 'volume' or dst.get('volsize') != \
                src.get('volsize'):
            raise VerifyError(where, 'destination is a %s of %s bytes, the '
                              'source %s bytes' % (dst.get('type'),
                                                   dst.get('volsize'),
                                                   src.get('volsize')))
        if src.get('written'):
            raise VerifyError(where, 'the source was written to during the '
                              'transfer (%s bytes)' % src.get('written'))
        sums = {}

        def digest(side, host, ds):
            try:
                out, _err = host.executor('zvol-sum', host.full(ds),
                                          timeout=self.sum_timeout)
                sums[side] = out.strip()
            except Exception as exc:
                sums[side] = exc

        thread = threading.Thread(target=digest,
                                  args=('src', self.src, name), daemon=True)
        thread.start()
        digest('dst', self.dst, dst_name)
        thread.join()
        for side in ('src', 'dst'):
            if not isinstance(sums[side], str):
                raise VerifyError(where, 'cannot read back the %s: %s'
                                  % (side, sums[side]))
        if sums['src'] != sums['dst'] or len(sums['src']) != 128:
            raise VerifyError(where, 'BLAKE2b differs: source %s, '
                              'destination %s' % (sums['src'], sums['dst']))
