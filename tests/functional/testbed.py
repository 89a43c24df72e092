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

"""A ready ZFS host for functional tests: the tools/testbed VM.

Usage in a test::

    from tests.functional import testbed

    class MyTest(testtools.TestCase):
        def setUp(self):
            super().setUp()
            self.zfs_host = self.useFixture(testbed.ZFSHostFixture()).host
            # self.zfs_host.settings -> dict for the driver
            rc, out, err = self.zfs_host.admin("zfs list -H -o name")

The VM is started lazily, once per network namespace, by
``tools/testbed/testbed start`` and left running for the other tests of the
run; its watchdog stops it when the namespace is abandoned (the test run's
``unshare --net`` process tree ended).  Tests must run inside a private
network namespace with only loopback::

    unshare --net sh -c 'ip link set lo up; python -m stestr run ...'

When the testbed cannot be used (not in a private netns, image not built,
VM does not start) every test using it is skipped with a reason starting
'ZFS testbed unavailable:', and the reason is also printed to stderr.

A second, independent ZFS host (``testbed --instance 2``: own disks, ports,
known_hosts and sshd host key; same pool and parents) for tests that need
two hosts (send/receive, migration)::

    self.zfs_host2 = self.useFixture(testbed.SecondZFSHostFixture()).host

It too starts lazily, once per network namespace, and stays up for the
other tests of the run; its tests skip with 'second ZFS testbed host
unavailable: ...'.
"""

import fcntl
import json
import os
import shlex
import subprocess
import sys
import time
import unittest

import fixtures

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TESTBED = os.path.join(REPO, "tools", "testbed", "testbed")
PARENT = "tank/cinder"

_hosts = {}           # instance -> the ZFSHost of this process, once started
_failures = {}        # instance -> why it could not be had, once tried


