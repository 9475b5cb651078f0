"""Builds the X12 reader's compiled core (claimback/x12/_core.c) with the package; everything
else about the package is in pyproject.toml. `pip install -e .` builds it in place; where it is
missing the reader falls back to its reference (Polars) path with a warning."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("claimback.x12._core", ["claimback/x12/_core.c"], extra_compile_args=["-O2"],
                                 libraries=["dl"])])  # dlopen (in libc itself from glibc 2.34)
