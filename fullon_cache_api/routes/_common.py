"""The one accessor from a request to the data layer."""

from __future__ import annotations

from starlette.requests import Request

from ..data import CacheReader

__all__ = ["reader_from"]


def reader_from(request: Request) -> CacheReader:
    """The app's read-only data layer (built by `create_app`, shared by all requests)."""
    reader: CacheReader = request.app.state.reader
    return reader
