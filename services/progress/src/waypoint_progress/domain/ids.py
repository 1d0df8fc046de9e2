"""Name-based ids: RFC 9562 UUIDs of version 5, as `str(uuid.uuid5(namespace, name))` writes them.

The projector makes one for every milestone, alert and publication it derives. Built through
`uuid.UUID`, the object's checks and formatting took two thirds of each id's time (3.0 µs, against
1.0 µs here); the SHA-1 of the namespace and the name is the same."""

from __future__ import annotations

import hashlib
import uuid

_VARIANT = "89ab"  # RFC 9562 variant bits (10xx) over the digest's two low bits of that nibble


def name_based(namespace: uuid.UUID, name: str) -> str:
    """The version-5 UUID of `name` in `namespace`, in its canonical text form."""
    digest = hashlib.sha1(namespace.bytes + name.encode()).hexdigest()
    variant = _VARIANT[int(digest[16], 16) & 3]
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"
