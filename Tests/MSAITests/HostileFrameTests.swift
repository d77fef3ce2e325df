import Foundation
import MSAICore
import MSAICoreTesting
import MSAICrypto
import MSAIImageIO
import Testing

@testable import MSAIRoles

/// Frames an enrolled edge (or whoever holds its τ) could craft inside a valid seal, aimed at
/// the data center's decoders rather than its checks (issue 12): each is refused by name, and
/// nothing in it is decompressed, allocated past its frame, or stored.
@Suite struct HostileFrameTests {
    /// A PNG chunk: length, type, data, CRC.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let length = UInt32(data.count).bigEndian
        let body = Array(type.utf8) + data
        return withUnsafeBytes(of: length) { Array($0) } + body + withUnsafeBytes(of: crc32(body).bigEndian) { Array($0) }
    }

    /// `png` with `chunks` inserted just before its first IDAT.
    static func inserting(_ chunks: [UInt8], into png: [UInt8]) -> [UInt8] {
        var offset = 8
        while offset + 8 <= png.count {
            let length = png[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            if String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self) == "IDAT" { break }
            offset += 12 + length
        }
        return Array(png[..<offset]) + chunks + Array(png[offset...])
    }

    func frame(_ roles: Roles) async throws -> EdgeCamera.MaskedFrame {
        var random = SplitMix64(seed: 12)
        return try await roles.edge.prepare(randomImage(width: 40, height: 32, channels: 3, using: &random),
                                            areas: [Rect(x: 4, y: 4, width: 16, height: 12)])
    }

    func refused(_ roles: Roles, _ inner: [UInt8], like frame: EdgeCamera.MaskedFrame, saying words: String) throws {
        do {
            _ = try roles.dataCenter.submit(maskedFrame: try roles.reseal(inner, like: frame))
            Issue.record("accepted a frame that should have been refused for: \(words)")
        } catch {
            #expect("\(error)".contains(words), "\(error)")
        }
        #expect(try roles.dataCenter.store.frameIDs().isEmpty, "nothing is stored")
    }

    @Test func textChunksBesideTheManifestAreRefusedUndecompressed() async throws {
        let roles = Roles(seed: 21)
        let frame = try await frame(roles)
        // A 50 KB zTXt that would inflate to 8 MB (forty of them took 630 MB in msai 2.0): refused as
        // a second text chunk, never inflated.
        let bomb = Array("Comment".utf8) + [0, 0] + zlibBombOfZeros(8 << 20)
        #expect(bomb.count < 60_000)
        try refused(roles, Self.inserting(Self.chunk("zTXt", bomb), into: frame.encoded), like: frame, saying: "2 text chunks")
        try refused(roles, Self.inserting(Self.chunk("tEXt", Array("Author\0x".utf8)), into: frame.encoded), like: frame, saying: "2 text chunks")
        // A second manifest, naming another τ: the check before decoding and the decoding could
        // otherwise read different ones.
        var other = frame.manifest
        other.tauID = String(repeating: "a", count: 32)
        let second = Self.chunk("iTXt", Array(FrameManifest.pngKeyword.utf8) + [0, 0, 0, 0, 0] + Array(other.encoded()))
        try refused(roles, Self.inserting(second, into: frame.encoded), like: frame, saying: "2 text chunks")
        // The manifest itself compressed: refused, not inflated.
        let compressed = Self.chunk("iTXt", Array(FrameManifest.pngKeyword.utf8) + [0, 1, 0, 0, 0] + Array(try zlibCompress(Array(frame.manifest.encoded()))))
        let stripped = try PNGCodec.encode(frame.scrambled)
        try refused(roles, Self.inserting(compressed, into: stripped), like: frame, saying: "no msai metadata")
    }

    @Test func oversizedOrTooManyChunksAndBytesAfterTheEndAreRefused() async throws {
        let roles = Roles(seed: 22)
        let frame = try await frame(roles)
        let many = (0..<40).flatMap { _ in Self.chunk(MaskedFrameCodec.ciphertextChunkName, [1, 2, 3]) }
        try refused(roles, Self.inserting(many, into: frame.encoded), like: frame, saying: "not a readable PNG")
        let large = Self.chunk(MaskedFrameCodec.ciphertextChunkName, [UInt8](repeating: 5, count: 5 << 20))
        try refused(roles, Self.inserting(large, into: frame.encoded), like: frame, saying: "not a readable PNG")
        try refused(roles, frame.encoded + [0, 0, 0, 0], like: frame, saying: "bytes after IEND")
    }

    @Test func aQOIFrameMustEndExactlyAtItsEndMarker() async throws {
        let roles = Roles(seed: 23, format: .qoi)
        let frame = try await frame(roles)
        let image = try QOICodec.encode(frame.scrambled)
        let marker = Array(image.suffix(8)), ops = Array(image.dropLast(8))
        #expect(try QOICodec.decode(image[...]) == frame.scrambled)
        // Ops inserted before the marker (libqoi ignored them), bytes after it, a cut stream, a run past the last pixel.
        for (bad, why) in [(ops + [0xFE, 1, 2, 3] + marker, "an extra pixel"), (image + [0], "a byte after the marker"),
                           (Array(ops.dropLast(3)) + marker, "a cut stream"), (ops + [0xC0 | 61] + marker, "a run past the end")] {
            #expect(throws: MSAIError.self, "\(why)") { try QOICodec.decode(bad[...]) }
        }
    }
}

