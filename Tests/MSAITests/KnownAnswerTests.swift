import Foundation
import MSAICore
import MSAICrypto
import Testing

/// Known answers. The vectors in Vectors/vectors.json come from an independent Python
/// implementation (Vectors/make_vectors.py, the `cryptography` package's ChaCha20).
@Suite struct KnownAnswerTests {
    let v = Vectors.shared

    @Test func chacha20KeystreamMatchesIndependentImplementation() async throws {
        let seed = Hex.decode(v.seed_a)!
        var tau = try ChaCha20Keystream(seed: seed, domain: .tau)
        #expect(Hex.encode(tau.nextBytes(64)) == v.keystream_tau_seed_a_first64)
        var membrane = try ChaCha20Keystream(seed: seed, domain: .membraneNoise)
        let first = membrane.nextBytes(64)
        #expect(Hex.encode(first) == v.keystream_memb_seed_a_first64)
        // Read in odd pieces across the 16 KiB chunk boundary.
        _ = membrane.nextBytes(ChaCha20Keystream.chunkSize - 64 - 16)
        let across = membrane.nextBytes(7) + membrane.nextBytes(25)
        #expect(Hex.encode(across) == v.keystream_memb_seed_a_across_chunk)
    }

    @Test func rawKeystreamMatchesRFC8439Section242() {
        // RFC 8439 §2.4.2: key 00..1f, nonce 00:00:00:00:00:00:00:4a:00:00:00:00, block counter 1;
        // the published ciphertext XOR the plaintext is the keystream.
        let key = (0..<32).map(UInt8.init)
        let plaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let ciphertextPrefix = Hex.decode("6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b")!
        let stream = ChaCha20Keystream.rawKeystream(key: key, nonce: [0, 0, 0, 0, 0, 0, 0, 0x4a, 0, 0, 0, 0], count: 32)
        #expect(zip(stream, plaintext).map { $0 ^ $1 } == ciphertextPrefix)
    }

    @Test func tauDerivationMatchesIndependentFisherYates() async throws {
        let tau = try Permutation.derive(count: 100, seed: Hex.decode(v.seed_a)!, domain: .tau, using: ChaCha20Keystream.self)
        #expect(tau.indices == v.tau_seed_a_100)
        let big = try Permutation.derive(count: 4800, seed: Hex.decode(v.seed_b)!, domain: .tau, using: ChaCha20Keystream.self)
        #expect(Array(big.indices.prefix(20)) == v.tau_seed_b_4800_first20)
        let edge = try Permutation.derive(count: 37, seed: Hex.decode(v.seed_a)!, domain: .edgePixels, using: ChaCha20Keystream.self)
        #expect(edge.indices == v.edge_seed_a_37)
    }

    @Test func membraneNoiseAndLambdaMatchIndependentImplementation() async throws {
        let key = try GF251MembraneKey(
            id: MembraneID(rawValue: "kat"), shape: MembraneShape(rows: 10, cols: 10, channels: 3), k: 7, w: 200,
            seed: Hex.decode(v.seed_b)!)
        #expect(try key.noise(using: ChaCha20Keystream.self) == v.membrane_seed_b_k7_w200_noise300)
        let lambda = try key.membrane(using: ChaCha20Keystream.self)
        #expect(lambda == v.membrane_seed_b_k7_w200_lambda300)
        #expect(!lambda.contains(0))
        let inverse = try key.inverseMembrane(using: ChaCha20Keystream.self)
        for (l, i) in zip(lambda, inverse) { #expect(GF251.multiply(l, i) == 1) }
    }

    /// The frame keys (HKDF-SHA-256 from the τ seed, one per job), τ under the scrambling key, a
    /// pad, and a sealed frame, against the independent implementation.
    @Test func frameKeysAndSealMatchIndependentImplementation() throws {
        let keys = try FrameKeys(tauSeed: Hex.decode(v.seed_a)!)
        #expect(Hex.encode(keys.scrambling) == v.frame_keys_seed_a_scrambling)
        #expect(Hex.encode(keys.sealing.withUnsafeBytes { Array($0) }) == v.frame_keys_seed_a_sealing)
        #expect(Hex.encode(keys.padSeed(area: 0)) == v.frame_keys_seed_a_pad_seed_area0)
        #expect(Hex.encode(keys.padSeed(area: 3)) == v.frame_keys_seed_a_pad_seed_area3)
        #expect(Hex.encode(try keys.pad(area: 3, count: 32)) == v.frame_keys_seed_a_pad_area3_first32)
        #expect(try Permutation.derive(count: 100, seed: keys.scrambling, domain: .tau, using: ChaCha20Keystream.self).indices
                == v.tau_seed_a_scrambling_100)
        let sealed = Hex.decode(v.sealed_seed_a_hello)!
        #expect(try SealedFrame.header(sealed).tauID == "00112233445566778899aabbccddeeff")
        #expect(String(decoding: try SealedFrame.open(sealed, key: keys.sealing), as: UTF8.self) == "hello, sealed msai frame")
        // Under any other frame's key the seal does not open.
        #expect(throws: MSAIError.self) { try SealedFrame.open(sealed, key: try FrameKeys(tauSeed: Hex.decode(v.seed_b)!).sealing) }
    }
}
