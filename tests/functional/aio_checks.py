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

"""Checks shared by the functional tests that drive the Cinder AIO.

HostRecordsMixin: every record is in a final state and the ZFS host holds
exactly what the records say (zvols, snapshots, targets, the wrapper's
state files), and a bounded wait for a record's status
(cinder_aio.wait_status). DRIVER_LINE: the driver's log line of a verb and
the id it works on. The test class
provides host, records() -> (volumes, snapshots) by id, expect(ok, msg),
step, and the host's datasets_before, targets_before and files_before.
"""

import re
import time

from tests.functional import cinder_aio
from tests.functional import test_production_day as pd

STATE_DIR = "/var/lib/cinder-zol/targets"
FINAL_VOLUME = ("available", "in-use", "error")
FINAL_SNAPSHOT = ("available", "error")
# the driver's INFO line naming a verb and its volume/snapshot id
DRIVER_LINE = re.compile(r" INFO zol_driver\.(?:driver|tgt) \[[^\]]*\] "
                         r"([a-z_]+) ([0-9a-f]{8}-[0-9a-f-]{27})")


class HostRecordsMixin(object):
    """The host-against-records check and a status wait (see above)."""

    def wait(self, client, kind, obj_id, status, timeout=600):
        """Bounded wait for a volume/snapshot status ('deleted': gone)."""
        manager = (client.volumes if kind == "volume"
                   else client.volume_snapshots)
        cinder_aio.wait_status(manager, "%s %s" % (kind, obj_id), status,
                               timeout)

    @staticmethod
    def _state_files(host):
        """The wrapper's target state files on the host."""
        out = host.admin_ok("ls -A %s 2>/dev/null; true" % STATE_DIR)
        return {n for n in out.split() if not n.startswith(".")}

    def settle_host(self, timeout=300):
        """Wait until no wrapper runs in the guest.

        A killed service's last command may still be running there.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc, out, _err = self.host.admin("pgrep -f zfswrapper")
            if rc:
                return
            time.sleep(2)
        self.fail("%s: wrapper still running after %d s: %s"
                  % (self.step, timeout, out))

    def check_host_matches_records(self, what):
        """Final states only, and the host holds exactly the records."""
        self.settle_host()
        vols, snaps = self.records()
        for v in vols.values():
            self.expect(v.status in FINAL_VOLUME and
                        not v.status.endswith("ing"),
                        "%s: volume %s is %s" % (what, v.id, v.status))
        for s in snaps.values():
            self.expect(s.status in FINAL_SNAPSHOT,
                        "%s: snapshot %s is %s" % (what, s.id, s.status))
        parent = self.host.parent + "/"
        rows = [line.split("\t") for line in self.host.admin_ok(
            "zfs list -H -o name,origin -r -t all " + self.host.parent
        ).splitlines()]
        rows = [(n, o) for n, o in rows if n not in self.datasets_before]
        origins = {o for _n, o in rows if o != "-"}
        by_id = re.compile(r"volume-([0-9a-f-]{36})$")
        zvols = {}
        for name, _origin in rows:
            if "@" in name:
                continue
            child = name[len(parent):]
            m = by_id.match(child)
            if m:
                zvols[m.group(1)] = name
                self.expect(m.group(1) in vols, "%s: zvol %s has no volume "
                            "record" % (what, name))
            else:
                dependent = any(o.startswith(name + "@") for o in origins)
                self.expect(dependent, "%s: %s is owned by no record and no "
                            "clone depends on it" % (what, name))
        for v in vols.values():
            if v.status in ("available", "in-use"):
                self.expect(v.id in zvols, "%s: volume %s (%s) has no zvol"
                            % (what, v.id, v.status))
        snap_names = {}
        for name, _origin in rows:
            if "@" not in name:
                continue
            ds, snap = name.split("@", 1)
            snap_names[name] = snap
            if name in origins:
                continue            # a clone depends on it: it must stay
            m = re.match(r"snapshot-([0-9a-f-]{36})$", snap)
            ok = m and m.group(1) in snaps and ds.endswith(
                "volume-" + snaps[m.group(1)].volume_id)
            m = re.match(r"zol-clone-volume-([0-9a-f-]{36})$", snap)
            ok = ok or (m and m.group(1) in vols and ds.endswith(
                "volume-%s" % vols[m.group(1)].source_volid))
            self.expect(ok, "%s: snapshot %s is owned by no record"
                        % (what, name))
        for s in snaps.values():
            if s.status == "available":
                want = "%svolume-%s@snapshot-%s" % (parent, s.volume_id, s.id)
                self.expect(want in snap_names, "%s: snapshot %s has no ZFS "
                            "snapshot %s" % (what, s.id, want))
        # targets and the wrapper's state files: exactly the in-use volumes
        targets = set(pd.parse_targets(self.host.targets())) - \
            self.targets_before
        files = self._state_files(self.host) - self.files_before
        in_use = {v.id for v in vols.values() if v.status == "in-use"}
        target_ids = {m.group(1) for m in map(by_id.search, targets) if m}
        self.expect(target_ids == in_use and len(targets) == len(in_use),
                    "%s: tgtd serves %s, the in-use volumes are %s"
                    % (what, sorted(targets), sorted(in_use)))
        self.expect(files == targets, "%s: state files %s, tgtd targets %s"
                    % (what, sorted(files), sorted(targets)))
        return vols, snaps
