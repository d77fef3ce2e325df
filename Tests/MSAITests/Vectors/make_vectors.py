#!/usr/bin/env python3
"""Known-answer vectors for msai's PRF, membrane noise and tau, from an independent
implementation (Python's `cryptography` ChaCha20, not swift-crypto), following the
algorithms exactly as documented in Sources/MSAICrypto/ChaCha20Keystream.swift,
Sources/MSAICore/Scrambling/Keystream.swift, Permutation.swift and Membrane+Generate.swift.
Run: python3 Tests/MSAITests/Vectors/make_vectors.py > Tests/MSAITests/Vectors/vectors.json"""
import json
import struct

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK = 16384


def keystream(seed: bytes, domain: str):
    """ChaCha20(key=seed, nonce=domain || BE64(chunk), counter=1), 16 KiB per chunk."""
    chunk = 0
    while True:
        nonce = domain.encode() + struct.pack(">Q", chunk)
        # cryptography's ChaCha20 nonce is 16 bytes: 4-byte little-endian counter, 12-byte nonce.
        cipher = Cipher(algorithms.ChaCha20(seed, struct.pack("<I", 1) + nonce), mode=None)
        yield from cipher.encryptor().update(bytes(CHUNK))
        chunk += 1


class Sampler:
    def __init__(self, seed, domain):
        self.stream = keystream(seed, domain)

    def byte_below(self, bound):
        while True:
            b = next(self.stream)
            if b < bound:
                return b

    def integer_below(self, bound):
        limit = (1 << 32) - (1 << 32) % bound
        while True:
            v = 0
            for _ in range(4):
                v = v << 8 | next(self.stream)
            if v < limit:
                return v % bound


def fisher_yates(count, seed, domain):
    s = Sampler(seed, domain)
    a = list(range(count))
    for i in range(count - 1, 0, -1):
        j = s.integer_below(i + 1)
        a[i], a[j] = a[j], a[i]
    return a


def membrane(seed, k, w, count):
    s = Sampler(seed, "MEMB")
    excluded = 251 - w
    noise = []
    for _ in range(count):
        b = s.byte_below(250)
        noise.append(b if b < excluded else b + 1)
    k_inv = pow(k, -1, 251)
    lam = [k_inv * ((w + e) % 251) % 251 for e in noise]
    return noise, lam


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    h = hmac.HMAC(salt, hashes.SHA256())
    h.update(ikm)
    return h.finalize()


def hkdf_expand(prk: bytes, info: bytes) -> bytes:
    """32 bytes of HKDF-Expand (RFC 5869): one block, T(1) = HMAC(prk, info || 0x01)."""
    h = hmac.HMAC(prk, hashes.SHA256())
    h.update(info + b"\x01")
    return h.finalize()


def frame_keys(tau_seed: bytes):
    """Sources/MSAICrypto/FrameKeys.swift."""
    prk = hkdf_extract(b"msai frame keys v2", tau_seed)
    pad = lambda i: hkdf_expand(prk, b"pad" + struct.pack(">I", i))
    return hkdf_expand(prk, b"scrambling"), hkdf_expand(prk, b"sealing"), pad


def seal(frame: bytes, tau_id: str, key: bytes, nonce: bytes) -> bytes:
    """Sources/MSAICrypto/SealedFrame.swift, with a chosen nonce."""
    header = b"msaiSEAL" + bytes([2, len(tau_id)]) + tau_id.encode() + nonce
    return header + AESGCM(key).encrypt(nonce, frame, header)


seed_a = bytes(range(32))
seed_b = bytes([0xA5] * 32)
out = {"seed_a": seed_a.hex(), "seed_b": seed_b.hex()}
ks = keystream(seed_a, "TAU0")
out["keystream_tau_seed_a_first64"] = bytes(next(ks) for _ in range(64)).hex()
ks = keystream(seed_a, "MEMB")
first = bytes(next(ks) for _ in range(CHUNK + 32))
out["keystream_memb_seed_a_first64"] = first[:64].hex()
out["keystream_memb_seed_a_across_chunk"] = first[CHUNK - 16:CHUNK + 16].hex()
out["tau_seed_a_100"] = fisher_yates(100, seed_a, "TAU0")
out["tau_seed_b_4800_first20"] = fisher_yates(4800, seed_b, "TAU0")[:20]
out["edge_seed_a_37"] = fisher_yates(37, seed_a, "EDGE")
noise, lam = membrane(seed_b, 7, 200, 300)
out["membrane_seed_b_k7_w200_noise300"] = noise
out["membrane_seed_b_k7_w200_lambda300"] = lam
out["gf251_inverse"] = [0] + [pow(a, -1, 251) for a in range(1, 251)]
scrambling, sealing, pad = frame_keys(seed_a)
out["frame_keys_seed_a_scrambling"] = scrambling.hex()
out["frame_keys_seed_a_sealing"] = sealing.hex()
out["frame_keys_seed_a_pad_seed_area0"] = pad(0).hex()
out["frame_keys_seed_a_pad_seed_area3"] = pad(3).hex()
ks = keystream(pad(3), "PAD0")
out["frame_keys_seed_a_pad_area3_first32"] = bytes(next(ks) for _ in range(32)).hex()
out["tau_seed_a_scrambling_100"] = fisher_yates(100, scrambling, "TAU0")
out["sealed_seed_a_hello"] = seal(b"hello, sealed msai frame", "00112233445566778899aabbccddeeff", sealing, bytes(range(12))).hex()
print(json.dumps(out, indent=1))
