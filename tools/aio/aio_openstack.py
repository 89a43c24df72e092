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

"""Keystone and Glance for cinder-aio (--keystone, --glance).

Each runs from its own virtualenv under $ZOL_AIO_VENVS (built by
``cinder-aio prepare`` outside the offline namespace: PyPI is not
reachable from inside), with SQLite in the run directory, served by
gunicorn on 127.0.0.1.  Keystone issues fernet tokens; ``keystone-manage
bootstrap`` makes the admin, then the catalog (block-storage, volumev3,
image), a ``service`` project and the ``cinder`` and ``glance`` users are
made through Keystone's own API.  Python 3 standard library only.
"""

import http.client
import json
import os
import shutil
import subprocess
import sys

VENVS = os.environ.get("ZOL_AIO_VENVS", "/var/cache/cinder-zol/venvs")
# Pinned: the series that goes with Cinder 29.x (2026.2).
PINS = {
    "keystone": ["keystone==30.0.0", "gunicorn==27.0.1"],
    "glance": ["glance==33.0.0", "gunicorn==27.0.1"],
}
REGION = "RegionOne"
DOMAIN = "Default"
STAMP = "aio-pins.txt"

KEYSTONE_CONF = """\
# written by tools/aio/cinder-aio start --keystone
[DEFAULT]
use_stderr = true
debug = {debug}

[database]
connection = sqlite:///{run}/keystone/keystone.db

[token]
provider = fernet

[fernet_tokens]
key_repository = {run}/keystone/fernet-keys

[fernet_receipts]
key_repository = {run}/keystone/fernet-receipts

[credential]
key_repository = {run}/keystone/credential-keys
"""

AUTHTOKEN = """\
[keystone_authtoken]
www_authenticate_uri = {auth_url}
auth_url = {auth_url}
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = {user}
password = {password}
service_token_roles_required = true
"""

GLANCE_CONF = """\
# written by tools/aio/cinder-aio start --glance
[DEFAULT]
use_stderr = true
debug = {debug}
enabled_backends = file:file
show_image_direct_url = false

[database]
connection = sqlite:///{run}/glance/glance.db

[glance_store]
default_backend = file

[file]
filesystem_store_datadir = {run}/glance/images/

[os_glance_staging_store]
filesystem_store_datadir = {run}/glance/staging/

[os_glance_tasks_store]
filesystem_store_datadir = {run}/glance/tasks/

[paste_deploy]
flavor = keystone
config_file = {run}/etc/glance/glance-api-paste.ini

{authtoken}
"""


class Unavailable(Exception):
    """A virtualenv is missing: build it with 'cinder-aio prepare'."""


def venv(name):
    return os.path.join(VENVS, name)


def venv_bin(name, prog):
    return os.path.join(venv(name), "bin", prog)


def venv_ready(name):
    """The venv exists and holds exactly the pinned packages."""
    try:
        with open(os.path.join(venv(name), STAMP)) as f:
            return f.read().split() == PINS[name]
    except OSError:
        return False


def require_venv(name):
    if not venv_ready(name):
        raise Unavailable(
            "%s virtualenv %s missing or not %s: run 'tools/aio/cinder-aio "
            "prepare' where PyPI is reachable (tools/install-deps does)"
            % (name, venv(name), " ".join(PINS[name])))


