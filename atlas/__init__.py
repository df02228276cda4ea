"""Soil Atlas pipeline: national soil and salinity submissions to regional products."""

__version__ = "0.1.0"