/// zlib (RFC 1950) of `bytes` in stored blocks, as PNG's compressed chunks hold it.
private func zlibCompress(_ bytes: [UInt8]) throws -> [UInt8] {
    var out: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
        let n = min(65_535, bytes.count - offset)
        let final: UInt8 = offset + n == bytes.count ? 1 : 0
        out += [final, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8((~n >> 8) & 255)]
        out += bytes[offset..<(offset + n)]
        offset += n
    } while offset < bytes.count
    return out + adler32(bytes)
}

/// A zlib stream that inflates to `count` zero bytes from about count/160 bytes: a zero, then
/// matches of 258 at distance 1 in one fixed-Huffman block (RFC 1951 §3.2.6), what a
/// decompression bomb is made of.
private func zlibBombOfZeros(_ count: Int) -> [UInt8] {
    var out: [UInt8] = [0x78, 0x01]
    var bits: UInt32 = 0, used = 0
    func put(_ value: UInt32, _ n: Int) {  // LSB first
        for i in 0..<n {
            bits |= ((value >> i) & 1) << used
            used += 1
            if used == 8 { out.append(UInt8(bits)); bits = 0; used = 0 }
        }
    }
    func code(_ value: UInt32, _ n: Int) { for i in (0..<n).reversed() { put((value >> i) & 1, 1) } }  // Huffman codes MSB first
    put(1, 1); put(1, 2)  // the last block, fixed Huffman
    code(0x30, 8)  // literal 0
    var left = count - 1
    while left >= 258 { code(0xC5, 8); code(0, 5); left -= 258 }  // length 258 (symbol 285), distance 1
    for _ in 0..<left { code(0x30, 8) }
    code(0, 7)  // end of block
    if used > 0 { out.append(UInt8(bits)) }
    var a: UInt32 = 1, b: UInt32 = 0
    for _ in 0..<count { b = (b + a) % 65_521 }  // a stays 1: every byte is zero
    let adler = (b << 16 | a).bigEndian
    return out + withUnsafeBytes(of: adler) { Array($0) }
}

private func adler32(_ bytes: [UInt8]) -> [UInt8] {
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in bytes {
        a = (a + UInt32(byte)) % 65_521
        b = (b + a) % 65_521
    }
    return withUnsafeBytes(of: (b << 16 | a).bigEndian) { Array($0) }
}
