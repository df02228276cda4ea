"""Exceptions callers catch by meaning (modelled on rasterio.errors)."""


class AtlasError(Exception):
    """Base of every error the pipeline raises on purpose."""


class ConfigError(AtlasError):
    """The programme configuration is missing, unreadable or inconsistent."""


class SubmissionError(AtlasError):
    """A submitted file cannot be used; the message says what and how to fix it."""


class GridError(AtlasError):
    """A raster grid cannot be related to the common grid."""
