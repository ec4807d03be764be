#!/usr/bin/env python3
"""Writes docs/test-vectors/psi.json.

The RFC sections are copied from the RFCs and checked here against ristretto255.py,
an implementation of RFC 9380 expand_message_xmd and RFC 9496 ristretto255 written
from the RFC text (integer arithmetic, no curve library, nothing from the Rust code).
The blindmatch_v1 section is computed with it, so the Rust test that checks the file
is not circular. Normalised values are not computed: each vector's input and output
are looked up in docs/test-vectors/normalize.json (written by hand, see
gen_normalize.py). Run from the repository root:

    python3 crates/psi/tests/vectors/gen_psi.py > docs/test-vectors/psi.json
"""
import hashlib
import json
import os
import sys

# No __pycache__ next to the module in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ristretto255 as r  # noqa: E402

H2G_LABEL = b"blindmatch/v1/psi/h2g:"
MATCH_ID_LABEL = b"blindmatch/v1/psi/match-id"
PROFILE = "bm-std-v1"

XMD_DST = "QUUX-V01-CS02-with-expander-SHA512-256"
XMD = [
    ("", 32, "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"),
    ("abc", 32, "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"),
    ("abcdef0123456789", 32, "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58"),
    ("q128_" + "q" * 128, 32, "7336234ee9983902440f6bc35b348352013becd88938d2afec44311caf8356b3"),
    ("a512_" + "a" * 512, 32, "57b5f7e766d5be68a6bfe1768e3c2b7f1228b3e4b3134956dd73a59b954c66f4"),
    ("", 128, "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921b052b62eaed99b46f72f2ef4cc96bfaf254ebbbec091e1a3b9e4fb5e5b619d2e0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7eb00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961"),
    ("abc", 128, "7f1dddd13c08b543f2e2037b14cefb255b44c83cc397c1786d975653e36a6b11bdd7732d8b38adb4a0edc26a0cef4bb45217135456e58fbca1703cd6032cb1347ee720b87972d63fbf232587043ed2901bce7f22610c0419751c065922b488431851041310ad659e4b23520e1772ab29dcdeb2002222a363f0c2b1c972b3efe1"),
    ("abcdef0123456789", 128, "3f721f208e6199fe903545abc26c837ce59ac6fa45733f1baaf0222f8b7acb0424814fcb5eecf6c1d38f06e9d0a6ccfbf85ae612ab8735dfdf9ce84c372a77c8f9e1c1e952c3a61b7567dd0693016af51d2745822663d0c2367e3f4f0bed827feecc2aaf98c949b5ed0d35c3f1023d64ad1407924288d366ea159f46287e61ac"),
    ("q128_" + "q" * 128, 128, "b799b045a58c8d2b4334cf54b78260b45eec544f9f2fb5bd12fb603eaee70db7317bf807c406e26373922b7b8920fa29142703dd52bdf280084fb7ef69da78afdf80b3586395b433dc66cde048a258e476a561e9deba7060af40adf30c64249ca7ddea79806ee5beb9a1422949471d267b21bc88e688e4014087a0b592b695ed"),
    ("a512_" + "a" * 512, 128, "05b0bfef265dcee87654372777b7c44177e2ae4c13a27f103340d9cd11c86cb2426ffcad5bd964080c2aee97f03be1ca18e30a1f14e27bc11ebbd650f305269cc9fb1db08bf90bfc79b42a952b46daf810359e7bc36452684784a64952c343c52e5124cd1f71d474d5197fefc571a92929c9084ffe1112cf5eea5192ebff330b"),
]

# RFC 9496 appendix A.3: (input, element); SHA-512(input) feeds the one-way map.
H2G = [
    ("Ristretto is traditionally a short shot of espresso coffee", "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46"),
    ("made with the normal amount of ground coffee but extracted with", "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b"),
    ("about half the amount of water in the same amount of time", "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826"),
    ("by using a finer grind.", "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a"),
    ("This produces a concentrated shot of coffee per volume.", "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179"),
    ("Just pulling a normal shot short will produce a weaker shot", "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628"),
    ("and is not a Ristretto as some believe.", "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065"),
]