class ZFSHost(object):
    """Connection settings and admin access to the running testbed VM."""

    def __init__(self, env):
        self.env = env
        self.host = env["ZOL_HOST"]
        self.port = int(env["ZOL_SSH_PORT"])
        self.user = env["ZOL_SSH_USER"]
        self.driver_key = env["ZOL_DRIVER_KEY"]
        self.admin_key = env["ZOL_ADMIN_KEY"]
        self.known_hosts = env["ZOL_KNOWN_HOSTS"]
        self.parent = env["ZOL_PARENT"]
        self.iscsi_ip = env["ZOL_HOST"]
        self.iscsi_port = int(env["ZOL_ISCSI_PORT"])
        self.iscsi_portal = env["ZOL_ISCSI_PORTAL"]
        self.accel = env.get("ZOL_ACCEL")
        self.statedir = env["ZOL_TESTBED_STATE"]
        self.instance = int(env.get("ZOL_TESTBED_INSTANCE", "1"))

    @property
    def settings(self):
        """What a driver/executor needs to reach the ZFS host."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "private_key": self.driver_key,
            "known_hosts": self.known_hosts,
            "parent": self.parent,
            "iscsi_ip": self.iscsi_ip,
            "iscsi_port": self.iscsi_port,
            "iscsi_portal": self.iscsi_portal,
        }

    def _ssh(self, key):
        return ["ssh", "-i", key, "-p", str(self.port),
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "UserKnownHostsFile=" + self.known_hosts,
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes",
                "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
                "%s@%s" % (self.user, self.host)]

    def admin(self, cmd, input=None, timeout=120):
        """Run a shell command as root in the guest: (rc, out, err).

        cmd is a string (run by the guest's shell) or an argv list (quoted
        for it).  Admin commands share one warm SSH connection (a login
        costs seconds under TCG); the driver key never does.
        """
        if not isinstance(cmd, str):
            cmd = " ".join(shlex.quote(c) for c in cmd)
        argv = self._ssh(self.admin_key)
        argv[1:1] = self._admin_mux(argv)
        return _run(argv + [cmd], input, timeout)

    def _admin_mux(self, argv):
        """ssh options to share one background master connection.

        The master is started with its stdio on /dev/null: one made by
        ControlMaster=auto would hold our stdout pipe open.
        """
        path = os.path.join(self.statedir, "cm-admin")
        with open(os.path.join(self.statedir, "cm.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if subprocess.run(argv[:1] + ["-o", "ControlPath=" + path,
                                          "-O", "check"] + argv[1:],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode:
                if os.path.exists(path):
                    os.unlink(path)
                subprocess.run(argv[:1] + ["-o", "ControlMaster=yes",
                                           "-o", "ControlPersist=60",
                                           "-o", "ControlPath=" + path,
                                           "-N", "-f"] + argv[1:],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=120)
        # without a live master, ControlMaster=no just connects directly
        return ["-o", "ControlMaster=no", "-o", "ControlPath=" + path]

    def admin_ok(self, cmd, input=None, timeout=120):
        """admin(), raising with the guest's output unless rc is 0."""
        rc, out, err = self.admin(cmd, input, timeout)
        if rc:
            raise AssertionError("guest command %r failed rc=%d: %s %s"
                                 % (cmd, rc, out, err))
        return out

    def driver(self, command, input=None, timeout=120):
        """Run one command line through the driver key (the wrapper)."""
        return _run(self._ssh(self.driver_key) + [command], input, timeout)

    # ---- host-side iSCSI initiators (libiscsi, qemu-io) ----

    def iscsi_url(self, iqn, lun=1, chap=None):
        """iscsi:// URL of a LUN on the forwarded portal (never discovery).

        chap: None or (user, secret).
        """
        auth = ""
        if chap:
            auth = "%s%%%s@" % chap
        return "iscsi://%s%s/%s/%d" % (auth, self.iscsi_portal, iqn, lun)

    def iscsi_inq(self, iqn, lun=1, chap=None, initiator=None,
                  timeout=60):
        """iscsi-inq against the LUN: (rc, out, err)."""
        argv = ["iscsi-inq"]
        if initiator:
            argv += ["-i", initiator]
        return _run(argv + [self.iscsi_url(iqn, lun, chap)], None, timeout)

    def iscsi_capacity(self, iqn, lun=1, chap=None, timeout=60):
        """Size in bytes read with iscsi-readcapacity16, or raise."""
        rc, out, err = _run(["iscsi-readcapacity16", "-s",
                             self.iscsi_url(iqn, lun, chap)], None, timeout)
        if rc:
            raise AssertionError("readcapacity16 failed: %s %s" % (out, err))
        return int(out.split()[0])

    def qemu_io(self, iqn, commands, lun=1, chap=None, timeout=120):
        """qemu-io on the LUN; commands like 'write -P 0xab 0 1M'."""
        argv = ["qemu-io", "-f", "raw"]
        for c in commands:
            argv += ["-c", c]
        argv.append(self.iscsi_url(iqn, lun, chap))
        return _run(argv, None, timeout)

    # ---- admin helpers for test set-up ----

    def zfs_names(self):
        out = self.admin_ok("zfs list -H -o name -r -t all " + self.parent)
        return out.split()

    def targets(self):
        return self.admin_ok("tgtadm --lld iscsi --op show --mode target")

    def export(self, tid, iqn, dataset, chap=None):
        """Export /dev/zvol/<dataset> with raw tgtadm (not the wrapper)."""
        cmds = ["set -e",
                "udevadm settle; for i in $(seq 50); do "
                "[ -e /dev/zvol/%s ] && break; sleep 0.2; done" % dataset,
                "tgtadm --lld iscsi --op new --mode target --tid %d -T %s"
                % (tid, iqn),
                "tgtadm --lld iscsi --op new --mode logicalunit --tid %d "
                "--lun 1 -b /dev/zvol/%s --bstype rdwr" % (tid, dataset),
                "tgtadm --lld iscsi --op bind --mode target --tid %d "
                "-I ALL" % tid]
        if chap:
            cmds += ["tgtadm --lld iscsi --op new --mode account --user %s "
                     "--password %s" % chap,
                     "tgtadm --lld iscsi --op bind --mode account --tid %d "
                     "--user %s" % (tid, chap[0])]
        self.admin_ok("\n".join(cmds))

    # ---- guest reboot ----

    def boot_id(self):
        """The guest kernel's boot id, or None while it does not answer."""
        rc, out, _err = self.admin('cat /proc/sys/kernel/random/boot_id',
                                   timeout=30)
        return out.strip() if rc == 0 and out.strip() else None

    def reboot(self, timeout=900):
        """Reboot the guest (systemctl reboot) and wait until it is up.

        Up: a new boot id and ``systemctl is-system-running --wait``
        returned (whatever it says: a degraded unit is the caller's to
        check). Everything in memory is lost, as on a real ZFS host: tgtd
        starts empty, the pool is imported again. Every test using this VM
        sees it, so only a test that owns the VM (one worker) may call it.
        Raises AssertionError when the guest is not back within timeout.
        """
        before = self.boot_id()
        if before is None:
            raise AssertionError('guest does not answer before the reboot')
        self.admin('systemctl reboot', timeout=30)
        deadline = time.monotonic() + timeout
        while True:
            now = self.boot_id()
            if now not in (None, before):
                break
            if time.monotonic() > deadline:
                raise AssertionError('guest not back %d s after systemctl '
                                     'reboot' % timeout)
            time.sleep(5)
        left = max(60, deadline - time.monotonic())
        self.admin('systemctl is-system-running --wait', timeout=left)
        return now

    def unexport(self, tid, chap_user=None):
        cmds = ["tgtadm --lld iscsi --op delete --mode target --force "
                "--tid %d" % tid]
        if chap_user:
            cmds.append("tgtadm --lld iscsi --op delete --mode account "
                        "--user %s" % chap_user)
        return self.admin("; ".join(cmds))


