"""A deterministic RSA key for the offline plan's mock of `tls.PrivateKey`.

The plan must come out the same on every run and machine (restructurings are proven by an unchanged
`resources.json`), and the JWKS published for the service-account issuer is derived from the key.
So the mock's key is generated from a seed (the resource's name) with a seeded Miller-Rabin search,
not from the system's randomness. It protects nothing: it exists only in offline plans.
"""

from __future__ import annotations

import functools
import hashlib
import random

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PUBLIC_EXPONENT = 65537


def _probably_prime(n: int, rng: random.Random, rounds: int = 40) -> bool:
    if n < 4:
        return n in (2, 3)
    if n % 2 == 0:
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if candidate % PUBLIC_EXPONENT != 1 and _probably_prime(candidate, rng):
            return candidate


@functools.cache
def seeded_rsa_pem(seed: str, bits: int = 2048) -> tuple[str, str]:
    """(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM), the same for the same seed."""
    # Seeded on purpose (see above): this key must be reproducible, not secret.
    rng = random.Random(hashlib.sha256(seed.encode()).digest())  # noqa: S311
    while True:
        p, q = _prime(bits // 2, rng), _prime(bits // 2, rng)
        if p != q and (p * q).bit_length() == bits:
            break
    n, phi = p * q, (p - 1) * (q - 1)
    d = pow(PUBLIC_EXPONENT, -1, phi)
    key = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=d % (p - 1),
        dmq1=d % (q - 1),
        iqmp=pow(q, -1, p),
        public_numbers=rsa.RSAPublicNumbers(PUBLIC_EXPONENT, n),
    ).private_key()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public