EDGE_ELEMENT = "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f"
EDGE = [
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff1200000000000000000000000000000000000000000000000000000000000000",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "0000000000000000000000000000000000000000000000000000000000000080ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "00000000000000000000000000000000000000000000000000000000000000001200000000000000000000000000000000000000000000000000000000000080",
]

OPRF_DST = b"HashToGroup-OPRFV1-\x00-ristretto255-SHA512"
OPRF_BLIND = "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706"
OPRF = [
    ("00", "609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c"),
    ("5a" * 17, "da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418"),
]

SCALAR_A = "212a05363c0404b868c07543b1edc02b6967deecbc4198489487d13ec500800a"
SCALAR_B = "18e7226f0efce16b2dfd182c69e7750e71d5f4af995502dfff93388429816b0a"
ZERO_CONTEXT = bytes(32)
COUNT_CONTEXT = bytes(range(1, 33))

# (type, raw input, context): the normalised value comes from normalize.json.
ELEMENTS = [
    ("phone", "8613800138000", ZERO_CONTEXT),
    ("phone", "138 0013 8000", COUNT_CONTEXT),
    ("email", "  Alice.Smith@Example.COM ", COUNT_CONTEXT),
    ("email", "Zhang.San@例子.中国", COUNT_CONTEXT),
    ("uscc", "91350100m000100y43", COUNT_CONTEXT),
    ("cn_id", "110105491231002", COUNT_CONTEXT),
    ("name", "  John   SMITH ", COUNT_CONTEXT),
    ("name", "阿卜杜拉・买买提", COUNT_CONTEXT),
]


def check_rfc_vectors():
    for msg, length, out in XMD:
        assert r.expand_message_xmd_sha512(msg.encode(), XMD_DST.encode(), length).hex() == out
    for text, element in H2G:
        uniform = hashlib.sha512(text.encode()).digest()
        assert r.encode(r.from_uniform_bytes(uniform)).hex() == element
    for uniform in EDGE:
        assert r.encode(r.from_uniform_bytes(bytes.fromhex(uniform))).hex() == EDGE_ELEMENT
    k = r.scalar_from_canonical(bytes.fromhex(OPRF_BLIND))
    for msg, blinded in OPRF:
        p = r.hash_to_ristretto255(bytes.fromhex(msg), OPRF_DST)
        assert r.encode(r.mul(k, p)).hex() == blinded


def normalised(cases, id_type, raw):
    found = [
        c["expected"]
        for c in cases
        if c["type"] == id_type and c["profile"] == PROFILE and c["input"] == raw
    ]
    assert len(found) == 1 and found[0] is not None, (id_type, raw)
    return found[0]


def h2g_dst(id_type, context):
    return H2G_LABEL + id_type.encode() + b":" + context.hex().encode()


def match_id(context, double_blinded):
    return hashlib.sha512(MATCH_ID_LABEL + context + double_blinded).digest()[:32]


def blindmatch_vector(cases, ka, kb, id_type, raw, context):
    value = normalised(cases, id_type, raw)
    dst = h2g_dst(id_type, context)
    point = r.encode(r.hash_to_ristretto255(value.encode("utf-8"), dst))
    blinded_a = r.blind(ka, point)
    double_blinded = r.blind(kb, blinded_a)
    # Blinding commutes: the other order gives the same doubly blinded point.
    assert r.blind(ka, r.blind(kb, point)) == double_blinded
    return {
        "id_type": id_type,
        "input": raw,
        "normalised": value,
        "value_hex": value.encode("utf-8").hex(),
        "context": context.hex(),
        "dst": dst.decode(),
        "point": point.hex(),
        "blinded_a": blinded_a.hex(),
        "double_blinded": double_blinded.hex(),
        "match_id": match_id(context, double_blinded).hex(),
    }