def _run(argv, input, timeout):
    try:
        p = subprocess.run(argv, input=input, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return 124, e.stdout or "", "timeout after %s s" % timeout
    return p.returncode, p.stdout, p.stderr


def private_netns_problem():
    """None if this is a private network namespace, else why not."""
    # /proc/self/net follows this process's netns (/sys/class/net may not)
    with open("/proc/self/net/dev") as f:
        names = [ln.split(":", 1)[0].strip() for ln in f if ":" in ln]
    others = sorted(n for n in names if n != "lo")
    if others:
        return ("not in a private network namespace (interfaces: %s); run "
                "the tests under: unshare --net sh -c 'ip link set lo up; "
                "python -m stestr --test-path tests/functional run'"
                % ", ".join(others))
    return None


def _instance_args(instance):
    return [] if instance == 1 else ["--instance", str(instance)]


def _env_from_testbed(instance=1):
    # every instance's variables under the ZOL_ names ZFSHost reads
    p = subprocess.run([sys.executable, TESTBED, "env", "--json",
                        "--prefix", "ZOL_"] + _instance_args(instance),
                       capture_output=True, text=True)
    if p.returncode:
        return None
    env = json.loads(p.stdout)
    env["ZOL_TESTBED_INSTANCE"] = str(instance)
    return env


def get_host(instance=1):
    """The ZFSHost for this process, starting the VM if needed.

    instance 2 is the second, independent test-bed host.  Raises
    unittest.SkipTest('ZFS testbed unavailable: ...', or 'second ZFS
    testbed host unavailable: ...') when it cannot be had.
    """
    if instance not in _hosts and instance not in _failures:
        try:
            if instance != 1:
                # the first host's skip reason (no netns, no image...)
                # is the second's too
                get_host(1)
            _hosts[instance] = _start(instance)
        except Exception as e:  # any failure becomes one loud skip reason
            what = ("ZFS testbed" if instance == 1 else
                    "second ZFS testbed host" if instance == 2 else
                    "ZFS testbed host %d" % instance)
            _failures[instance] = "%s unavailable: %s" % (what, e)
            sys.stderr.write("\n*** %s ***\n" % _failures[instance])
            sys.stderr.flush()
    if instance not in _hosts:
        raise unittest.SkipTest(_failures[instance])
    return _hosts[instance]


def get_second_host():
    """The second test-bed host (testbed --instance 2); see get_host."""
    return get_host(2)


def _start(instance=1):
    why = os.environ.get("ZOL_TESTBED_UNAVAILABLE")
    if why:
        raise RuntimeError(why + " (ZOL_TESTBED_UNAVAILABLE)")
    why = private_netns_problem()
    if why:
        raise RuntimeError(why)
    if not os.path.exists(TESTBED):
        raise RuntimeError("%s is missing" % TESTBED)
    # One start per netns even with parallel test workers: the testbed
    # serialises on its own state lock; this lock keeps its output tidy.
    lock = "/run/lock/cinder-zol-testbed-fixture.lock"
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        env = _env_from_testbed(instance)
        if env is None:
            p = subprocess.run([sys.executable, TESTBED, "start"]
                               + _instance_args(instance),
                               capture_output=True, text=True, timeout=900)
            if p.returncode:
                raise RuntimeError(
                    "'testbed start' failed (rc=%d): %s" % (
                        p.returncode, (p.stderr.strip() or
                                       p.stdout.strip())[-1500:]))
            env = _env_from_testbed(instance)
            if env is None:
                raise RuntimeError("'testbed env' failed after start")
    host = ZFSHost(env)
    rc, out, err = host.admin("zfs list -H -o name %s" % host.parent)
    if rc or out.strip() != host.parent:
        raise RuntimeError("guest has no %s (rc=%d: %s %s)"
                           % (host.parent, rc, out, err))
    return host


class ZFSHostFixture(fixtures.Fixture):
    """Gives .host, a ZFSHost; skips the test when there is none."""

    instance = 1

    def setUp(self):
        # before Fixture.setUp, so SkipTest is not wrapped in
        # MultipleExceptions and the test is reported as skipped
        self.host = get_host(self.instance)
        super().setUp()

    def _setUp(self):
        pass


class SecondZFSHostFixture(ZFSHostFixture):
    """Gives .host, the second test-bed host (another VM, another pool)."""

    instance = 2


def skip_unless_testbed(test):
    """Call from setUp: the ZFSHost, or skip the test loudly."""
    return get_host()
