import Crypto
import Foundation
import MSAICore

/// A masked frame as it leaves the edge and as the data center keeps it: the whole encoded
/// frame (its scrambled pixels, its manifest with every area and any composition, any VHE
/// ciphertexts) sealed with AES-256-GCM under the frame's sealing key (`FrameKeys.sealing`).
///
///     "msaiSEAL"  8 bytes
///     version     1 byte (2)
///     τ id        1 byte of length, then that many ASCII bytes
///     nonce       12 bytes (random)
///     ciphertext  the encoded frame, then the 16-byte GCM tag
///
/// Everything before the ciphertext is in the clear, because routing needs it (which τ, so the
/// data center knows which key opens it), and is authenticated as associated data. Nothing
/// else is readable without the key: not a pixel, not an area's position or size, not how many
/// areas there are. What the clear part does not hide: the τ id (random, one per frame) and the
/// frame's length.
public enum SealedFrame {
    public static let magic = Array("msaiSEAL".utf8)
    public static let version: UInt8 = 2
    public static let mediaType = "application/vnd.msai.sealed-frame"
    static let nonceLength = 12
    static let tagLength = 16
    /// τ ids are 32 hex digits; a header may name at most this many bytes.
    static let maximumTauIDLength = 64
    /// The most bytes `header` needs to read a sealed frame's clear part (with room for the tag):
    /// a receiver reads this much before it knows which τ, and so how large the frame may be.
    public static let longestHeader = magic.count + 2 + maximumTauIDLength + nonceLength + tagLength
    /// What sealing adds to an encoded frame, at most.
    public static let longestOverhead = longestHeader

    /// The clear header of a sealed frame.
    public struct Header: Equatable, Sendable {
        public let tauID: String
        /// Length in bytes of the clear part (magic through nonce): the associated data.
        public let length: Int
    }

    /// Whether `bytes` start like a sealed frame.
    public static func isSealed(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

    /// Seals an encoded frame for the τ `tauID` under `key`.
    public static func seal(_ frame: [UInt8], tauID: String, key: SymmetricKey) throws -> [UInt8] {
        let id = Array(tauID.utf8)
        guard !id.isEmpty, id.count <= maximumTauIDLength, id.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw MSAIError.invalidArgument("τ id '\(tauID)' cannot name a sealed frame (1 to \(maximumTauIDLength) printable ASCII bytes)")
        }
        var header = magic
        header.append(version)
        header.append(UInt8(id.count))
        header += id
        let nonce = AES.GCM.Nonce()
        header += Array(nonce)
        let box = try AES.GCM.seal(frame, using: key, nonce: nonce, authenticating: header)
        var out = header
        out.reserveCapacity(header.count + frame.count + tagLength)
        out += box.ciphertext
        out += box.tag
        return out
    }

    /// Reads the clear header without touching the ciphertext.
    public static func header(_ bytes: [UInt8], name: String = "masked frame") throws -> Header {
        guard isSealed(bytes) else {
            throw MSAIError.invalidImage(
                "\(name): not a sealed msai frame (it does not start with 'msaiSEAL'); this data center accepts only sealed frames, which msai 2 edges send")
        }
        var offset = magic.count
        guard bytes.count > offset + 1 else { throw MSAIError.invalidImage("\(name): sealed frame is truncated in its header") }
        guard bytes[offset] == version else {
            throw MSAIError.invalidMetadata("\(name): sealed frame version \(bytes[offset]); this msai reads version \(version)")
        }
        let idLength = Int(bytes[offset + 1])
        offset += 2
        guard (1...maximumTauIDLength).contains(idLength) else {
            throw MSAIError.invalidMetadata("\(name): sealed frame names a τ id of \(idLength) bytes")
        }
        guard bytes.count >= offset + idLength + nonceLength + tagLength else {
            throw MSAIError.invalidImage("\(name): sealed frame is truncated (\(bytes.count) bytes)")
        }
        let id = bytes[offset..<(offset + idLength)]
        guard id.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw MSAIError.invalidMetadata("\(name): sealed frame's τ id is not printable ASCII")
        }
        return Header(tauID: String(decoding: id, as: UTF8.self), length: offset + idLength + nonceLength)
    }

    /// Opens a sealed frame with `key`: the encoded frame, or an error naming the seal when the
    /// key is not the frame's or any byte (header included) was changed.
    public static func open(_ bytes: [UInt8], key: SymmetricKey, name: String = "masked frame") throws -> [UInt8] {
        let header = try header(bytes, name: name)
        let nonceStart = header.length - nonceLength, tagStart = bytes.count - tagLength
        do {
            let box = try AES.GCM.SealedBox(
                nonce: try AES.GCM.Nonce(data: bytes[nonceStart..<header.length]),
                ciphertext: bytes[header.length..<tagStart], tag: bytes[tagStart...])
            return Array(try AES.GCM.open(box, using: key, authenticating: bytes[..<header.length]))
        } catch {
            throw MSAIError.integrityFailure(
                "\(name): its seal does not open (AES-GCM authentication failed): the frame was altered, or sealed under another τ")
        }
    }
}
