#!/usr/bin/env python3
"""Independent reference for docs/test-vectors/tokens.json.

Uses only the Python standard library (hmac, hashlib, base64), not the Rust code,
so the Rust test that checks the file is not circular. Run from the repository root:

    python3 crates/token/tests/vectors/gen_tokens.py > docs/test-vectors/tokens.json
"""
import base64
import hashlib
import hmac
import json

TOKEN_DOMAIN = b"blindmatch/v1/token/"
KEY_ID_DOMAIN = b"blindmatch/v1/key-id"
PURPOSE_CHECK_DOMAIN = b"blindmatch/v1/key-file/purpose"
MASTER_SALT = b"blindmatch/v1/hkdf/master"
SHARED_SALT = b"blindmatch/v1/hkdf/shared"
PURPOSE = {
    "token": b"blindmatch/v1/purpose/token",
    "short-code": b"blindmatch/v1/purpose/short-code",
}


def key_id(key: bytes) -> str:
    return hmac.new(key, KEY_ID_DOMAIN, hashlib.sha256).digest()[:8].hex()


def purpose_check(key: bytes, purpose: str) -> dict:
    """A key file's `purpose-check:` line: binds its `purpose:` line to the key."""
    msg = PURPOSE_CHECK_DOMAIN + b"\x00" + purpose.encode()
    return {
        "key_hex": key.hex(),
        "key_id": key_id(key),
        "purpose": purpose,
        "purpose_check": hmac.new(key, msg, hashlib.sha256).digest()[:8].hex(),
    }


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def token(
    key: bytes,
    id_type: str,
    value: str,
    length: int = 32,
    raw: str | None = None,
    master: bytes | None = None,
) -> dict:
    """A vector for `value` (already normalised), written in the input as `raw`.

    The raw -> normalised step is the normalisation contract
    (docs/normalization.md, default profile), written down here by hand rather than
    computed: Python does not reimplement the normalisers. With `master`, `key` is
    that master key's token key, HKDF-derived as below.
    """
    if master is not None:
        assert key == token_key_of_master(master)
    msg = TOKEN_DOMAIN + id_type.encode() + b"\x00" + value.encode("utf-8")
    mac = hmac.new(key, msg, hashlib.sha256).digest()
    v = {"key_hex": key.hex()}
    if master is not None:
        v["master_key_hex"] = master.hex()
    v.update(
        {
            "key_id": key_id(key),
            "type": id_type,
            "input": value if raw is None else raw,
            "normalised": value,
            "token_len": length,
            "hmac_input_hex": msg.hex(),
            "mac_hex": mac.hex(),
            "token": f"bm1.{key_id(key)}.{b64url(mac[:length])}",
        }
    )
    return v