def prepare(name, log):
    """Build the venv of name with its pins (needs PyPI); no-op if ready."""
    if venv_ready(name):
        return
    path = venv(name)
    log("building %s virtualenv in %s: pip install %s"
        % (name, path, " ".join(PINS[name])))
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(VENVS, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", path], check=True)
    subprocess.run([venv_bin(name, "pip"), "install", "-q",
                    "--disable-pip-version-check"] + PINS[name],
                   check=True)
    with open(os.path.join(path, STAMP), "w") as f:
        f.write("\n".join(PINS[name]) + "\n")


# -------------------------------------------------------------- REST calls

def request(port, method, path, body=None, token=None, timeout=30):
    """One JSON request to 127.0.0.1:port: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    if token:
        headers["X-Auth-Token"] = token
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {}
        return resp.status, resp.headers, parsed
    finally:
        conn.close()


def upload(port, path, data, token, timeout=300):
    """PUT of raw bytes (an image's data): the HTTP status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("PUT", path, body=data, headers={
            "X-Auth-Token": token,
            "Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def get_token(port, user, password, project):
    """A project-scoped token: (token, project id)."""
    identity = {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": DOMAIN}, "password": password}}}
    scope = {"project": {"name": project, "domain": {"name": DOMAIN}}}
    status, headers, body = request(port, "POST", "/v3/auth/tokens", {
        "auth": {"identity": identity, "scope": scope}})
    if status != 201:
        raise RuntimeError("keystone token for %s: HTTP %s %s"
                           % (user, status, body))
    return headers["X-Subject-Token"], body["token"]["project"]["id"]


def keystone_up(port):
    try:
        return request(port, "GET", "/v3", timeout=3)[0] == 200
    except OSError:
        return False


class Catalog(object):
    """Keystone's API as the admin: find-or-create of what the AIO needs."""

    def __init__(self, port, admin_password):
        self.port = port
        self.token, self.admin_project = get_token(
            port, "admin", admin_password, "admin")

    def _call(self, method, path, body=None, ok=(200, 201, 204)):
        status, _h, out = request(self.port, method, path, body, self.token)
        if status not in ok:
            raise RuntimeError("keystone %s %s: HTTP %s %s"
                               % (method, path, status, out))
        return out

    def _find(self, kind, **query):
        q = "&".join("%s=%s" % kv for kv in sorted(query.items()))
        return self._call("GET", "/v3/%s?%s" % (kind, q))[kind]

    def ensure(self, kind, one, secret=None, **attrs):
        """The id of the first kind matching attrs, created if none.

        secret: more attributes for the create only (a password must not
        travel in a query string, which ends up in the access log).
        """
        found = self._find(kind, **attrs)
        if found:
            return found[0]["id"]
        body = dict(attrs, **(secret or {}))
        return self._call("POST", "/v3/" + kind, {one: body})[one]["id"]

    def role_id(self, name):
        return self.ensure("roles", "role", name=name)

    def user(self, name, password, project_id, roles):
        uid = self.ensure("users", "user", secret={"password": password},
                          name=name, domain_id="default")
        for role in roles:
            self._call("PUT", "/v3/projects/%s/users/%s/roles/%s"
                       % (project_id, uid, self.role_id(role)))
        return uid

    def service(self, stype, name, url):
        sid = self.ensure("services", "service", type=stype, name=name)
        for iface in ("public", "internal", "admin"):
            if not self._find("endpoints", service_id=sid,
                              interface=iface):
                self._call("POST", "/v3/endpoints", {"endpoint": {
                    "service_id": sid, "interface": iface, "url": url,
                    "region_id": REGION}})


# ------------------------------------------------------------ the services

def auth_url(info):
    return "http://127.0.0.1:%d/v3" % info["ports"]["keystone"]


def authtoken_section(info, user):
    return AUTHTOKEN.format(auth_url=auth_url(info), user=user,
                            password=info["secrets"][user])


# Keystone's WSGI entry point parses sys.argv with oslo.config, where it
# would find gunicorn's options: this shim hides them.
WSGI_SHIM = """\
# written by tools/aio/cinder-aio: the application without gunicorn's argv
import sys
del sys.argv[1:]
from {module} import application  # noqa: E402,F401
"""


def gunicorn_argv(name, port, etc, module):
    """gunicorn on 127.0.0.1:port serving module's application."""
    with open(os.path.join(etc, "aio_wsgi.py"), "w") as f:
        f.write(WSGI_SHIM.format(module=module))
    return [venv_bin(name, "gunicorn"), "--bind", "127.0.0.1:%d" % port,
            "--workers", "1", "--threads", "8", "--timeout", "600",
            "--graceful-timeout", "5", "--access-logfile", "-",
            "--no-control-socket", "--pythonpath", etc,
            "aio_wsgi:application"]


def start_keystone(rd, info, spawn, sh, wait_for, debug=False):
    """Keystone with fernet tokens, bootstrapped; returns its pid."""
    require_venv("keystone")
    for sub in ("etc/keystone", "keystone"):
        os.makedirs(os.path.join(rd, sub), exist_ok=True)
    conf = os.path.join(rd, "etc", "keystone", "keystone.conf")
    with open(conf, "w") as f:
        f.write(KEYSTONE_CONF.format(run=rd, debug=str(debug).lower()))
    manage = [venv_bin("keystone", "keystone-manage"), "--config-file",
              conf]
    sh(manage + ["db_sync"], cwd=rd)
    for repo in ("fernet_setup", "credential_setup"):
        sh(manage + [repo, "--keystone-user", "root", "--keystone-group",
                     "root"], cwd=rd)
    url = auth_url(info)
    sh(manage + ["bootstrap", "--bootstrap-password",
                 info["secrets"]["admin"], "--bootstrap-region-id", REGION,
                 "--bootstrap-admin-url", url, "--bootstrap-internal-url",
                 url, "--bootstrap-public-url", url], cwd=rd)
    env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=conf)
    port = info["ports"]["keystone"]
    proc, logfile = spawn(rd, "keystone", gunicorn_argv(
        "keystone", port, os.path.dirname(conf), "keystone.wsgi.api"),
        env=env)
    info["pids"]["keystone"] = proc.pid
    wait_for("keystone", lambda: keystone_up(port), 120, proc, logfile)
    return proc.pid


def make_catalog(info, glance):
    """Service project, cinder/glance users, block-storage and image."""
    cat = Catalog(info["ports"]["keystone"], info["secrets"]["admin"])
    service = cat.ensure("projects", "project", name="service",
                         domain_id="default")
    cat.user("cinder", info["secrets"]["cinder"], service,
             ["admin", "service"])
    volume_url = "http://127.0.0.1:%d/v3/%%(project_id)s" % (
        info["ports"]["api"])
    cat.service("block-storage", "cinder", volume_url)
    cat.service("volumev3", "cinderv3", volume_url)
    if glance:
        cat.user("glance", info["secrets"]["glance"], service,
                 ["admin", "service"])
        cat.service("image", "glance",
                    "http://127.0.0.1:%d" % info["ports"]["glance"])
    return cat.admin_project


def start_glance(rd, info, spawn, sh, wait_for, debug=False):
    """Glance API with a file store in the run directory; returns pid."""
    require_venv("glance")
    etc = os.path.join(rd, "etc", "glance")
    os.makedirs(etc, exist_ok=True)
    for sub in ("images", "staging", "tasks"):
        os.makedirs(os.path.join(rd, "glance", sub), exist_ok=True)
    shutil.copy(os.path.join(venv("glance"), "etc", "glance",
                             "glance-api-paste.ini"), etc)
    conf = os.path.join(etc, "glance-api.conf")
    with open(conf, "w") as f:
        f.write(GLANCE_CONF.format(
            run=rd, debug=str(debug).lower(),
            authtoken=authtoken_section(info, "glance")))
    sh([venv_bin("glance", "glance-manage"), "--config-file", conf,
        "db_sync"], cwd=rd)
    env = dict(os.environ, OS_GLANCE_CONFIG_DIR=etc)
    port = info["ports"]["glance"]
    proc, logfile = spawn(rd, "glance", gunicorn_argv(
        "glance", port, etc, "glance.wsgi.api"), env=env)
    info["pids"]["glance"] = proc.pid

    def up():
        try:
            return request(port, "GET", "/versions", timeout=3)[0] in (
                200, 300)
        except OSError:
            return False
    wait_for("glance", up, 180, proc, logfile)
    return proc.pid
