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

"""A real all-in-one Cinder (tools/aio/cinder-aio) as a test fixture.

Usage::

    aio = self.useFixture(cinder_aio.CinderAIOFixture({
        'volume_driver': 'zol_driver.driver.ZFSonLinuxISCSIDriver',
        'san_ip': '127.0.0.1', ...}))
    vol = aio.client.volumes.create(1)
    aio.wait_for_volume(vol.id, 'available')

The services run under this test process's python (it has cinder and the
driver), inside the current network namespace, all on 127.0.0.1. When the
machine cannot host the AIO (not a private netns, packages, database or
broker unavailable) the test is skipped with a reason starting
'Cinder AIO unavailable:', also printed on stderr. A Cinder side that does
not come up with the given backend (e.g. the driver fails to initialise)
is a test failure, with the service's log tail.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import fixtures
from keystoneauth1.identity.v3 import password as ks_password
from keystoneauth1 import service_token as ks_service_token
from keystoneauth1 import session as ks_session

from cinderclient import api_versions
from cinderclient.contrib import noauth
from cinderclient import exceptions as cinder_exc
from cinderclient.v3 import client as cinder_client

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
AIO = os.path.join(REPO, "tools", "aio", "cinder-aio")
UNAVAILABLE = 75          # cinder-aio's exit code for "cannot host it"
START_TIMEOUT = 900


class AIOFailure(AssertionError):
    pass


def wait_status(manager, what, status, timeout, detail=lambda: "",
                interval=1):
    """Bounded wait until ``manager.get`` says ``status``; the object.

    ``what`` ends with the object's id ("volume <id>", or just the id);
    'deleted' means gone (None). An error status other than the one wanted
    fails at once, with ``detail()`` appended.
    """
    obj_id = what.split()[-1]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            obj = manager.get(obj_id)
        except cinder_exc.NotFound:
            if status == "deleted":
                return None
            raise AIOFailure("%s vanished while waiting for %s"
                             % (what, status))
        last = obj.status
        if last == status:
            return obj
        if last.startswith("error"):
            raise AIOFailure("%s went to %s while waiting for %s%s"
                             % (what, last, status, detail()))
        time.sleep(interval)
    raise AIOFailure("%s still %s after %d s (wanted %s)"
                     % (what, last, timeout, status))


def run_aio(*args, timeout=120, check=True):
    """Run tools/aio/cinder-aio with cinder's python: (rc, out, err)."""
    env = dict(os.environ)
    env.setdefault("ZOL_AIO_PYTHON", sys.executable)
    try:
        p = subprocess.run([sys.executable, AIO] + list(args), env=env,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AIOFailure("cinder-aio %s: no answer in %d s"
                         % (" ".join(args), timeout))
    if check and p.returncode:
        raise AIOFailure("cinder-aio %s failed (rc=%d): %s" % (
            " ".join(args), p.returncode, p.stderr.strip()[-4000:]))
    return p.returncode, p.stdout, p.stderr


def make_client(env, api_version=None, service_roles=None):
    """A cinderclient v3 Client for the AIO, as its admin.

    With Keystone (cinder-aio start --keystone) a password session of the
    admin; otherwise noauth:

    cinderclient 9.x ships a keystoneauth plugin for noauth: it sends
    'user:project' as the token and appends the project id to the
    endpoint, which is what Cinder's NoAuthMiddleware expects.

    service_roles (e.g. ['service']): the caller is a service, as Nova is.
    Cinder then lets it delete an attachment that is connected to a server
    without asking Nova first (bug #2004555), which the AIO, having no
    Nova, could not. Without Keystone: sent as X-Service-Roles, the header
    keystonemiddleware sets for a request that carries a service token.
    With Keystone, keystonemiddleware drops that header, so the requests
    carry a real service token (X-Service-Token) of the AIO's 'cinder'
    user, who has the 'service' role.
    """
    if "OS_AUTH_URL" in env:
        auth = ks_password.Password(
            auth_url=env["OS_AUTH_URL"], username=env["OS_USERNAME"],
            password=env["OS_PASSWORD"],
            project_name=env["OS_PROJECT_NAME"],
            user_domain_name=env["OS_USER_DOMAIN_NAME"],
            project_domain_name=env["OS_PROJECT_DOMAIN_NAME"])
        if service_roles:
            auth = ks_service_token.ServiceTokenAuthWrapper(
                user_auth=auth, service_auth=_service_user_auth(env))
            service_roles = None
    else:
        auth = noauth.CinderNoAuthPlugin(env["OS_USER_ID"],
                                         env["OS_PROJECT_ID"],
                                         endpoint=env["OS_ENDPOINT"])
    headers = {}
    if service_roles:
        headers["X-Service-Roles"] = ",".join(service_roles)
    sess = ks_session.Session(auth=auth, additional_headers=headers)
    return cinder_client.Client(
        api_version=api_versions.APIVersion(
            api_version or env["OS_VOLUME_API_VERSION"]),
        session=sess)


def _service_user_auth(env):
    """The AIO's 'cinder' user in the 'service' project (run.json)."""
    with open(os.path.join(env["ZOL_AIO_RUNDIR"], "run.json")) as f:
        secret = json.load(f)["secrets"]["cinder"]
    return ks_password.Password(
        auth_url=env["OS_AUTH_URL"], username="cinder", password=secret,
        project_name="service", user_domain_name="Default",
        project_domain_name="Default")


class CinderAIOFixture(fixtures.Fixture):
    """Starts the AIO with a backend section; .client, .env; stops it.

    backend: dict of option -> value, or a list of 'key = value' lines,
    for the [zol] backend section. defaults: the same for [DEFAULT], e.g.
    {'backend_stats_polling_interval': 10}; they replace the AIO's values
    (cinder-aio start --default-conf). volume_services: 1 (cinder-volume,
    host aio) or more, in one cluster (cinder-volume-1, host aio-1, ...;
    .volume_services maps each name to its host@backend). keystone: Cinder
    behind Keystone; glance: and Glance as its image service (both need
    'cinder-aio prepare' first). backend2: like backend, for a second
    backend section [zol2].
    """

    def __init__(self, backend, keep=None, debug=False, defaults=None,
                 volume_services=1, keystone=False, glance=False,
                 backend2=None):
        super().__init__()
        self.backend2_lines = self._lines(backend2 or [])
        self.keystone = keystone or glance
        self.glance = glance
        self.backend_lines = self._lines(backend)
        if not any(ln.split('=')[0].strip() == 'zol_export_timeout'
                   for ln in self.backend_lines):
            # the test bed is emulated: its waits are long (testbed)
            self.backend_lines.append('zol_export_timeout = 120')
        self.default_lines = self._lines(defaults or [])
        self.n_volume_services = volume_services
        self.keep = (os.environ.get("ZOL_AIO_KEEP") == "1"
                     if keep is None else keep)
        self.debug = debug
        self.start_seconds = None

    @staticmethod
    def _lines(conf):
        if isinstance(conf, dict):
            return ["%s = %s" % kv for kv in sorted(conf.items())]
        return list(conf)

    def setUp(self):
        # start before Fixture.setUp so SkipTest reaches the runner as is
        self._start()
        super().setUp()

    def _setUp(self):
        if not self.keep:
            self.addCleanup(self.stop)

    @staticmethod
    def _conf_file(kind, lines):
        fd, path = tempfile.mkstemp(prefix="aio-%s-" % kind, suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _start(self):
        files = [self._conf_file("backend", self.backend_lines)]
        args = ["start", "--backend-conf", files[0]]
        if self.default_lines:
            files.append(self._conf_file("default", self.default_lines))
            args += ["--default-conf", files[-1]]
        if self.backend2_lines:
            files.append(self._conf_file("backend2", self.backend2_lines))
            args += ["--backend2-conf", files[-1]]
        if self.debug:
            args.append("--debug")
        if self.glance:
            args.append("--glance")
        elif self.keystone:
            args.append("--keystone")
        if self.n_volume_services != 1:
            args += ["--volume-services", str(self.n_volume_services)]
        t0 = time.monotonic()
        try:
            rc, out, err = run_aio(*args, timeout=START_TIMEOUT, check=False)
        finally:
            for path in files:
                os.unlink(path)
        self.start_seconds = time.monotonic() - t0
        if rc == UNAVAILABLE:
            why = "Cinder AIO unavailable: %s" % err.strip()[-1500:]
            sys.stderr.write("\n*** %s ***\n" % why)
            sys.stderr.flush()
            raise unittest.SkipTest(why)
        if rc:
            raise AIOFailure("cinder-aio start failed (rc=%d): %s"
                             % (rc, err.strip()[-6000:]))
        self.env = json.loads(run_aio("env", "--json")[1])
        self.client = make_client(self.env)
        self.volume_services = dict(
            item.split("=", 1) for item in
            self.env.get("ZOL_AIO_VOLUME_SERVICES", "").split(",") if item)

    def kill_service(self, name):
        """kill -9 a cinder-volume service (its process group)."""
        run_aio("kill-service", name, timeout=60)

    def start_service(self, name, timeout=600):
        """Start it again; returns once it serves RPC (after its cleanup)."""
        run_aio("start-service", name, "--timeout", str(timeout),
                timeout=timeout + 60)

    def client_for(self, api_version, service_roles=None):
        """Another client: another microversion, or a service's requests."""
        return make_client(self.env, api_version, service_roles)

    def stop(self):
        run_aio("stop", timeout=180, check=False)

    def logs(self, *names, lines=60):
        return run_aio("logs", "-n", str(lines), *names, check=False)[1]

    def log_path(self, name):
        return os.path.join(self.env["ZOL_AIO_RUNDIR"], "logs",
                            name + ".log")

    def log_size(self, name):
        """Where the service's log ends now: an offset for log_since()."""
        try:
            return os.path.getsize(self.log_path(name))
        except OSError:
            return 0

    def log_since(self, name, offset):
        """The service's log lines written after offset."""
        try:
            with open(self.log_path(name), "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace").splitlines()
        except OSError:
            return []

    # ---- waiting on Cinder's asynchronous operations ----

    def wait_for_volume(self, vol_id, status, timeout=180):
        """Wait until the volume has status (or is gone, for 'deleted')."""
        return self._wait(self.client.volumes, vol_id, status, timeout)

    def wait_for_snapshot(self, snap_id, status, timeout=180):
        return self._wait(self.client.volume_snapshots, snap_id, status,
                          timeout)

    def _wait(self, manager, obj_id, status, timeout):
        return wait_status(
            manager, obj_id, status, timeout,
            lambda: "; cinder-volume log:\n%s" % self.logs("cinder-volume"),
            interval=0.5)
