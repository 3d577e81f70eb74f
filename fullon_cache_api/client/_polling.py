"""ETag revalidation shared by both clients' ``poll``: what to send, and whether an answer
is a change."""

from __future__ import annotations

import hashlib

import httpx

__all__ = ["Revalidation"]


class Revalidation:
    """The validator of the last answer seen: its ETag, else a digest of its body (for an
    answer without one). A 304, or a 200 with the same validator, is no change."""

    def __init__(self) -> None:
        self.etag: str | None = None
        self.digest: bytes | None = None
        self.unchanged = 0  # answers that were no change (304s included)

    def headers(self) -> dict[str, str]:
        """``If-None-Match`` once an ETag is known."""
        return {"If-None-Match": self.etag} if self.etag else {}

    def changed(self, response: httpx.Response, body: bytes) -> bool:
        """Whether `response` is a change, remembering its validator."""
        if response.status_code == 304:
            self.unchanged += 1
            return False
        etag = response.headers.get("etag")
        digest = None if etag else hashlib.blake2b(body, digest_size=16).digest()
        if (etag is not None and etag == self.etag) or (
            digest is not None and digest == self.digest
        ):
            self.unchanged += 1
            return False
        self.etag, self.digest = etag, digest
        return True
