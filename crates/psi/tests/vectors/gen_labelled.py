#!/usr/bin/env python3
"""Writes docs/test-vectors/labelled.json: a small labelled-mode session
(oprf-labels-ristretto255), every message in both directions.

Everything is computed here from docs/protocol.md ("Labelled mode" and the PSI core
sections it refers to), in plain Python with the standard library only: the
parameter bytes, the hash to the group with the per-type DST, the blinding a·H(x),
the evaluation b·a·H(x), the unblinding, HKDF-SHA256 (RFC 5869, written here with
hmac) for each entry's tag and key, the padded plaintext with its label-set handles,
ChaCha20-Poly1305 (RFC 8439, written here and checked against its section 2.8.2
vector), the AAD, the message encodings and the learner's output. ristretto255 and
expand_message_xmd come from ristretto255.py next to this file (written from the RFC
text, no curve library, nothing from the Rust code).

What the Rust implementation draws from its generator is reproduced, not invented:

- the secrets. rand 0.10's StdRng::from_seed(seed) is the ChaCha12 keystream with
  key = seed, 64-bit block counter from 0 and stream 0 (RFC 8439's block layout with
  a zero nonce, 12 rounds); the learner's `a` is its first 64 bytes reduced mod l,
  the sender's `b` likewise, and the sender's handle key the next 32 bytes
  (labelled/sender.rs `draw`). The ChaCha rounds are the ones written here for
  RFC 8439; crates/psi/tests/labelled_vectors.rs draws a and b from the seeds with
  rand itself and compares them with the file's "a" and "b".
- the two orders: the learner's sending order (LEARNER_ORDER) and the sender's entry
  order (ENTRY_ORDER), which rand 0.10's SliceRandom::shuffle draws from further
  seeds; they are taken from the Rust output (the earlier, Rust-written
  labelled.json) and replayed by crates/psi/tests/labelled_vectors.rs, which fails
  if they differ.

crates/psi/tests/labelled_vectors.rs replays the file through the real protocol code.
Run from the repository root:

    python3 crates/psi/tests/vectors/gen_labelled.py > docs/test-vectors/labelled.json
"""
import hashlib
import hmac
import json
import os
import struct
import sys

# No __pycache__ next to the module in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ristretto255 as r  # noqa: E402

PROTOCOL = "oprf-labels-ristretto255"
H2G_LABEL = b"blindmatch/v1/psi/h2g:"
MATCH_ID_LABEL = b"blindmatch/v1/psi/match-id"
TAG_INFO = b"blindmatch/v1/psi/labelled/tag"
KEY_INFO = b"blindmatch/v1/psi/labelled/key"
AAD_LABEL = b"blindmatch/v1/psi/labelled/aad"
HANDLE_LABEL = b"blindmatch/v1/psi/labelled/handle"
HANDLE_LEN = 16
AEAD_TAG_LEN = 16
ENTRY_MESSAGE_BUDGET = 2 << 20
KIND_BLINDED, KIND_EVALUATED, KIND_ENTRIES = 1, 2, 3

CONTEXT = bytes([0x42] * 32)
LEARNER_SEED = bytes([0x11] * 32)
SENDER_SEED = bytes([0x22] * 32)
BATCH = 2
CAP = 2
# (type, value, row)
LEARNER = [
    ("email", "alice@example.org", 0),
    ("email", "carol@example.org", 1),
    ("phone", "+4915112345678", 2),
    ("email", "alice@example.org", 3),
]
COLUMNS = [("tier", 8), ("ltv_eur", 6)]
# (type, value, row, one value per column)
SENDER = [
    ("email", "alice@example.org", 10, ["gold", "1200"]),
    ("email", "alice@example.org", 11, ["silver", "80"]),
    ("email", "dave@example.org", 12, ["bronze", "5"]),
    ("phone", "+4915112345678", 13, ["gold", ""]),
]
# Sending position -> distinct item index (first-appearance order), as the Rust
# implementation draws them with rand 0.10 (see the module docstring).
LEARNER_ORDER = [0, 2, 1]
ENTRY_ORDER = [1, 2, 0]


# --- ChaCha20 and Poly1305 (RFC 8439) ---------------------------------------------

def _rotl(v, n):
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = _rotl(s[b] ^ s[c], 7)


def chacha_block(key, counter, nonce, rounds=20):
    """RFC 8439 section 2.3: one 64-byte block (32-bit counter, 96-bit nonce)."""
    assert len(key) == 32 and len(nonce) == 12 and rounds % 2 == 0
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    state += list(struct.unpack("<8L", key))
    state += [counter & 0xFFFFFFFF] + list(struct.unpack("<3L", nonce))
    s = list(state)
    for _ in range(rounds // 2):
        _quarter(s, 0, 4, 8, 12)
        _quarter(s, 1, 5, 9, 13)
        _quarter(s, 2, 6, 10, 14)
        _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15)
        _quarter(s, 1, 6, 11, 12)
        _quarter(s, 2, 7, 8, 13)
        _quarter(s, 3, 4, 9, 14)
    return struct.pack("<16L", *((x + y) & 0xFFFFFFFF for x, y in zip(s, state)))


