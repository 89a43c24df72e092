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
