import CMSAIJPEG
import Foundation
import MSAICore

/// A JPEG as its quantised DCT coefficients (libjpeg's coefficient interface), and how the file
/// held them: what masking in the DCT domain changes, without decoding to pixels and without loss.
public struct JPEGCoefficients: Sendable, Equatable {
    public var image: CoefficientImage
    public let isGrayscale: Bool
    public let wasProgressive: Bool
    public let wasArithmeticCoded: Bool
    public let restartInterval: Int
}

/// Reads a JPEG's coefficients, lets the caller change them, and writes a baseline JPEG with the
/// same components, sampling and quantisation tables and the changed coefficients: the written
/// file decodes to exactly the pixels its coefficients say, so unchanged coefficients decode as
/// the original did. Progressive and arithmetic-coded inputs are read and written back as
/// baseline Huffman; what the coefficient path cannot carry exactly (12-bit samples, CMYK and
/// other colour spaces) is refused by name, before anything is written.
public enum JPEGTranscoder {
    /// `optimizeHuffman` makes Huffman tables for the written coefficients (smaller, a second pass);
    /// without, the specification's standard tables, in one pass.
    public static func transcode(_ jpeg: [UInt8], maxPixels: Int = 1 << 26, optimizeHuffman: Bool = true,
                                 edit: (inout JPEGCoefficients) throws -> Void = { _ in }) throws -> [UInt8] {
        final class Context {
            let edit: (inout JPEGCoefficients) throws -> Void
            var failure: Error?
            init(_ edit: @escaping (inout JPEGCoefficients) throws -> Void) { self.edit = edit }
        }
        return try withoutActuallyEscaping(edit) { edit in
            let context = Context(edit)
            var error = msai_jpeg_error()
            var output: UnsafeMutablePointer<UInt8>?
            var length = 0
            let status = jpeg.withUnsafeBufferPointer { input in
                msai_jpeg_transcode(input.baseAddress, input.count, UInt64(maxPixels), optimizeHuffman ? 1 : 0, { raw, opaque in
                    let context = Unmanaged<Context>.fromOpaque(opaque!).takeUnretainedValue()
                    var image = JPEGCoefficients(raw!.pointee)
                    do {
                        try context.edit(&image)
                        try image.store(into: raw!)
                        return 0
                    } catch {
                        context.failure = error
                        return 1
                    }
                }, Unmanaged.passUnretained(context).toOpaque(), &output, &length, &error)
            }
            if let failure = context.failure { throw failure }
            guard status == 0, let output else {
                let message = withUnsafeBytes(of: error.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                throw MSAIError.invalidArgument("JPEG (DCT domain): \(message)")
            }
            defer { msai_jpeg_free(output) }
            return Array(UnsafeBufferPointer(start: output, count: length))
        }
    }
}

/// What a JPEG's header says, read without its coefficients: its blocks and how it is coded.
public struct JPEGHeader: Sendable, Equatable {
    public let layout: CoefficientLayout
    public let isGrayscale: Bool
    public let isProgressive: Bool
    public let isArithmeticCoded: Bool
    public let restartInterval: Int

