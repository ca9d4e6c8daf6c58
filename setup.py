"""Only for Scrapyd: `scrapyd-deploy` builds the egg with `python setup.py bdist_egg`, and without this
file it writes a setup.py of its own into the project. Everything is declared in pyproject.toml."""

from setuptools import setup

setup()