def main():
    check_rfc_vectors()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../..")
    with open(os.path.join(root, "docs/test-vectors/normalize.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    ka = r.scalar_from_canonical(bytes.fromhex(SCALAR_A))
    kb = r.scalar_from_canonical(bytes.fromhex(SCALAR_B))
    doc = {
        "description": "Test vectors for blindmatch-psi, run by crates/psi/tests/vectors.rs. "
        "Hex is lowercase; messages given as 'msg' are UTF-8, as 'msg_hex' raw bytes. "
        "Written by crates/psi/tests/vectors/gen_psi.py.",
        "expand_message_xmd_sha512": {
            "source": "RFC 9380 appendix K.3",
            "dst": XMD_DST,
            "vectors": [
                {"msg": m, "len_in_bytes": n, "uniform_bytes": u} for m, n, u in XMD
            ],
        },
        "ristretto255_hash_to_group": {
            "source": "RFC 9496 appendix A.3: SHA-512(input) is the 64-byte input of the "
            "one-way map (element derivation)",
            "vectors": [
                {
                    "input": text,
                    "sha512": hashlib.sha512(text.encode()).hexdigest(),
                    "element": element,
                }
                for text, element in H2G
            ],
        },
        "ristretto255_one_way_map_edge_cases": {
            "source": "RFC 9496 appendix A.3, the four inputs that reduce non-canonically "
            "and map to the same element",
            "vectors": [{"uniform_bytes": u, "element": EDGE_ELEMENT} for u in EDGE],
        },
        "hash_to_ristretto255_oprf": {
            "source": "RFC 9497 appendix A.1.1 (OPRF(ristretto255, SHA-512), mode 0x00): "
            "BlindedElement = Blind * hash_to_ristretto255(Input, DST)",
            "dst_hex": OPRF_DST.hex(),
            "blind": OPRF_BLIND,
            "vectors": [{"msg_hex": m, "blinded_element": b} for m, b in OPRF],
        },
        "blindmatch_v1": {
            "source": "blindmatch: computed by crates/psi/tests/vectors/gen_psi.py with "
            "ristretto255.py next to it, an independent Python implementation of RFC 9380 "
            "expand_message_xmd and RFC 9496 ristretto255 written from the RFC text (it "
            "reproduces every RFC vector above before writing this section); see "
            "docs/protocol.md 'PSI core'. The normalised values are not computed: each "
            "input and its normalised form are a case of docs/test-vectors/normalize.json "
            "(profile bm-std-v1).",
            "element_rule": "the element is the UTF-8 of the normalised value "
            "(docs/protocol.md 'Items and de-duplication', docs/normalization.md): "
            "'input' is a raw cell, 'normalised' what the standard profile makes of it, "
            "'value_hex' its UTF-8, which is hashed",
            "dst_rule": "\"blindmatch/v1/psi/h2g:\" || id_type || \":\" || "
            "lowercase hex(context)",
            "match_id_rule": "first 32 bytes of SHA-512(\"blindmatch/v1/psi/match-id\" || "
            "context || double_blinded)",
            "history": "Until issue 18 the phone vectors hashed 8613800138000 (the digits "
            "without the '+'), while blindmatch hashes the normalised E.164 form "
            "+8613800138000: an implementation that copied them agreed on every handshake "
            "field and then matched nothing. They were replaced by the two +8613800138000 "
            "vectors below (same contexts as before). The e-mail li.wei@example.com, the "
            "name 李伟 and the customer-id bytes 00ff10 (no normalised value of any type) "
            "gave way to inputs and outputs taken from normalize.json; the USCC element "
            "and both scalars are unchanged.",
            "scalar_a": SCALAR_A,
            "scalar_b": SCALAR_B,
            "vectors": [
                blindmatch_vector(cases, ka, kb, t, raw, ctx) for t, raw, ctx in ELEMENTS
            ],
        },
    }
    print(json.dumps(doc, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
