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

"""Functional tests: real sshd, tgtd, OpenZFS (test-bed VM) and Cinder.

tox -e functional sets OS_CINDER_DISABLE_EVENTLET_PATCHING=1: choose Cinder's
native-threads mode here, before any test module imports Cinder, so that
importing Cinder's test objects never monkey-patches the test process (the
sshd and tgtd fixtures use plain subprocesses and threads).
"""

import os

if os.environ.get('OS_CINDER_DISABLE_EVENTLET_PATCHING'):
    from cinder import monkey_patch
    monkey_patch.patch()
