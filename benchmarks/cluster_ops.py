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

"""Cycles/s through the real Cinder with one and with two volume services.

Issue 18: the all-in-one Cinder (tools/aio/cinder-aio) against the ZFS
test bed, first with one cinder-volume service, then with two in one
cluster (``--volume-services 2``, coordination through etcd). At each
level of parallelism (default 1, 8, 32) that many client threads run
cycles through the Cinder API, each cycle what a short-lived attached
volume costs::

    create 1 GiB (wait available) -> attachment-create with a connector
    (create_export + initialize_connection) -> attachment-delete (wait
    available) -> delete (wait gone)

Reported per level: cycles, wall time, cycles/s, errors (expected 0),
median and maximum cycle time, and how many creates each volume service
did (from the driver's ``create_volume <id>`` log line). Every status is
polled once a second, so a cycle's time has that granularity. Run in a
private network namespace with the functional environment's python::

    OS_CINDER_DISABLE_EVENTLET_PATCHING=1 unshare --net -- tools/in-netns \\
        .tox/functional/bin/python benchmarks/cluster_ops.py

Writes benchmarks/results/cluster_ops-<time>.json and prints a table.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import re
import statistics
import sys
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.functional import cinder_aio  # noqa: E402
from tests.functional import test_cinder_e2e  # noqa: E402
from tests.functional import testbed  # noqa: E402

INITIATOR = "iqn.2004-10.org.example:bench-cluster"
CONNECTOR = {"initiator": INITIATOR, "ip": "127.0.0.1",
             "host": "bench-cluster", "multipath": False,
             "platform": "x86_64", "os_type": "linux2",
             "do_local_attach": False}
CREATE_LINE = re.compile(r" INFO zol_driver\.driver \[[^\]]*\] "
                         r"create_volume ([0-9a-f-]{36})")
POLL = 1.0


def log(msg):
    print("[cluster_ops %s] %s" % (time.strftime("%H:%M:%S"), msg),
          file=sys.stderr, flush=True)


def wait_status(client, vol_id, status, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = client.volumes.get(vol_id).status
        except cinder_aio.cinder_exc.NotFound:
            if status == "deleted":
                return
            raise RuntimeError("%s vanished (wanted %s)" % (vol_id, status))
        if last == status:
            return
        if last.startswith("error"):
            raise RuntimeError("%s went to %s (wanted %s)"
                               % (vol_id, last, status))
        time.sleep(POLL)
    raise RuntimeError("%s still %s after %d s (wanted %s)"
                       % (vol_id, last, timeout, status))


class Run(object):
    """One AIO (n volume services): cycles at each level."""

    def __init__(self, aio, timeout):
        self.aio = aio
        self.timeout = timeout

    def cycle(self, client):
        t = time.monotonic()
        vol = client.volumes.create(1, name="bench-" + uuid.uuid4().hex[:8])
        wait_status(client, vol.id, "available", self.timeout)
        att = client.attachments.create(vol.id, CONNECTOR, instance_id=None)
        if not att["connection_info"].get("target_iqn"):
            raise RuntimeError("%s: no target in the connection info"
                               % vol.id)
        client.attachments.delete(att["id"])
        wait_status(client, vol.id, "available", self.timeout)
        client.volumes.delete(vol.id)
        wait_status(client, vol.id, "deleted", self.timeout)
        return time.monotonic() - t

    def level(self, parallel, cycles):
        offsets = {n: self.aio.log_size(n) for n in self.aio.volume_services}
        clients = [self.aio.client_for("3.44") for _ in range(parallel)]
        errors, times = [], []

        def one(i):
            try:
                times.append(self.cycle(clients[i % parallel]))
            except Exception as exc:
                errors.append("%s: %s" % (type(exc).__name__, exc))

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            list(pool.map(one, range(cycles)))
        wall = time.monotonic() - t0
        creates = {}
        for name in self.aio.volume_services:
            creates[name] = sum(
                1 for line in self.aio.log_since(name, offsets[name])
                if CREATE_LINE.search(line))
        kinds = collections.Counter(re.sub(r"[0-9a-f-]{36}|req-\S+", "*",
                                           e)[:200] for e in errors)
        return {"parallel": parallel, "cycles": cycles, "wall_s": wall,
                "cycles_per_s": len(times) / wall, "errors": len(errors),
                "error_kinds": dict(kinds),
                "cycle_s_median": statistics.median(times) if times else None,
                "cycle_s_max": max(times) if times else None,
                "creates_by_service": creates}

    def leftovers(self):
        """Delete what an error left; say how many there were."""
        left = [v for v in self.aio.client.volumes.list()
                if (v.name or "").startswith("bench-")]
        for v in left:
            for att in self.aio.client.attachments.list(
                    search_opts={"volume_id": v.id}):
                self.aio.client.attachments.delete(att.id)
            self.aio.client.volumes.reset_state(v.id, "available",
                                                attach_status="detached")
            self.aio.client.volumes.delete(v.id)
        return len(left)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--services", default="1,2",
                    help="numbers of volume services to compare")
    ap.add_argument("--parallel", default="1,8,32",
                    help="parallel cycles per level")
    ap.add_argument("--min-cycles", type=int, default=4,
                    help="cycles of a level below this parallelism run "
                         "this many cycles (default 4)")
    ap.add_argument("--timeout", type=int, default=900,
                    help="seconds a cycle may wait for one status")
    ap.add_argument("--out", default=os.path.join(REPO, "benchmarks",
                                                  "results"))
    args = ap.parse_args()
    started = time.strftime("%Y%m%d-%H%M%S")
    host = testbed.get_host()
    log("test bed up (%s)" % (host.accel or "?"))
    report = {"command": " ".join(["benchmarks/cluster_ops.py"] +
                                  sys.argv[1:]),
              "started": started, "accel": host.accel,
              "cycle": "create 1 GiB + attachment-create (connector) + "
                       "attachment-delete + delete, through the Cinder API",
              "runs": []}
    for n in [int(x) for x in args.services.split(",")]:
        aio = cinder_aio.CinderAIOFixture(test_cinder_e2e.backend_conf(host),
                                          volume_services=n, keep=False)
        aio.setUp()
        try:
            log("AIO with %d volume service(s) up in %.0f s: %s"
                % (n, aio.start_seconds, aio.volume_services))
            # Cinder's default quota (10 volumes) would refuse level 32
            aio.client.quotas.update(aio.env["OS_PROJECT_ID"], volumes=-1,
                                     gigabytes=-1, snapshots=-1)
            run = Run(aio, args.timeout)
            rows = []
            for level in [int(x) for x in args.parallel.split(",")]:
                cycles = max(level, args.min_cycles)
                rows.append(run.level(level, cycles))
                r = rows[-1]
                log("%d service(s), %2d parallel: %d cycles in %.0f s = "
                    "%.3f cycles/s, %d errors, creates by service %s%s"
                    % (n, level, cycles, r["wall_s"], r["cycles_per_s"],
                       r["errors"], r["creates_by_service"],
                       "".join("\n    %dx %s" % (c, k) for k, c in
                               r["error_kinds"].items())))
            report["runs"].append({"volume_services": n,
                                   "hosts": aio.volume_services,
                                   "levels": rows,
                                   "leftovers": run.leftovers()})
        finally:
            aio.cleanUp()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "cluster_ops-%s.json" % started)
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print("\nservices  parallel  cycles  wall s  cycles/s  errors  "
          "median s  max s  creates by service")
    for run in report["runs"]:
        for r in run["levels"]:
            print("%8d  %8d  %6d  %6.0f  %8.3f  %6d  %8.1f  %5.1f  %s" % (
                run["volume_services"], r["parallel"], r["cycles"],
                r["wall_s"], r["cycles_per_s"], r["errors"],
                r["cycle_s_median"] or 0, r["cycle_s_max"] or 0,
                " ".join("%s=%d" % kv for kv in sorted(
                    r["creates_by_service"].items()))))
    print("report: %s" % path)
    total = sum(r["errors"] for run in report["runs"]
                for r in run["levels"])
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
