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

"""Issue 19: the send/receive engine and the stream verbs on real ZFS.

zol_driver.transfer between the test bed's two parents (tank/cinder ->
tank/cinder2) over the driver's key and the real wrapper 1.4.0: a stream
cut midway (resumed from the real receive token, then verified by the
checksum read on each side), cut twice (discarded: no partial zvol,
the source unchanged), and what the
wrapper refuses on the real host: a receive over an existing zvol, a
resume token of a dataset outside the parents. Small zvols (64 MiB) keep
this cheap under emulation; tests/functional/test_migration.py moves
Cinder volumes through the real services. Between the two test-bed hosts
(``testbed --instance 2``, which CI starts for test_two_hosts anyway):
one cut stream, resumed on the other host and verified by the checksum
read on each (tests/functional/test_migration_hosts.py does it through
Cinder, with --full).
"""

import uuid

from oslo_concurrency import processutils
import testtools

from tests.functional import testbed
from zol_driver import errors
from zol_driver import ssh
from zol_driver import transfer
from zol_driver import zfs

MiB = 1 << 20


def cut_after(nbytes, times=1):
    """A transfer ``fault``: cuts the stream ``times`` times at nbytes."""
    left = [times]

    def fault(sent):
        if left[0] and sent >= nbytes:
            left[0] -= 1
            raise OSError("cut by the test after %d bytes" % sent)
    return fault


def driver_ends(test, name):
    """(ZFSHost on host 1, on host 2): the driver's key, tank/cinder each.

    Their executors close, and zvol ``name`` is destroyed on both hosts,
    when ``test`` ends.
    """
    ends = []
    for h in (test.h1, test.h2):
        ex = ssh.SSHExecutor(
            h.host, port=h.port, login=h.user, private_key=h.driver_key,
            known_hosts_file=h.known_hosts)
        test.addCleanup(ex.close)
        test.addCleanup(h.admin, "zfs destroy -r %s/%s" % (h.parent, name))
        ends.append(zfs.ZFSHost(ex, h.parent))
    return ends


