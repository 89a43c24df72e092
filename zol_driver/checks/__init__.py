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

"""The checks of cinder-zol-check, one module per group.

``context`` holds what one run found out (shared by every check), and
the groups follow the path the driver takes: ``config`` (cinder.conf),
``login`` (key, host key, SSH login into the wrapper), ``datasets``
(ZFS) and ``targets`` (tgt, the portal, the write test). The step table
in zol_driver/check.py runs them in order, each only when the facts it
needs were established.
"""
