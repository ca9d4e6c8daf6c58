"""Packaging for Scrapyd eggs (`scrapyd-deploy` builds an egg from this file)."""

from setuptools import find_packages, setup

setup(
    name="newscrawl",
    version="0.1.0",
    packages=find_packages(include=["newscrawl", "newscrawl.*"]),
    package_data={"newscrawl": ["schema/*.json"]},
    entry_points={"scrapy": ["settings = newscrawl.settings"]},
    zip_safe=False,
)