class EngineOnTheTestBed(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host = host = testbed.get_host()     # SkipTest when unavailable
        cls.parent2 = host.env["ZOL_PARENT2"]
        cls.executor = ssh.SSHExecutor(
            host.host, port=host.port, login=host.user,
            private_key=host.driver_key, known_hosts_file=host.known_hosts)
        cls.executor2 = ssh.SSHExecutor(
            host.host, port=host.port, login=host.user,
            private_key=host.driver_key, known_hosts_file=host.known_hosts)
        cls.addClassCleanup(cls.executor.close)
        cls.addClassCleanup(cls.executor2.close)
        cls.src = zfs.ZFSHost(cls.executor, host.parent)
        cls.dst = zfs.ZFSHost(cls.executor2, cls.parent2)

    def setUp(self):
        super().setUp()
        self.name = "volume-xfer-%s" % self.id().rsplit("_", 1)[-1]
        self.addCleanup(self.host.admin, "zfs destroy -r %s/%s; zfs destroy "
                        "-r %s/%s" % (self.host.parent, self.name,
                                      self.parent2, self.name))
        self.host.admin_ok(
            "zfs create -s -V %d %s/%s && udevadm settle && dd "
            "if=/dev/urandom of=/dev/zvol/%s/%s bs=1M count=8 seek=4 "
            "conv=fsync status=none" % (64 * MiB, self.host.parent,
                                        self.name, self.host.parent,
                                        self.name), timeout=300)

    def sum(self, parent):
        return self.host.admin_ok("b2sum < /dev/zvol/%s/%s"
                                  % (parent, self.name)).split()[0]

    def state(self, parent):
        """Datasets and snapshots named after the test's zvol."""
        out = self.host.admin_ok("zfs list -H -p -o name,guid,written -t all "
                                 "-r %s" % parent)
        return sorted(ln for ln in out.splitlines() if self.name in ln)

    def test_cut_once_resumes_from_the_receive_token(self):
        want = self.sum(self.host.parent)
        before = self.state(self.host.parent)
        stats = transfer.ZvolTransfer(
            self.src, self.dst, fault=cut_after(3 * MiB, 1)
        ).run(self.name)
        self.assertEqual(1, stats.resumed)
        # verified by the engine (zvol-sum on each side), and here again
        self.assertEqual(want, self.sum(self.parent2))
        self.assertEqual(before, self.state(self.host.parent))
        self.assertEqual(["%s/%s" % (self.parent2, self.name)],
                         [ln.split("\t")[0]
                          for ln in self.state(self.parent2)])
        # the 8 MiB written crossed (about 3 MiB of it twice), not 64 MiB
        self.assertGreater(stats.bytes, 8 * MiB)
        self.assertLess(stats.bytes, 14 * MiB)

    def test_cut_twice_is_discarded(self):
        before = self.state(self.host.parent)
        fault = cut_after(3 * MiB, 2)
        exc = self.assertRaises(transfer.TransferError, transfer.ZvolTransfer(
            self.src, self.dst, fault=fault).run, self.name)
        self.assertIn("stream failed", str(exc))
        self.assertEqual([], self.state(self.parent2))
        self.assertEqual(before, self.state(self.host.parent))

    def test_the_host_refuses_what_the_protocol_forbids(self):
        # a receive over an existing zvol: refused before zfs runs
        self.host.admin_ok("zfs create -s -V %d %s/%s" % (
            64 * MiB, self.parent2, self.name))
        exc = self.assertRaises(
            processutils.ProcessExecutionError, self.executor2.stream_to,
            ["zvol-recv", "%s/%s" % (self.parent2, self.name)],
            _Bytes(b"x" * 1024))
        self.assertIn("exists: zvol-recv makes a new zvol only", str(exc))
        # a real resume token of a snapshot outside the parents (a token
        # names the SENDING side's snapshot: toname)
        self.host.admin_ok(
            "zfs create -p -s -V %d tank/other/src && udevadm settle && "
            "dd if=/dev/urandom of=/dev/zvol/tank/other/src bs=1M count=4 "
            "status=none && zfs snapshot tank/other/src@t && "
            "{ zfs send tank/other/src@t | head -c 2000000 | zfs receive -s "
            "tank/other/x; true; }" % (64 * MiB))
        self.addCleanup(self.host.admin, "zfs destroy -r tank/other")
        token = self.host.admin_ok("zfs get -H -o value receive_resume_token "
                                   "tank/other/x").strip()
        self.assertTrue(token.startswith("1-"), token)
        sink = _Sink()
        exc = self.assertRaises(
            processutils.ProcessExecutionError, self.executor.stream_from,
            ["zvol-send-resume"], sink, process_input=token + "\n")
        self.assertEqual(errors.WRAPPER_REFUSED, exc.exit_code, exc)
        self.assertIn("configured parent", str(exc))
        self.assertEqual(b"", sink.data)


class EngineBetweenTwoHosts(testtools.TestCase):
    """Host 1's tank/cinder -> host 2's tank/cinder, two SSH transports."""

    def setUp(self):
        super().setUp()
        self.h1 = testbed.get_host()             # SkipTest when unavailable
        self.h2 = testbed.get_second_host()
        self.name = "volume-xfer-2h-%s" % uuid.uuid4().hex[:8]
        self.src, self.dst = driver_ends(self, self.name)
        self.dev = "/dev/zvol/%s/%s" % (self.h1.parent, self.name)
        self.h1.admin_ok(
            "zfs create -s -V %d %s/%s && udevadm settle && dd "
            "if=/dev/urandom of=%s bs=1M count=8 seek=4 conv=fsync "
            "status=none" % (64 * MiB, self.h1.parent, self.name, self.dev),
            timeout=300)

    def names(self, host):
        out = host.admin_ok("zfs list -H -o name -t all -r %s" % host.parent)
        return sorted(n for n in out.split() if self.name in n)

    def test_cut_stream_resumes_on_the_other_host(self):
        want = self.h1.admin_ok("b2sum < %s" % self.dev).split()[0]
        props = ("zfs get -H -p -o value guid,used,written %s/%s"
                 % (self.h1.parent, self.name))
        before = self.h1.admin_ok(props)
        stats = transfer.ZvolTransfer(self.src, self.dst,
                                      fault=cut_after(3 * MiB)).run(self.name)
        self.assertEqual(1, stats.resumed)
        self.assertEqual(want, self.h2.admin_ok(
            "udevadm settle; b2sum < /dev/zvol/%s/%s"
            % (self.h2.parent, self.name)).split()[0])
        # the source as it was, the copy alone on host 2, no snapshot left
        self.assertEqual(before, self.h1.admin_ok(props))
        self.assertEqual(["%s/%s" % (self.h1.parent, self.name)],
                         self.names(self.h1))
        self.assertEqual(["%s/%s" % (self.h2.parent, self.name)],
                         self.names(self.h2))


class _Bytes(object):
    def __init__(self, data):
        self.data = data

    def read(self, size):
        data, self.data = self.data[:size], self.data[size:]
        return data


class _Sink(object):
    data = b""

    def write(self, data):
        self.data += data
