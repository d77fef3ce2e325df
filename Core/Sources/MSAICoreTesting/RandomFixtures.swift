import MSAICore

// What the tests of msai's core and of the packages above it share: seeded random images and
// areas, a keystream of their own, and a clock they move by hand (ManualClock.swift). Like
// swift-nio's NIOEmbedded and HummingbirdTesting, a library for tests, linked by no program.

/// A random image; every sample uniform in 0...255 from `random`.
public func randomImage(width: Int, height: Int, channels: Int, using random: inout SplitMix64) -> PixelBuffer {
    let samples = (0..<(width * height * channels)).map { _ in UInt8.random(in: 0...255, using: &random) }
    return try! PixelBuffer(width: width, height: height, channels: channels, samples: samples)
}

/// A random rectangle inside a width × height image, biased to touch the edges often.
public func randomRect(width: Int, height: Int, using random: inout SplitMix64) -> Rect {
    func span(_ side: Int) -> (Int, Int) {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return (0, Int.random(in: 1...side, using: &random))  // touches the start
        case 1: let l = Int.random(in: 1...side, using: &random); return (side - l, l)  // touches the end
        case 2: return (0, side)  // the whole side
        default:
            let start = Int.random(in: 0..<side, using: &random)
            return (start, Int.random(in: 1...(side - start), using: &random))
        }
    }
    let (x, w) = span(width), (y, h) = span(height)
    return Rect(x: x, y: y, width: w, height: h)
}

/// A keystream for tests of what uses one (the scrambler, the membranes), where the stream's
/// cryptographic strength is not what is tested: SplitMix64 seeded from the seed and the domain.
/// Deterministic and domain-separated like the real one (MSAICrypto's ChaCha20), and not secure.
public struct TestKeystream: Keystream {
    private var random: SplitMix64

    public init(seed: [UInt8], domain: KeystreamDomain) throws {
        guard seed.count == 32 else { throw MSAIError.invalidArgument("a keystream seed is 32 bytes, got \(seed.count)") }
        var state: UInt64 = 0xC0FFEE
        for byte in seed + domain.nonceTag { state = (state ^ UInt64(byte)) &* 0x100000001B3 }
        random = SplitMix64(seed: state)
    }

    public mutating func nextBytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }
}