def chacha20_xor(key, counter, nonce, data):
    """RFC 8439 section 2.4: encryption (and decryption) from block `counter` on."""
    out = bytearray()
    for i in range(0, len(data), 64):
        block = chacha_block(key, counter + i // 64, nonce)
        out += bytes(x ^ y for x, y in zip(data[i : i + 64], block))
    return bytes(out)


def poly1305(key, msg):
    """RFC 8439 section 2.5."""
    rr = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:32], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        n = int.from_bytes(msg[i : i + 16] + b"\x01", "little")
        acc = (acc + n) * rr % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def _pad16(b):
    return bytes(-len(b) % 16)


def _aead_mac(key, nonce, aad, ct):
    otk = chacha_block(key, 0, nonce)[:32]  # section 2.6
    data = aad + _pad16(aad) + ct + _pad16(ct)
    data += struct.pack("<QQ", len(aad), len(ct))
    return poly1305(otk, data)


def aead_seal(key, nonce, aad, plaintext):
    """RFC 8439 section 2.8: ciphertext ‖ 16-byte tag."""
    ct = chacha20_xor(key, 1, nonce, plaintext)
    return ct + _aead_mac(key, nonce, aad, ct)


def aead_open(key, nonce, aad, sealed):
    ct, tag = sealed[:-16], sealed[-16:]
    if not hmac.compare_digest(_aead_mac(key, nonce, aad, ct), tag):
        return None
    return chacha20_xor(key, 1, nonce, ct)


def check_rfc8439():
    """RFC 8439 section 2.8.2 (AEAD) test vector."""
    key = bytes(range(0x80, 0xA0))
    nonce = bytes.fromhex("070000004041424344454647")
    aad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
    plain = (
        b"Ladies and Gentlemen of the class of '99: If I could offer you only one "
        b"tip for the future, sunscreen would be it."
    )
    want = bytes.fromhex(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
        "3ff4def08e4b7a9de576d26586cec64b6116"
        "1ae10b594f09e26a7e902ecbd0600691"
    )
    assert aead_seal(key, nonce, aad, plain) == want
    assert aead_open(key, nonce, aad, want) == plain
    bad = bytearray(want)
    bad[0] ^= 1
    assert aead_open(key, nonce, aad, bytes(bad)) is None


def std_rng_bytes(seed, n):
    """The first n bytes of rand 0.10's StdRng::from_seed(seed): ChaCha12 with key =
    seed, the 64-bit block counter from 0 and stream 0 (a zero nonce in RFC 8439's
    layout while the counter fits 32 bits)."""
    out = b""
    block = 0
    while len(out) < n:
        out += chacha_block(seed, block, bytes(12), rounds=12)
        block += 1
    return out[:n]


# --- HKDF-SHA256 (RFC 5869) ------------------------------------------------------

def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    assert length <= 255 * 32
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def check_rfc5869():
    """RFC 5869 appendix A.1 (test case 1)."""
    prk = hkdf_extract(bytes.fromhex("000102030405060708090a0b0c"), bytes([0x0B] * 22))
    assert prk.hex() == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    okm = hkdf_expand(prk, bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"), 42)
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        "34007208d5b887185865"
    )


# --- The protocol (docs/protocol.md) ---------------------------------------------

