"""Only for scrapyd-deploy (scrapyd-client), which builds the egg it uploads to scrapyd with
``python setup.py bdist_uberegg``: everything else about the package is in pyproject.toml,
including the ``scrapy`` entry point that tells scrapyd the settings module."""

from setuptools import setup

setup()
