"""Sphinx configuration of the pymod documentation.

Build (warnings are errors)::

    .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

Run the examples marked ``testcode`` against a local AMS emulator::

    .venv/bin/python -m sphinx -b doctest docs docs/_build/doctest
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

from pymod.__version__ import __version__  # noqa: E402

# -- project -----------------------------------------------------------------------------
project = "pymod"
author = "pymod developers"
copyright = "pymod developers"  # noqa: A001
version = __version__
release = __version__

# -- general -----------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.doctest",
    "changelog",  # docs/_ext/changelog.py: renders CHANGELOG.md (no Markdown parser needed)
]
# No intersphinx: the build must work without network access.

templates_path: list[str] = []
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
nitpicky = False
# "default": Python highlighting that silently falls back to none for non-Python literal blocks
# (such as the exception tree in pymod.amsexceptions).
highlight_language = "default"
pygments_style = "friendly"

# -- autodoc / napoleon ------------------------------------------------------------------
autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_preserve_defaults = True
autodoc_class_signature = "mixed"
autoclass_content = "class"
# Modules whose optional dependencies may be missing when the docs are built without the
# [emulator] extra: autodoc then documents what it can instead of failing.
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_param = True
napoleon_use_rtype = True
napoleon_attr_annotations = True
# "Attributes:" sections become :ivar: fields, not separate attribute objects: dataclasses such
# as ConsumeResult document a field both in the section and as a property otherwise.
napoleon_use_ivar = True


# -- doctest (examples run against pymod's emulator) -------------------------------------
doctest_global_setup = """
import docs_support as _docs_support
emu, ams = _docs_support.client_for_document()
"""
doctest_global_cleanup = """
ams.close()
"""
doctest_test_doctest_blocks = ""  # only explicit testcode/doctest directives are run

# -- HTML ----------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"pymod {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": True,
}
html_show_sourcelink = False

# Environment knob for CI: PYMOD_DOCS_NITPICKY=1 turns on nitpicky cross-reference checks.
if os.environ.get("PYMOD_DOCS_NITPICKY"):
    nitpicky = True
