#!/usr/bin/env python3
"""Writes docs/test-vectors/session.json: one complete small session, every frame.

Everything is computed here from docs/protocol.md, in plain Python: the hello,
Accept and Done encodings (postcard by hand), the session context and ID, the hashes
to the group, the blinding (ristretto255.py from crates/psi/tests/vectors, written
from the RFC text), the comparison length, the batches, the stream hashes, the
transcript and the match IDs. One thing is taken from the Rust implementation: each
party's sending order (SENDING_ORDER below), which rand 0.10 derives from the seed
(StdRng, then SliceRandom::shuffle); crates/net/tests/session_vector.rs derives it
again from the seed and fails if it differs. That test replays the file through the
real session code. Run from the repository root:

    python3 crates/net/tests/vectors/gen_session.py > docs/test-vectors/session.json
"""
import hashlib
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "../../../..")
# No __pycache__ next to the module in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "crates/psi/tests/vectors"))
import ristretto255 as r  # noqa: E402

CONTEXT_LABEL = b"blindmatch/v1/net/session-context"
SESSION_ID_LABEL = b"blindmatch/v1/net/session-id"
STREAM_LABEL = b"blindmatch/v1/net/stream"
TRANSCRIPT_LABEL = b"blindmatch/v1/net/transcript"
H2G_LABEL = b"blindmatch/v1/psi/h2g:"
MATCH_ID_BOTH_LABEL = b"blindmatch/v1/psi/match-id-both"
MAGIC = b"\x89BMPSI\r\n"
VERSION = 5
KIND_HELLO, KIND_CONTROL, KIND_PROTOCOL = 0x01, 0x02, 0x20
ROLE = {"initiator": 0, "responder": 1}
REVEAL = {"initiator": 0, "responder": 1, "both": 2}

PROTOCOL = "ecdh-ristretto255"
PROTOCOL_PARAMS = b"\x01"
MODE = "intersection"
REVEAL_BOTH = "both"
ID_TYPES = ["email", "phone"]
PROFILE = "bm-std-v1"
IMPLEMENTATION = "blindmatch-net/session-vector"
BINDING = b"plaintext"


def chosen(label, length):
    """The fixed nonces and seeds: hashes of a label, so they look like random bytes."""
    out = hashlib.sha512(b"blindmatch session vector: " + label).digest()
    return out[:length] if length <= 64 else out + hashlib.sha256(out).digest()


# Each side: (row, type, normalised value), in the order the caller adds them.
SIDES = {
    "initiator": {
        "items": [
            (0, "phone", "+8613800138000"),
            (1, "email", "alice.smith@example.com"),
            (2, "phone", "+8613812345678"),
            (3, "phone", "+8613800138000"),
            (4, "email", "zhang.san@例子.中国"),
            (5, "phone", "+442079460000"),
        ],
        "min_peer_set": 1,
        "allowed_modes": ["intersection"],
        "batch_size": 2,
        "nonce": chosen(b"initiator nonce", 32),
        "seed": chosen(b"initiator party seed", 96),
    },
    "responder": {
        "items": [
            (0, "email", "bob@example.org"),
            (1, "phone", "+8613800138000"),
            (2, "phone", "+8619212345678"),
            (3, "email", "alice.smith@example.com"),
        ],
        "min_peer_set": 1,
        "allowed_modes": ["intersection", "cardinality"],
        "batch_size": 4,
        "nonce": chosen(b"responder nonce", 32),
        "seed": chosen(b"responder party seed", 96),
    },
}

# Positions in sending order -> distinct element index, as blindmatch-psi's Party
# draws them with rand 0.10 from bytes 64..96 of its seed (see the file's
# "party_seed_rule"); checked by crates/net/tests/session_vector.rs.
SENDING_ORDER = {
    "initiator": [1, 3, 4, 0, 2],
    "responder": [3, 0, 1, 2],
}


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def string(s):
    b = s.encode("utf-8")
    return varint(len(b)) + b


def strings(items):
    return varint(len(items)) + b"".join(string(s) for s in items)


def frame(kind, payload):
    return (1 + len(payload)).to_bytes(4, "big") + bytes([kind]) + payload