    /// Coded as `JPEGTranscoder` writes: baseline Huffman, no restart markers.
    public var isBaselineWithoutRestarts: Bool { !isProgressive && !isArithmeticCoded && restartInterval == 0 }
}

extension JPEGTranscoder {
    /// A JPEG's header, with the same refusals as `transcode` (more than `maxPixels`, not 8-bit,
    /// not grayscale or YCbCr), before anything is allocated for its pixels or coefficients.
    public static func header(of jpeg: [UInt8], maxPixels: Int = 1 << 26) throws -> JPEGHeader {
        var raw = msai_jpeg_coefficients()
        var error = msai_jpeg_error()
        let status = jpeg.withUnsafeBufferPointer { msai_jpeg_read_header($0.baseAddress, $0.count, UInt64(maxPixels), &raw, &error) }
        guard status == 0 else {
            let message = withUnsafeBytes(of: error.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw MSAIError.invalidArgument("JPEG (DCT domain): \(message)")
        }
        let count = Int(raw.components)
        let h = withUnsafeBytes(of: &raw.h_samp) { Array($0.bindMemory(to: Int32.self).prefix(count)) }
        let v = withUnsafeBytes(of: &raw.v_samp) { Array($0.bindMemory(to: Int32.self).prefix(count)) }
        let wide = withUnsafeBytes(of: &raw.blocks_wide) { Array($0.bindMemory(to: Int32.self).prefix(count)) }
        let high = withUnsafeBytes(of: &raw.blocks_high) { Array($0.bindMemory(to: Int32.self).prefix(count)) }
        let layout = CoefficientLayout(
            width: Int(raw.width), height: Int(raw.height), maxHorizontalSampling: Int(raw.max_h_samp), maxVerticalSampling: Int(raw.max_v_samp),
            components: (0..<count).map {
                .init(horizontalSampling: Int(h[$0]), verticalSampling: Int(v[$0]), blocksWide: Int(wide[$0]), blocksHigh: Int(high[$0]))
            })
        return JPEGHeader(layout: layout, isGrayscale: raw.color_space == 1, isProgressive: raw.progressive != 0,
                          isArithmeticCoded: raw.arithmetic != 0, restartInterval: Int(raw.restart_interval))
    }

    /// Whether the `jpeg` mode masks `bytes` in the DCT domain: a JPEG it can read exactly
    /// (8-bit, grayscale or YCbCr, at most `maxPixels`) and stored upright. A JPEG whose EXIF
    /// says to turn it is not: detection must see it upright, and the coefficients are stored
    /// turned; it goes the pixel path, upright, like any other image.
    public static func masksInDCTDomain(_ bytes: [UInt8], maxPixels: Int = 1 << 26) -> Bool {
        ImageFile.sniff(bytes) == .jpeg && ExifOrientation.read(jpeg: bytes) == .up && (try? header(of: bytes, maxPixels: maxPixels)) != nil
    }

    /// A JPEG's coefficients, read and checked (every scan decoded), nothing written.
    public static func read(_ jpeg: [UInt8], maxPixels: Int = 1 << 26) throws -> JPEGCoefficients {
        struct Read: Error { let coefficients: JPEGCoefficients }
        do {
            _ = try transcode(jpeg, maxPixels: maxPixels) { throw Read(coefficients: $0) }
        } catch let read as Read {
            return read.coefficients
        }
        throw MSAIError.invalidArgument("JPEG (DCT domain): the coefficients were not read")
    }
}

extension JPEGCoefficients {
    init(_ raw: msai_jpeg_coefficients) {
        var raw = raw
        let count = Int(raw.components)
        let h = withUnsafeBytes(of: &raw.h_samp) { Array($0.bindMemory(to: Int32.self).prefix(count)) }
        let v = withUnsafeBytes(of: &raw.v_samp) { Array($0.bindMemory(to: Int32.self).prefix(count)) }
        let wide = withUnsafeBytes(of: &raw.blocks_wide) { Array($0.bindMemory(to: Int32.self).prefix(count)) }
        let high = withUnsafeBytes(of: &raw.blocks_high) { Array($0.bindMemory(to: Int32.self).prefix(count)) }
        let quant = withUnsafeBytes(of: &raw.quant) { Array($0.bindMemory(to: UInt16.self)) }
        let arrays = withUnsafeBytes(of: &raw.coefficients) { Array($0.bindMemory(to: UnsafeMutablePointer<Int16>?.self).prefix(count)) }
        let components = (0..<count).map { c in
            CoefficientImage.Component(horizontalSampling: Int(h[c]), verticalSampling: Int(v[c]), blocksWide: Int(wide[c]), blocksHigh: Int(high[c]),
                                       quantization: Array(quant[(c * 64)..<(c * 64 + 64)]),
                                       coefficients: Array(UnsafeBufferPointer(start: arrays[c], count: Int(wide[c]) * Int(high[c]) * 64)))
        }
        image = CoefficientImage(width: Int(raw.width), height: Int(raw.height), maxHorizontalSampling: Int(raw.max_h_samp),
                                 maxVerticalSampling: Int(raw.max_v_samp), components: components)
        isGrayscale = raw.color_space == 1
        wasProgressive = raw.progressive != 0
        wasArithmeticCoded = raw.arithmetic != 0
        restartInterval = Int(raw.restart_interval)
    }

    /// Writes the coefficients back where they were read from; the shapes must not have changed.
    func store(into raw: UnsafeMutablePointer<msai_jpeg_coefficients>) throws {
        try withUnsafeMutableBytes(of: &raw.pointee.coefficients) { pointers in
            let arrays = pointers.bindMemory(to: UnsafeMutablePointer<Int16>?.self)
            for (c, component) in image.components.enumerated() {
                guard component.coefficients.count == component.blocksWide * component.blocksHigh * 64, let target = arrays[c] else {
                    throw MSAIError.invalidArgument("JPEG (DCT domain): component \(c)'s coefficients changed size")
                }
                component.coefficients.withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: $0.count) }
            }
        }
    }
}
