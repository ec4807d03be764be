"""ristretto255 (RFC 9496) and hash_to_ristretto255 (RFC 9380) in plain Python.

An independent reference for blindmatch's test vectors: integer arithmetic written
from the RFC text alone, with no curve library and nothing taken from the Rust code.
Slow and not constant-time; for generating and checking vectors only.
"""
import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493  # the group order

D = 37095705934669439343138083508754565189542113879843219016388785533085940283555
SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752
SQRT_AD_MINUS_ONE = (
    25063068953384623474111414158702152701244531502492656460079210482610430750235
)
INVSQRT_A_MINUS_D = (
    54469307008909316920995813868745141605393597292927456921205312896311721017578
)
ONE_MINUS_D_SQ = 1159843021668779879193775521855586647937357759715417654439879720876111806838
D_MINUS_ONE_SQ = 40440834346308536858101042469323190826248399146238708352240133220865137265952

# The constants are what RFC 9496 section 4.1 says they are.
assert D == (-121665 * pow(121666, P - 2, P)) % P
assert SQRT_M1 * SQRT_M1 % P == P - 1
assert SQRT_AD_MINUS_ONE * SQRT_AD_MINUS_ONE % P == (-D - 1) % P
assert ONE_MINUS_D_SQ == (1 - D * D) % P
assert D_MINUS_ONE_SQ == (D - 1) * (D - 1) % P
assert INVSQRT_A_MINUS_D * INVSQRT_A_MINUS_D * (-1 - D) % P == 1


def is_negative(x):
    return (x % P) & 1 == 1


def ct_abs(x):
    x %= P
    return (-x) % P if is_negative(x) else x


def sqrt_ratio_m1(u, v):
    """RFC 9496 section 4.2: (was_square, sqrt(u/v)) or (False, sqrt(i*u/v))."""
    u %= P
    v %= P
    v3 = v * v % P * v % P
    v7 = v3 * v3 % P * v % P
    r = u * v3 % P * pow(u * v7 % P, (P - 5) // 8, P) % P
    check = v * r % P * r % P
    correct = check == u
    flipped = check == (-u) % P
    flipped_i = check == (-u) * SQRT_M1 % P
    if flipped or flipped_i:
        r = r * SQRT_M1 % P
    return correct or flipped, ct_abs(r)


# Points in extended coordinates (X, Y, Z, T) on -x^2 + y^2 = 1 + d x^2 y^2.
IDENTITY = (0, 1, 1, 0)


def add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * D * t1 * t2 % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def mul(k, p):
    """k·p by double-and-add (k any non-negative integer)."""
    out = IDENTITY
    while k:
        if k & 1:
            out = add(out, p)
        p = add(p, p)
        k >>= 1
    return out


def decode(s):
    """RFC 9496 section 4.3.1; None for a non-canonical or invalid encoding."""
    n = int.from_bytes(s, "little")
    if len(s) != 32 or n >= P or is_negative(n):
        return None
    ss = n * n % P
    u1 = (1 - ss) % P
    u2 = (1 + ss) % P
    u2_sqr = u2 * u2 % P
    v = (-(D * u1 % P * u1) - u2_sqr) % P
    was_square, invsqrt = sqrt_ratio_m1(1, v * u2_sqr)
    den_x = invsqrt * u2 % P
    den_y = invsqrt * den_x % P * v % P
    x = ct_abs(2 * n * den_x)
    y = u1 * den_y % P
    t = x * y % P
    if not was_square or is_negative(t) or y == 0:
        return None
    return (x, y, 1, t)


def encode(p):
    """RFC 9496 section 4.3.2."""
    x0, y0, z0, t0 = p
    u1 = (z0 + y0) * (z0 - y0) % P
    u2 = x0 * y0 % P
    _, invsqrt = sqrt_ratio_m1(1, u1 * u2 % P * u2)
    den1 = invsqrt * u1 % P
    den2 = invsqrt * u2 % P
    z_inv = den1 * den2 % P * t0 % P
    rotate = is_negative(t0 * z_inv)
    if rotate:
        x, y = y0 * SQRT_M1 % P, x0 * SQRT_M1 % P
        den_inv = den1 * INVSQRT_A_MINUS_D % P
    else:
        x, y = x0, y0
        den_inv = den2
    if is_negative(x * z_inv):
        y = (-y) % P
    s = ct_abs(den_inv * (z0 - y))
    return s.to_bytes(32, "little")


def _map(t):
    """The MAP function of RFC 9496 section 4.3.4."""
    r = SQRT_M1 * t % P * t % P
    u = (r + 1) * ONE_MINUS_D_SQ % P
    v = (-1 - r * D) * (r + D) % P
    was_square, s = sqrt_ratio_m1(u, v)
    s_prime = (-ct_abs(s * t)) % P
    if not was_square:
        s = s_prime
    c = P - 1 if was_square else r
    n = (c * (r - 1) % P * D_MINUS_ONE_SQ - v) % P
    w0 = 2 * s * v % P
    w1 = n * SQRT_AD_MINUS_ONE % P
    w2 = (1 - s * s) % P
    w3 = (1 + s * s) % P
    return (w0 * w3 % P, w2 * w1 % P, w1 * w3 % P, w0 * w2 % P)


def from_uniform_bytes(b):
    """Element derivation (RFC 9496 section 4.3.4) from 64 uniform bytes."""
    assert len(b) == 64
    t1 = int.from_bytes(b[:32], "little") & ((1 << 255) - 1)
    t2 = int.from_bytes(b[32:], "little") & ((1 << 255) - 1)
    return add(_map(t1 % P), _map(t2 % P))


def expand_message_xmd_sha512(msg, dst, length):
    """RFC 9380 section 5.3.1 with SHA-512 (b_in_bytes 64, s_in_bytes 128)."""
    assert len(dst) <= 255
    ell = -(-length // 64)
    assert ell <= 255 and length <= 65535
    dst_prime = dst + bytes([len(dst)])
    msg_prime = bytes(128) + msg + length.to_bytes(2, "big") + b"\x00" + dst_prime
    b0 = hashlib.sha512(msg_prime).digest()
    b = [hashlib.sha512(b0 + b"\x01" + dst_prime).digest()]
    for i in range(2, ell + 1):
        prev = bytes(x ^ y for x, y in zip(b0, b[-1]))
        b.append(hashlib.sha512(prev + bytes([i]) + dst_prime).digest())
    return b"".join(b)[:length]


def hash_to_ristretto255(msg, dst):
    """RFC 9380 appendix B: expand_message_xmd to 64 bytes, then element derivation."""
    return from_uniform_bytes(expand_message_xmd_sha512(msg, dst, 64))


def scalar_from_wide(b):
    """A scalar from 64 little-endian bytes, reduced modulo the group order."""
    assert len(b) == 64
    return int.from_bytes(b, "little") % L


def scalar_from_canonical(b):
    """A 32-byte canonical little-endian scalar (below the group order)."""
    n = int.from_bytes(b, "little")
    assert len(b) == 32 and n < L
    return n


def scalar_bytes(k):
    return (k % L).to_bytes(32, "little")


def blind(k, encoding):
    """k·P for an encoded point P, encoded (None for an invalid encoding)."""
    p = decode(encoding)
    return None if p is None else encode(mul(k, p))
