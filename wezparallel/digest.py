"""SHA-256 without loading OpenSSL.

`hashlib` loads libcrypto on import, and in a daemon that has no other use for OpenSSL (see
tls.py) that start-up alone is about 3.7 MB of resident memory, more than a tenth of the
daemon. CPython ships its own SHA-256, which gives the same digests; hashlib stays the
fallback for an interpreter built without it.
"""

from __future__ import annotations

try:  # Python 3.12 and later
    from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    try:  # Python 3.11
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from hashlib import sha256  # type: ignore[assignment,unused-ignore]


def sha256_hex(data: bytes) -> str:
    return str(sha256(data).hexdigest())
