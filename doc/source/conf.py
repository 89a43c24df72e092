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

# Sphinx configuration of the cinder-zol documentation (tox -e docs).
#
# The source directory is doc/ (this file's parent), so the guides that
# live there (deployment, wrapper install and protocol, volume types) are
# built where they are; the pages written for the built docs live here in
# doc/source/. Build: sphinx-build -W -c doc/source doc doc/build/html

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                '..', '..')))

project = 'cinder-zol'
copyright = 'cinder-zol developers; Apache License, Version 2.0'
author = 'cinder-zol developers'
root_doc = 'source/index'
extensions = [
    'oslo_config.sphinxext',
]
exclude_patterns = ['build', '**/__pycache__']
# the guides speak of ``tools/...`` paths in literal text only
nitpicky = False
html_theme = 'alabaster'
html_static_path = []
html_title = 'cinder-zol documentation'
