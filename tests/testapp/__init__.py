"""A test-only app holding a model with an encrypted column, until real sensitive models exist.

Installed only by config/settings/test.py; it has no migrations, so the test runner creates its
table directly and `makemigrations --check` never sees it.
"""