def comparison_len(n, m):
    """"Comparison length and false matches"."""
    nm = n * m
    log2 = (nm - 1).bit_length() if nm > 1 else 0
    return max(8, -(-(40 + log2) // 8))


def h2g_dst(id_type, context):
    return H2G_LABEL + id_type.encode() + b":" + context.hex().encode()


def hash_to_group(id_type, value, context):
    """H(x), encoded."""
    return r.encode(r.hash_to_ristretto255(value.encode(), h2g_dst(id_type, context)))


def match_id(context, point):
    return hashlib.sha512(MATCH_ID_LABEL + context + point).digest()[:32]


def params(cap, columns=None, fits=True):
    """"Parameters (hello params)": the sender adds its fits flag and columns."""
    out = bytes([1, 1 if columns is None else 2]) + cap.to_bytes(4, "big")
    if columns is not None:
        out += bytes([1 if fits else 0])
        out += bytes([len(columns)])
        for name, max_bytes in columns:
            out += bytes([len(name)]) + name.encode() + max_bytes.to_bytes(4, "big")
    return out


def distinct(items):
    """Distinct (type, value) in first-appearance order, each with its rows in
    order, as "Items and de-duplication" groups them."""
    out = {}
    for t, v, row, *_ in items:
        out.setdefault((t, v), []).append(row)
    return list(out.items())


def derive(context, point, tag_len):
    """"One entry": tag and key from P."""
    prk = hkdf_extract(context, point)
    return hkdf_expand(prk, TAG_INFO, tag_len), hkdf_expand(prk, KEY_INFO, 32)


def handle(handle_key, row):
    return hashlib.sha256(HANDLE_LABEL + handle_key + row.to_bytes(8, "big")).digest()[
        :HANDLE_LEN
    ]


def plaintext(columns, cap, sets):
    """`k (u16)` then `cap` slots: handle ‖ per column len (u16) ‖ value ‖ zeros."""
    slot_len = HANDLE_LEN + sum(2 + m for _, m in columns)
    assert 1 <= len(sets) <= cap
    out = len(sets).to_bytes(2, "big")
    for h, values in sets:
        slot = h
        for (_, max_bytes), v in zip(columns, values):
            v = v.encode()
            assert len(v) <= max_bytes
            slot += len(v).to_bytes(2, "big") + v + bytes(max_bytes - len(v))
        assert len(slot) == slot_len
        out += slot
    out += bytes((cap - len(sets)) * slot_len)
    assert len(out) == 2 + cap * slot_len
    return out


def parse_plaintext(columns, cap, plain):
    """The learner's checks: count, lengths, zero padding and unused slots."""
    slot_len = HANDLE_LEN + sum(2 + m for _, m in columns)
    k = int.from_bytes(plain[:2], "big")
    assert 1 <= k <= cap
    sets = []
    for i in range(cap):
        slot = plain[2 + i * slot_len : 2 + (i + 1) * slot_len]
        if i >= k:
            assert slot == bytes(slot_len)
            continue
        at, values = HANDLE_LEN, []
        for _, max_bytes in columns:
            n = int.from_bytes(slot[at : at + 2], "big")
            assert n <= max_bytes
            field = slot[at + 2 : at + 2 + max_bytes]
            assert field[n:] == bytes(max_bytes - n)
            values.append(field[:n].decode())
            at += 2 + max_bytes
        sets.append((slot[:HANDLE_LEN], values))
    return sets


def message(kind, batch, payload):
    return bytes([kind]) + batch.to_bytes(4, "big") + payload


def batches(values, per):
    return [values[i : i + per] for i in range(0, len(values), per)]


def generate():
    check_rfc8439()
    check_rfc5869()

    learner_stream = std_rng_bytes(LEARNER_SEED, 64)
    sender_stream = std_rng_bytes(SENDER_SEED, 96)
    a = r.scalar_from_wide(learner_stream[:64])
    b = r.scalar_from_wide(sender_stream[:64])
    handle_key = sender_stream[64:96]
    assert a != 0 and b != 0

    lp = params(CAP)
    sp = params(CAP, COLUMNS)
    ldist = distinct(LEARNER)
    sdist = distinct(SENDER)
    n, m = len(ldist), len(sdist)
    tag_len = comparison_len(n, m)
    slot_len = HANDLE_LEN + sum(2 + mb for _, mb in COLUMNS)
    padded = 2 + CAP * slot_len
    entry_len = tag_len + padded + AEAD_TAG_LEN
    per_message = min(max(ENTRY_MESSAGE_BUDGET // entry_len, 1), BATCH)
    aad = AAD_LABEL + CONTEXT + sp
    labels_of = {row: values for _, _, row, values in SENDER}

    # Learner -> sender: Blinded batches, a·H(x) in the learner's sending order.
    assert sorted(LEARNER_ORDER) == list(range(n))
    hashes = [hash_to_group(t, v, CONTEXT) for (t, v), _ in ldist]
    blinded = [r.blind(a, hashes[d]) for d in LEARNER_ORDER]
    to_sender = [
        message(KIND_BLINDED, i, b"".join(batch)) for i, batch in enumerate(batches(blinded, BATCH))
    ]

    # Sender -> learner: Evaluated batches (b times each blinded point, same order),
    # then Entries in the entry order, per_message entries each.
    evaluated = [r.blind(b, x) for x in blinded]
    to_learner = [
        message(KIND_EVALUATED, i, b"".join(batch))
        for i, batch in enumerate(batches(evaluated, BATCH))
    ]
    assert sorted(ENTRY_ORDER) == list(range(m))
    entries = []
    for d in ENTRY_ORDER:
        (t, v), rows = sdist[d]
        point = r.blind(b, hash_to_group(t, v, CONTEXT))
        tag, key = derive(CONTEXT, point, tag_len)
        sets = [(handle(handle_key, row), labels_of[row]) for row in rows]
        entry = tag + aead_seal(key, bytes(12), aad, plaintext(COLUMNS, CAP, sets))
        assert len(entry) == entry_len
        entries.append(entry)
    to_learner += [
        message(KIND_ENTRIES, i, b"".join(batch))
        for i, batch in enumerate(batches(entries, per_message))
    ]

    # The learner: unblind with a⁻¹, index its tags, open the entries whose tag hits.
    a_inv = pow(a, -1, r.L)
    unblinded = [r.blind(a_inv, e) for e in evaluated]
    for pos, d in enumerate(LEARNER_ORDER):
        assert unblinded[pos] == r.blind(b, hashes[d])
    tags = {}
    for pos, point in enumerate(unblinded):
        tags.setdefault(derive(CONTEXT, point, tag_len)[0], pos)
    hits = {}
    for entry in entries:
        pos = tags.get(entry[:tag_len])
        if pos is None:
            continue
        _, key = derive(CONTEXT, unblinded[pos], tag_len)
        plain = aead_open(key, bytes(12), aad, entry[tag_len:])
        assert plain is not None and pos not in hits
        hits[pos] = parse_plaintext(COLUMNS, CAP, plain)
    matches, labelled, released = [], [], set()
    for pos in sorted(hits):
        mid = match_id(CONTEXT, unblinded[pos]).hex()
        for row in ldist[LEARNER_ORDER[pos]][1]:
            matches.append([row, mid])
            for h, values in hits[pos]:
                if (row, h) not in released:
                    released.add((row, h))
                    labelled.append([row, mid, values])
    matches.sort()
    labelled.sort(key=lambda x: x[0])  # stable: a row's sets keep the slot order

    # One matched item's derivations.
    t, v = "email", "alice@example.org"
    h = hash_to_group(t, v, CONTEXT)
    p = r.blind(b, h)
    tag, key = derive(CONTEXT, p, tag_len)

    return {
        "source": "Computed by crates/psi/tests/vectors/gen_labelled.py from "
        "docs/protocol.md ('Labelled mode') in plain Python: ristretto255 and "
        "expand_message_xmd from crates/psi/tests/vectors/ristretto255.py, HKDF-SHA256 "
        "and ChaCha20-Poly1305 written there from RFC 5869 and RFC 8439 (checked "
        "against their test vectors). The secrets come from the seeds as the Rust "
        "implementation draws them: rand 0.10's StdRng::from_seed(seed) is the ChaCha12 "
        "keystream of key = seed (zero counter and stream); a and b are its first 64 "
        "bytes reduced mod l, the sender's handle key its next 32 bytes. Taken from the "
        "Rust implementation rather than computed: the learner's sending order and the "
        "sender's entry order (positions -> distinct items " + json.dumps(LEARNER_ORDER)
        + " and " + json.dumps(ENTRY_ORDER) + ", distinct items numbered in "
        "first-appearance order), which rand 0.10's SliceRandom::shuffle draws from "
        "further seeds. crates/psi/tests/labelled_vectors.rs replays the file through "
        "the protocol code byte for byte and re-derives one entry with the curve, hkdf "
        "and chacha20poly1305 crates.",
        "protocol": PROTOCOL,
        "context": CONTEXT.hex(),
        "batch_size": BATCH,
        "max_labels_per_id": CAP,
        "comparison_len": tag_len,
        "learner": {
            "role": "initiator",
            "seed": LEARNER_SEED.hex(),
            "a": r.scalar_bytes(a).hex(),
            "items": [[t_, v_, row] for t_, v_, row in LEARNER],
            "params": lp.hex(),
        },
        "sender": {
            "role": "responder",
            "seed": SENDER_SEED.hex(),
            "b": r.scalar_bytes(b).hex(),
            "columns": [{"name": c, "max_bytes": mb} for c, mb in COLUMNS],
            "items": [[t_, v_, row, list(ls)] for t_, v_, row, ls in SENDER],
            "params": sp.hex(),
        },
        "messages": {
            "learner_to_sender": [x.hex() for x in to_sender],
            "sender_to_learner": [x.hex() for x in to_learner],
        },
        "item": {
            "type": t,
            "value": v,
            "h2g_dst": h2g_dst(t, CONTEXT).decode(),
            "h": h.hex(),
            "b_h": p.hex(),
            "tag": tag.hex(),
            "key": key.hex(),
            "aad": aad.hex(),
            "match_id": match_id(CONTEXT, p).hex(),
        },
        "output": {
            "matched": len(hits),
            "matches": matches,
            "columns": [c for c, _ in COLUMNS],
            "labels": labelled,
        },
    }


def main():
    doc = generate()
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
