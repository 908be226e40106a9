"""Suites 1 and 2 primitives against the NIST CAVP vectors shipped in the ``cryptography-vectors`` package.

Files used (all NIST CAVP, as packaged by pyca/cryptography in ``cryptography_vectors``):

* ``asymmetric/ECDSA/FIPS_186-3/SigVer.rsp`` and ``SigGen.txt``: ECDSA P-256/SHA-256 and P-384/SHA-384;
* ``asymmetric/ECDH/KASValidityTest_ECCStaticUnified_KDFConcat_NOKC_{init,resp}.fax``: ECC CDH with
  the SP 800-56A concatenation KDF (Static Unified Model, the scheme of DLMS suites 1 and 2),
  parameter sets EC (P-256, SHA-256) and ED (P-384, SHA-384);
* ``asymmetric/ECDH/KASValidityTest_ECCStaticUnified_NOKC_ZZOnly_{init,resp}.fax``: the ECC CDH
  primitive (shared secret Z only);
* ``ciphers/AES/GCM/gcmEncryptExtIV{128,256}.rsp``: AES-GCM-128/256 key streams.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmskit.errors import ConfigurationError, KeyFormatError
from dlmskit.security.ecc import (
    AlgorithmId,
    SecuritySuite,
    SignatureError,
    decode_public_key,
    decode_signature,
    derive_key,
    ecdh,
    ecdsa_hls_data,
    encode_public_key,
    encode_signature,
    generate_private_key,
    other_info,
    private_key_from_scalar,
    sign,
    verify,
)
from dlmskit.security.suite0 import GcmCipher

vectors = pytest.importorskip(
    "cryptography_vectors", reason="cryptography-vectors (test extra) not installed"
)

SUITE1 = SecuritySuite.ECDH_ECDSA_AES_GCM_128_SHA256
SUITE2 = SecuritySuite.ECDH_ECDSA_AES_GCM_256_SHA384
ECDSA_SECTIONS = {"[P-256,SHA-256]": SUITE1, "[P-384,SHA-384]": SUITE2}
KAS_SECTIONS = {"[EC - SHA256]": SUITE1, "[ED - SHA384]": SUITE2}


def _records(path: str, sections: dict[str, SecuritySuite]) -> Iterator[tuple[SecuritySuite, dict[str, str]]]:
    """``(suite, {field: value})`` for every record under one of ``sections`` of a CAVP file."""
    suite: SecuritySuite | None = None
    record: dict[str, str] = {}
    with vectors.open_vector_file(path, "r") as handle:
        for raw in [*handle, ""]:
            line = raw.strip()
            if line.startswith("["):
                suite = sections.get(line)
                continue
            if "=" in line and not line.startswith("#"):
                name, _, value = line.partition("=")
                record[name.strip()] = value.strip()
                continue
            if not line and record:
                if suite is not None and ("Msg" in record or "Z" in record):
                    yield suite, record
                record = {}


def _point(suite: SecuritySuite, x: str, y: str) -> bytes:
    size = suite.parameters.size
    return int(x, 16).to_bytes(size, "big") + int(y, 16).to_bytes(size, "big")


def _scalar(suite: SecuritySuite, d: str) -> ec.EllipticCurvePrivateKey:
    return private_key_from_scalar(suite, int(d, 16).to_bytes(suite.parameters.size, "big"))


def test_ecdsa_sigver() -> None:
    counts = {True: 0, False: 0}
    for suite, rec in _records("asymmetric/ECDSA/FIPS_186-3/SigVer.rsp", ECDSA_SECTIONS):
        size = suite.parameters.size
        signature = int(rec["R"], 16).to_bytes(size, "big") + int(rec["S"], 16).to_bytes(size, "big")
        expected = rec["Result"].startswith("P")
        try:
            key = decode_public_key(suite, _point(suite, rec["Qx"], rec["Qy"]))
            verify(suite, key, bytes.fromhex(rec["Msg"]), signature)
            ok = True
        except (SignatureError, KeyFormatError):
            ok = False
        assert ok is expected, rec["Result"]
        counts[expected] += 1
    assert counts[True] >= 6 and counts[False] >= 20


def test_ecdsa_siggen() -> None:
    """CAVP SigGen fixes the nonce k, which no safe API lets a caller choose: the published (R, S)
    must verify, the public key must follow from d, and our own signature must verify."""
    seen = 0
    for suite, rec in _records("asymmetric/ECDSA/FIPS_186-3/SigGen.txt", ECDSA_SECTIONS):
        size = suite.parameters.size
        message = bytes.fromhex(rec["Msg"])
        private = _scalar(suite, rec["d"])
        public = private.public_key()
        assert encode_public_key(public) == _point(suite, rec["Qx"], rec["Qy"])
        published = int(rec["R"], 16).to_bytes(size, "big") + int(rec["S"], 16).to_bytes(size, "big")
        verify(suite, public, message, published)
        ours = sign(suite, private, message)
        assert len(ours) == 2 * size
        verify(suite, public, message, ours)
        seen += 1
    assert seen == 30


@pytest.mark.parametrize("role", ["init", "resp"])
def test_kas_ecc_static_unified_concat_kdf(role: str) -> None:
    passed = refused = 0
    path = f"asymmetric/ECDH/KASValidityTest_ECCStaticUnified_KDFConcat_NOKC_{role}.fax"
    for suite, rec in _records(path, KAS_SECTIONS):
        reason = rec["Result"]
        if "fails PKV" in reason:
            # The public key is not a point on the curve: refused when decoded.
            which = "QsCAVS" if "CAVS's" in reason else "QsIUT"
            with pytest.raises(KeyFormatError):
                decode_public_key(suite, _point(suite, rec[which + "x"], rec[which + "y"]))
            refused += 1
            continue
        if not reason.startswith("P"):
            continue
        cavs = _scalar(suite, rec["dsCAVS"])
        iut = _scalar(suite, rec["dsIUT"])
        iut_public = decode_public_key(suite, _point(suite, rec["QsIUTx"], rec["QsIUTy"]))
        cavs_public = decode_public_key(suite, _point(suite, rec["QsCAVSx"], rec["QsCAVSy"]))
        z = bytes.fromhex(rec["Z"])
        assert ecdh(iut, cavs_public) == z
        assert ecdh(cavs, iut_public) == z
        dkm = bytes.fromhex(rec["DKM"])
        assert derive_key(suite, z, bytes.fromhex(rec["OI"]), len(dkm)) == dkm
        passed += 1
    assert passed >= 15 and refused >= 10


@pytest.mark.parametrize("role", ["init", "resp"])
def test_kas_ecc_cdh_primitive(role: str) -> None:
    sections = {"[EC - SHA256]": SUITE1, "[ED - SHA384]": SUITE2}
    seen = 0
    path = f"asymmetric/ECDH/KASValidityTest_ECCStaticUnified_NOKC_ZZOnly_{role}.fax"
    for suite, rec in _records(path, sections):
        if not rec["Result"].startswith("P"):
            continue
        iut = _scalar(suite, rec["dsIUT"])
        cavs_public = decode_public_key(suite, _point(suite, rec["QsCAVSx"], rec["QsCAVSy"]))
        assert ecdh(iut, cavs_public) == bytes.fromhex(rec["Z"])
        seen += 1
    assert seen >= 10


def _gcm_records(path: str) -> Iterator[dict[str, str]]:
    header: dict[str, str] = {}
    record: dict[str, str] = {}
    with vectors.open_vector_file(path, "r") as handle:
        for raw in [*handle, ""]:
            line = raw.strip()
            if line.startswith("[") and "=" in line:
                name, _, value = line[1:-1].partition("=")
                header[name.strip()] = value.strip()
            elif "=" in line and not line.startswith("#"):
                name, _, value = line.partition("=")
                record[name.strip()] = value.strip()
            elif not line and record:
                yield {**header, **record}
                record = {}


@pytest.mark.parametrize(("bits", "suite_id"), [(128, 1), (256, 2)])
def test_gcm_key_stream_matches_nist(bits: int, suite_id: int) -> None:
    """Encryption-only protection (SC 0x2n) is the GCM key stream: IV = system title || IC."""
    seen = 0
    for rec in _gcm_records(f"ciphers/AES/GCM/gcmEncryptExtIV{bits}.rsp"):
        if rec["IVlen"] != "96" or rec["AADlen"] != "0" or rec["PTlen"] in ("0",) or seen >= 15:
            continue
        key, iv = bytes.fromhex(rec["Key"]), bytes.fromhex(rec["IV"])
        cipher = GcmCipher(key, key)
        out = cipher.encrypt(0x20 | suite_id, iv[:8], int.from_bytes(iv[8:], "big"), bytes.fromhex(rec["PT"]))
        assert out[5:] == bytes.fromhex(rec["CT"])
        seen += 1
    assert seen == 15


def test_suite2_authenticated_encryption_is_aes_gcm_256() -> None:
    ek, ak = bytes(range(32)), bytes(range(32, 64))
    title, ic, plain = (
        bytes.fromhex("4D4D4D0000BC614E"),
        0x01234567,
        bytes.fromhex("C0010000080000010000FF0200"),
    )
    out = GcmCipher(ek, ak).encrypt(0x32, title, ic, plain)
    full = AESGCM(ek).encrypt(title + ic.to_bytes(4, "big"), plain, bytes((0x32,)) + ak)
    assert out == bytes((0x32,)) + ic.to_bytes(4, "big") + full[:-4]
    assert GcmCipher(ek, ak).decrypt(0x32, title, ic, out[5:]) == plain


@pytest.mark.parametrize("suite", [SUITE1, SUITE2])
def test_sign_verify_round_trip_and_tamper(suite: SecuritySuite) -> None:
    key = generate_private_key(suite)
    data = b"data to sign"
    signature = sign(suite, key, data)
    verify(suite, key.public_key(), data, signature)
    with pytest.raises(SignatureError, match="does not verify"):
        verify(suite, key.public_key(), data + b"!", signature)
    with pytest.raises(SignatureError, match="does not verify"):
        verify(suite, generate_private_key(suite).public_key(), data, signature)
    with pytest.raises(SignatureError, match="r \\|\\| s"):
        verify(suite, key.public_key(), data, signature[:-1])


def test_signatures_differ_each_time() -> None:
    key = generate_private_key(SUITE1)
    assert sign(SUITE1, key, b"x") != sign(SUITE1, key, b"x")


def test_wrong_curve_refused() -> None:
    key = generate_private_key(SUITE1)
    with pytest.raises(KeyFormatError, match="secp384r1"):
        sign(SUITE2, key, b"x")
    with pytest.raises(KeyFormatError, match="one curve"):
        ecdh(key, generate_private_key(SUITE2).public_key())


def test_suite_0_has_no_public_key_algorithms() -> None:
    with pytest.raises(ConfigurationError, match="suite 0"):
        generate_private_key(0)
    with pytest.raises(ConfigurationError, match="unknown security suite 7"):
        generate_private_key(7)


@settings(max_examples=50, deadline=None)
@given(r=st.integers(1, 2**256 - 1), s=st.integers(1, 2**256 - 1))
def test_raw_der_round_trip(r: int, s: int) -> None:
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert encode_signature(decode_signature(raw, 32), 32) == raw


@pytest.mark.parametrize("suite", [SUITE1, SUITE2])
def test_public_key_encoding(suite: SecuritySuite) -> None:
    public = generate_private_key(suite).public_key()
    raw = encode_public_key(public)
    assert len(raw) == 2 * suite.parameters.size
    assert encode_public_key(decode_public_key(suite, raw)) == raw
    assert encode_public_key(decode_public_key(suite, b"\x04" + raw)) == raw
    with pytest.raises(KeyFormatError, match="X \\|\\| Y"):
        decode_public_key(suite, raw[1:])


def test_other_info_layout() -> None:
    u, v = bytes.fromhex("4D4D4D0000000001"), bytes.fromhex("4D4D4D0000BC614E")
    assert other_info(AlgorithmId.AES_GCM_128, u, v) == bytes.fromhex("60857405080300") + u + v
    tid = bytes.fromhex("0000000000000001")
    assert (
        other_info(AlgorithmId.AES_GCM_256, u, v, transaction_id=tid)
        == bytes.fromhex("60857405080301") + u + b"\x08" + tid + v
    )
    with pytest.raises(KeyFormatError, match="party V"):
        other_info(AlgorithmId.AES_GCM_128, u, v[:7])


@pytest.mark.parametrize("suite", [SUITE1, SUITE2])
def test_both_parties_derive_the_same_key(suite: SecuritySuite) -> None:
    u, v = generate_private_key(suite), generate_private_key(suite)
    info = other_info(suite.parameters.gcm_algorithm, b"CLIENT01", b"SERVER01")
    key_u = derive_key(suite, ecdh(u, v.public_key()), info)
    key_v = derive_key(suite, ecdh(v, u.public_key()), info)
    assert key_u == key_v and len(key_u) == suite.parameters.key_length


def test_hls_ecdsa_data_order() -> None:
    st_c, st_s = b"CCCCCCCC", b"SSSSSSSS"
    data = ecdsa_hls_data(
        responder_system_title=st_c,
        challenger_system_title=st_s,
        challenge=b"stoc",
        responder_challenge=b"ctos",
    )
    assert data == st_c + st_s + b"stoc" + b"ctos"
