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

"""A strict interface check of our own.

Cinder's compliance test accepts an empty class on Python 3, so this one
asks more: every method of Cinder's minimum feature set (and the optional
ones we advertise) is defined by our driver class itself, not inherited from
Cinder's base classes, and its body is more than a stub.
"""

import ast
import inspect
import textwrap

import testtools

from zol_driver import driver

MINIMUM = (
    'do_setup', 'check_for_setup_error',
    'create_volume', 'delete_volume',
    'create_snapshot', 'delete_snapshot',
    'create_volume_from_snapshot', 'create_cloned_volume',
    'extend_volume',
    'copy_image_to_volume', 'copy_volume_to_image',
    'get_volume_stats',
    'create_export', 'ensure_export', 'remove_export',
    'initialize_connection', 'terminate_connection',
)

OPTIONAL = (
    'revert_to_snapshot', 'retype',
    'manage_existing', 'manage_existing_get_size', 'unmanage',
    'get_manageable_volumes',
    'manage_existing_snapshot', 'manage_existing_snapshot_get_size',
    'unmanage_snapshot', 'get_manageable_snapshots',
    'ensure_exports',
)


def _is_stub(func):
    """True if the body only passes, returns None or raises NotImplemented."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    body = tree.body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(
            getattr(body[0], 'value', None), ast.Constant):
        body = body[1:]  # docstring
    if not body:
        return True
    if len(body) > 1:
        return False
    stmt = body[0]
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Return) and (
            stmt.value is None or (isinstance(stmt.value, ast.Constant) and
                                   stmt.value.value is None)):
        return True
    if isinstance(stmt, ast.Raise):
        return 'NotImplemented' in ast.dump(stmt)
    return False


class InterfaceTestCase(testtools.TestCase):

    cls = driver.ZFSonLinuxISCSIDriver

    def _own_methods(self):
        own = {}
        for klass in inspect.getmro(self.cls):
            if not klass.__module__.startswith('zol_driver'):
                break
            for name, value in vars(klass).items():
                own.setdefault(name, value)
        return own

    def _check(self, names):
        own = self._own_methods()
        missing = [n for n in names if n not in own]
        self.assertEqual([], missing, 'inherited from Cinder, not ours')
        stubs = [n for n in names if _is_stub(own[n])]
        self.assertEqual([], stubs, 'defined but only a stub')

    def test_minimum_features_are_ours(self):
        self._check(MINIMUM)

    def test_optional_features_are_ours(self):
        self._check(OPTIONAL)

    def test_stub_detector_detects_stubs(self):
        def stub(self):
            """Doc."""
            raise NotImplementedError()

        def empty(self):
            pass

        def real(self):
            return self.zfs.create()

        self.assertTrue(_is_stub(stub))
        self.assertTrue(_is_stub(empty))
        self.assertFalse(_is_stub(real))

    def test_driver_is_loadable_by_its_documented_path(self):
        from oslo_utils import importutils
        cls = importutils.import_class(
            'zol_driver.driver.ZFSonLinuxISCSIDriver')
        self.assertIs(self.cls, cls)