def hello_frame(role, side, set_size, type_sizes):
    body = (
        bytes([ROLE[role]])
        + string(PROTOCOL)
        + varint(len(PROTOCOL_PARAMS))
        + PROTOCOL_PARAMS
        + string(MODE)
        + bytes([REVEAL[REVEAL_BOTH]])
        + strings(ID_TYPES)
        + string(PROFILE)
        + varint(set_size)
        + varint(len(type_sizes))
        + b"".join(varint(n) for n in type_sizes)
        + varint(side["min_peer_set"])
        + strings(side["allowed_modes"])
        + varint(side["batch_size"])
        + side["nonce"]
        + string(IMPLEMENTATION)
    )
    return frame(KIND_HELLO, MAGIC + VERSION.to_bytes(2, "big") + body)


def accept_frame(context):
    return frame(KIND_CONTROL, varint(0) + context)


def done_frame(frames, nbytes, stream_hash):
    return frame(KIND_CONTROL, varint(2) + varint(frames) + varint(nbytes) + stream_hash)


def protocol_frame(kind, batch, values):
    return frame(KIND_PROTOCOL, bytes([kind]) + batch.to_bytes(4, "big") + b"".join(values))


def length_prefixed(part):
    return len(part).to_bytes(4, "big") + part


def matches_batches(first_elements, second_order, second_elements, batch):
    """The first learner's Matches payloads, one per Blinded batch of the second
    learner: a bitmap of its matched positions (most significant bit first), nothing
    else."""
    first_keys = {key for key, _ in first_elements}
    out = []
    for start in range(0, len(second_order), batch):
        chunk = second_order[start : start + batch]
        bitmap = bytearray((len(chunk) + 7) // 8)
        for p, e in enumerate(chunk):
            if second_elements[e][0] in first_keys:
                bitmap[p // 8] |= 0x80 >> (p % 8)
        out.append(bytes(bitmap))
    return out


def match_id(context, position):
    """Both learn: the match ID of the element at this position of the second
    learner's Blinded stream."""
    return hashlib.sha512(
        MATCH_ID_BOTH_LABEL + context + position.to_bytes(8, "big")
    ).digest()[:32]


def comparison_len(n, m):
    nm = n * m
    log2 = (nm - 1).bit_length() if nm > 1 else 0
    return max(8, -(-(40 + log2) // 8))


def distinct(items):
    """Distinct (type, value) in first-appearance order, each with its rows."""
    out = {}
    for row, t, v in items:
        out.setdefault((t, v), []).append(row)
    return list(out.items())


def h2g(id_type, value, context):
    dst = H2G_LABEL + id_type.encode() + b":" + context.hex().encode()
    return dst, r.encode(r.hash_to_ristretto255(value.encode("utf-8"), dst))


def stream(frames):
    data = b"".join(frames)
    return hashlib.sha256(STREAM_LABEL + data).digest(), len(data)


def check_normalised():
    with open(os.path.join(ROOT, "docs/test-vectors/normalize.json"), encoding="utf-8") as f:
        outputs = {
            (c["type"], c["expected"])
            for c in json.load(f)["cases"]
            if c["profile"] == PROFILE and "expected" in c
        }
    for side in SIDES.values():
        for _, t, v in side["items"]:
            assert (t, v) in outputs, f"{t} {v} is no normalised output of normalize.json"


def main():
    check_normalised()
    roles = ["initiator", "responder"]
    elements = {role: distinct(SIDES[role]["items"]) for role in roles}
    sizes = {role: len(elements[role]) for role in roles}
    keys = {}
    for role in roles:
        seed = SIDES[role]["seed"]
        assert len(seed) == 96
        keys[role] = r.scalar_from_wide(seed[:64])
        assert keys[role] != 0
        assert sorted(SENDING_ORDER[role]) == list(range(sizes[role]))
    batch = min(SIDES[role]["batch_size"] for role in roles)
    cmp_len = comparison_len(sizes["initiator"], sizes["responder"])

    type_sizes = {
        role: [sum(1 for (t, _), _ in elements[role] if t == want) for want in ID_TYPES]
        for role in roles
    }
    hellos = {
        role: hello_frame(role, SIDES[role], sizes[role], type_sizes[role])
        for role in roles
    }
    context = hashlib.sha256(
        CONTEXT_LABEL
        + length_prefixed(hellos["initiator"])
        + length_prefixed(hellos["responder"])
        + length_prefixed(BINDING)
    ).digest()
    session_id = hashlib.sha256(SESSION_ID_LABEL + context).digest()[:16].hex()

    # Per side: each distinct element's hash point and blinded point, then its batches
    # in sending order.
    info = {}
    batches = {}
    for role in roles:
        k = keys[role]
        rows = []
        for (t, v), _ in elements[role]:
            dst, point = h2g(t, v, context)
            rows.append({"dst": dst, "point": point, "blinded": r.blind(k, point)})
        info[role] = rows
        sent = [rows[i]["blinded"] for i in SENDING_ORDER[role]]
        batches[role] = [sent[i : i + batch] for i in range(0, len(sent), batch)]
        assert len(batches[role]) == math.ceil(sizes[role] / batch)
    peer = {"initiator": "responder", "responder": "initiator"}
    both = keys["initiator"] * keys["responder"] % r.L
    for role in roles:
        for row in info[role]:
            row["double_blinded"] = r.encode(r.mul(both, r.decode(row["point"])))
            assert r.blind(keys[peer[role]], row["blinded"]) == row["double_blinded"]

    # Both learn: the side with fewer elements (the responder on a tie) gets the
    # doubly blinded values and compares; it then sends the other its Matches.
    first = "initiator" if sizes["initiator"] < sizes["responder"] else "responder"
    second = peer[first]
    matches = matches_batches(elements[first], SENDING_ORDER[second], elements[second], batch)
    # Each of the second learner's elements by key, with its position in its stream:
    # both sides take a match's ID from that position.
    second_position = {
        elements[second][e][0]: pos for pos, e in enumerate(SENDING_ORDER[second])
    }
    assert len(matches) == len(batches[second])

    # Each direction: hello, Accept, own Blinded batches, then the second learner's
    # answers to the first's batches in their order, or the first learner's Matches,
    # then Done (see "frame_order" in the output).
    directions = {}
    dones = {}
    for role in roles:
        k = keys[role]
        frames = [hellos[role], accept_frame(context)]
        frames += [protocol_frame(1, i, b) for i, b in enumerate(batches[role])]
        if role == second:
            for i, b in enumerate(batches[first]):
                frames.append(protocol_frame(2, i, [r.blind(k, p)[:cmp_len] for p in b]))
        else:
            frames += [protocol_frame(4, i, [m]) for i, m in enumerate(matches)]
        digest, nbytes = stream(frames)
        dones[role] = {"frames": len(frames), "bytes": nbytes, "stream_hash": digest.hex()}
        frames.append(done_frame(len(frames), nbytes, digest))
        directions[role] = frames
    hash_ir, _ = stream(directions["initiator"])
    hash_ri, _ = stream(directions["responder"])
    transcript = hashlib.sha256(TRANSCRIPT_LABEL + hash_ir + hash_ri).digest()

    def names(role):
        out = ["Hello", "Accept {context}"]
        out += [f"Blinded batch {i}" for i in range(len(batches[role]))]
        if role == second:
            out += [f"Reblinded batch {i}" for i in range(len(batches[first]))]
        else:
            out += [f"Matches batch {i}" for i in range(len(matches))]
        return out + ["Done"]

    def side_doc(role):
        side = SIDES[role]
        peer_values = {key for key, _ in elements[peer[role]]}
        matches = []
        for key, rows in elements[role]:
            if key in peer_values:
                mid = match_id(context, second_position[key])
                matches += [{"row": row, "match_id": mid.hex()} for row in rows]
        matches.sort(key=lambda m: (m["row"], m["match_id"]))
        return {
            "items": [{"row": row, "id_type": t, "value": v} for row, t, v in side["items"]],
            "elements": [
                {
                    "index": i,
                    "id_type": t,
                    "value": v,
                    "rows": rows,
                    "dst": info[role][i]["dst"].decode(),
                    "point": info[role][i]["point"].hex(),
                    "blinded": info[role][i]["blinded"].hex(),
                    "double_blinded": info[role][i]["double_blinded"].hex(),
                }
                for i, ((t, v), rows) in enumerate(elements[role])
            ],
            "hello": {
                "role": role,
                "set_size": sizes[role],
                "type_sizes": type_sizes[role],
                "min_peer_set": side["min_peer_set"],
                "allowed_modes": side["allowed_modes"],
                "batch_size": side["batch_size"],
                "nonce": side["nonce"].hex(),
                "implementation": IMPLEMENTATION,
            },
            "party_seed": side["seed"].hex(),
            "scalar": r.scalar_bytes(keys[role]).hex(),
            "order_seed": side["seed"][64:].hex(),
            "sending_order": SENDING_ORDER[role],
            "done": dones[role],
            "matched": len({m["match_id"] for m in matches}),
            "matches": matches,
        }

    doc = {
        "description": "One complete blindmatch session (protocol version 5, "
        "ecdh-ristretto255), every frame in both directions, for comparing an "
        "implementation byte for byte. Hex is lowercase. Replayed through the real "
        "session code by crates/net/tests/session_vector.rs; see docs/protocol.md "
        "'Session transcript vector'.",
        "source": "Computed by crates/net/tests/vectors/gen_session.py from "
        "docs/protocol.md in plain Python (ristretto255 and expand_message_xmd from "
        "crates/psi/tests/vectors/ristretto255.py), except each side's "
        "sending_order, which is rand 0.10's (party_seed_rule) and is derived again "
        "from the seed by the Rust test. The nonces, seeds and implementation string "
        "are fixed through blindmatch_net::run_plaintext_session_for_test_vectors, "
        "a test-only entry point; a real session draws them fresh and names its "
        "build.",
        "transport": "the plaintext test transport (no TLS), so the channel binding "
        "B in the session context is the 9 bytes 'plaintext'",
        "party_seed_rule": "A party draws 96 random bytes (party_seed; a real session "
        "takes them from the OS generator). Bytes 0..64, read as a little-endian "
        "integer and reduced modulo the group order, are its scalar k (a zero scalar "
        "is refused; the party keeps k/2, see 'Blinding'). Bytes 64..96 (order_seed) "
        "seed rand 0.10's StdRng (ChaCha12, SeedableRng::from_seed); the party takes "
        "32 bytes from it (the seed of the cardinality-mode shuffle, unused here), "
        "then, for each identifier type in the hello's id_types order, takes the "
        "distinct element indices of that type (elements numbered 0..n by first "
        "appearance among the items; a type's indices in increasing order) and "
        "permutes them with rand 0.10's SliceRandom::shuffle, the groups one after "
        "the other: position i of its Blinded stream carries element "
        "sending_order[i]. The protocol asks only that each type's items be sent "
        "together, in the agreed type order, in a secret uniform order within the "
        "type; another implementation uses sending_order to reproduce these bytes.",
        "first_learner": first,
        "match_id_rule": "Both learn: a matched element's match ID is the first 32 "
        "bytes of SHA-512('blindmatch/v1/psi/match-id-both' || context || j as a u64 "
        "big-endian), where j is the element's position in the Blinded stream of the "
        "side that learns second; the first learner's Matches carry only the bitmaps "
        "of those positions (docs/protocol.md, 'Match IDs').",
        "frame_order": "Within a direction a real session writes its Hello, its "
        "Accept, then protocol frames as its party hands them out: a party answers a "
        "peer batch before sending its own next one, so where the answers fall among "
        "its own Blinded batches depends on when the peer's batches arrive. Both sides "
        "learn, and the side with fewer elements (first_learner; the responder on a "
        "tie) learns first: only it gets Reblinded answers, and once it has them all "
        "it sends the other side its Matches, one per Blinded batch of the other "
        "side. This vector is the schedule in which each side has written all its "
        "Blinded batches before the peer's first one reaches it (the test's relay "
        "holds them back until then): own Blinded batches, then the second learner's "
        "Reblinded answers in the first learner's batch order, or the first learner's "
        "Matches, then Done. Another schedule changes the stream hashes and the "
        "transcript hash, not the bytes of any frame; each direction is hashed on its "
        "own, so the interleaving of the two directions never matters.",
        "parameters": {
            "protocol": PROTOCOL,
            "protocol_params": PROTOCOL_PARAMS.hex(),
            "mode": MODE,
            "reveal": REVEAL_BOTH,
            "id_types": ID_TYPES,
            "profile": PROFILE,
            "batch_size": batch,
            "comparison_len": cmp_len,
        },
        "initiator": side_doc("initiator"),
        "responder": side_doc("responder"),
        "context": context.hex(),
        "session_id": session_id,
        "initiator_to_responder": [
            {"frame": n, "hex": f.hex()}
            for n, f in zip(names("initiator"), directions["initiator"])
        ],
        "responder_to_initiator": [
            {"frame": n, "hex": f.hex()}
            for n, f in zip(names("responder"), directions["responder"])
        ],
        "stream_hashes": {
            "initiator_to_responder": hash_ir.hex(),
            "responder_to_initiator": hash_ri.hex(),
        },
        "transcript_hash": transcript.hex(),
    }
    print(json.dumps(doc, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
