#!/usr/bin/env python3
"""Known-answer vectors for msai's PRF, membrane noise and tau, from an independent
implementation (Python's `cryptography` ChaCha20, not swift-crypto), following the
algorithms exactly as documented in Sources/MSAICrypto/ChaCha20Keystream.swift,
Sources/MSAICore/Scrambling/Keystream.swift, Permutation.swift and Membrane+Generate.swift.
Run: python3 Tests/MSAITests/Vectors/make_vectors.py > Tests/MSAITests/Vectors/vectors.json"""
import json
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

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
print(json.dumps(out, indent=1))