def hkdf(salt: bytes, ikm: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def token_key_of_master(master: bytes) -> bytes:
    """The key `blindmatch tokenize --key <master key file>` makes tokens with."""
    return hkdf(MASTER_SALT, master, PURPOSE["token"] + b"\x00")


def derivation(kind: str, secret: bytes, purpose: str, context: str) -> dict:
    salt = MASTER_SALT if kind == "master" else SHARED_SALT
    info = PURPOSE[purpose] + b"\x00" + context.encode()
    key = hkdf(salt, secret, info)
    return {
        "kind": kind,
        "secret_hex": secret.hex(),
        "purpose": purpose,
        "context": context,
        "derived_key_hex": key.hex(),
        "derived_key_id": key_id(key),
    }


K1 = bytes(range(32))
K2 = bytes.fromhex("c0ffee" * 10 + "c0ff")
K3 = hashlib.sha256(b"blindmatch test vector key 3").digest()

M7 = bytes([7]) * 32

vectors = [
    token(K1, "phone", "+8613812345678", raw="+86 138-1234-5678"),
    token(K1, "email", "alice@example.com", raw=" Alice@Example.COM "),
    token(K1, "uscc", "91350100M000100Y43", raw="９１３５０１００ｍ０００１００ｙ４３"),
    token(K1, "cn_id", "11010519491231002X", raw="110105 19491231 002x"),
    token(K1, "name", "阿卜杜拉·买买提", raw=" 阿卜杜拉 • 买买提"),
    token(K1, "text", "Keep  inner   spaces", raw="\u3000Ｋｅｅｐ  inner   spaces "),
    token(K1, "raw", " exact bytes\t"),
    # Same value, other type: unrelated token.
    token(K1, "raw", "+8613812345678"),
    # Same value and type, other key: unrelated token and key ID.
    token(K2, "phone", "+8613812345678", raw="0086 138 1234 5678"),
    # Another way to write it: the same token.
    token(K2, "phone", "+8613812345678", raw="１３８１２３４５６７８"),
    token(K3, "email", "a.long.address.that.spills.into.a.second.sha256.block@example.com",
          raw="A.Long.Address.That.Spills.Into.A.Second.SHA256.Block@Example.COM"),
    token(K3, "phone", "+442079460000", raw="+44 (0)20 7946 0000"),
    token(K2, "uscc", "91350100M000100Y43", raw="91350100m000100y43"),
    # A legacy 15-digit ID number is converted to its 18-digit form.
    token(K3, "cn_id", "11010519491231002X", raw="110105491231002"),
    # Truncated to 128 bits.
    token(K1, "phone", "+8613812345678", 16, raw="手机：138 1234 5678"),
    token(K2, "email", "bob@example.org", 24, raw="mailto:Bob@Example.org"),
    # `tokenize --key` with a master key file: the token key is the master's
    # HKDF derivation for purpose token, no partner (never the master bytes).
    token(token_key_of_master(M7), "phone", "+8613812345678", raw="+86 138 1234 5678", master=M7),
    token(token_key_of_master(K1), "email", "alice@example.com", raw="Alice@Example.com", master=K1),
]

derivations = [
    derivation("master", M7, "token", "acme"),
    derivation("master", M7, "token", "globex"),
    derivation("master", M7, "short-code", "acme"),
    derivation("master", M7, "token", ""),
    derivation("master", M7, "short-code", ""),
    derivation("shared", bytes([42]) * 32, "token", "acme-globex-2026q4"),
]

purpose_checks = [
    purpose_check(K1, "master"),
    purpose_check(K1, "token"),
    purpose_check(K1, "short-code"),
    purpose_check(M7, "master"),
    purpose_check(K2, "token"),
]

doc = {
    "description": "blindmatch keyed-token test vectors (format bm1). token = "
    "HMAC-SHA256(key, 'blindmatch/v1/token/' || type || 0x00 || UTF-8 normalised value), "
    "written bm1.<key_id>.<base64url, no padding, of the first token_len bytes>. "
    "key_id = first 8 bytes of HMAC-SHA256(key, 'blindmatch/v1/key-id'), hex. "
    "Derived keys: HKDF-SHA256 (RFC 5869), salt 'blindmatch/v1/hkdf/master' or "
    "'blindmatch/v1/hkdf/shared', info = purpose label || 0x00 || context. "
    "Each vector's input is a value as found in real data; normalised is what the "
    "default profile (bm-std-v1) makes of it (docs/normalization.md), and the token is "
    "computed from normalised. With master_key_hex, key_hex is that master key's token "
    "key, the key blindmatch tokenize uses for a master key file: HKDF-SHA256, salt "
    "'blindmatch/v1/hkdf/master', info 'blindmatch/v1/purpose/token' || 0x00 (no partner). "
    "Key files: purpose_check = first 8 bytes of HMAC-SHA256(key, "
    "'blindmatch/v1/key-file/purpose' || 0x00 || purpose), hex (the purpose-check line). "
    "Generated by crates/token/tests/vectors/gen_tokens.py (Python standard library only).",
    "vectors": vectors,
    "derivations": derivations,
    "purpose_checks": purpose_checks,
}
print(json.dumps(doc, ensure_ascii=False, indent=2))
