# Sphinx configuration of the release notes (tox -e releasenotes).

project = 'cinder-zol release notes'
copyright = 'cinder-zol developers; Apache License, Version 2.0'
author = 'cinder-zol developers'
root_doc = 'index'
extensions = [
    'reno.sphinxext',
]
exclude_patterns = []
html_theme = 'alabaster'
html_static_path = []
