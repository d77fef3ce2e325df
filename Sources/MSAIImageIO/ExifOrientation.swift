import MSAICore

/// Reads the Orientation tag (0x0112) from a JPEG's EXIF segment (APP1, "Exif\0\0", then a TIFF
/// header and IFD0), without any library: libjpeg-turbo decodes pixels as stored and leaves
/// orientation to the caller.
///
/// Every offset is checked against the segment before it is read, and the walk stops at the
/// first scan (SOS): a damaged or hostile header gives `.up` (the pixels as stored), never a
/// read out of bounds. Values outside 1...8 count as `.up`, as the TIFF spec's readers do.
public enum ExifOrientation {
    public static func read(jpeg bytes: [UInt8]) -> ImageOrientation {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return .up }
        var offset = 2
        // Markers until the first scan; each segment is FF, a marker byte, a 2-byte length.
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF else { return .up }
            let marker = bytes[offset + 1]
            if marker == 0xFF { offset += 1; continue }  // fill byte
            if marker == 0xDA || marker == 0xD9 { return .up }  // start of scan, end of image
            if (0xD0...0xD7).contains(marker) || marker == 0x01 { offset += 2; continue }  // no length
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { return .up }
            let segment = bytes[(offset + 4)..<(offset + 2 + length)]
            if marker == 0xE1, let orientation = orientation(exif: segment) { return orientation }
            offset += 2 + length
        }
        return .up
    }

    /// The orientation in an APP1 payload, or nil when it is not EXIF or has no such tag.
    static func orientation(exif segment: ArraySlice<UInt8>) -> ImageOrientation? {
        let exif = Array(segment)
        guard exif.count >= 14, exif[0..<6].elementsEqual([0x45, 0x78, 0x69, 0x66, 0, 0]) else { return nil }
        let tiff = Array(exif[6...])
        let bigEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x4D, 0x4D): bigEndian = true  // "MM"
        case (0x49, 0x49): bigEndian = false  // "II"
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return bigEndian ? Int(tiff[at]) << 8 | Int(tiff[at + 1]) : Int(tiff[at + 1]) << 8 | Int(tiff[at])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return bigEndian ? a << 16 | b : b << 16 | a
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for entry in 0..<min(count, 512) {
            let at = ifd + 2 + entry * 12
            guard let tag = u16(at) else { return nil }
            guard tag == 0x0112 else { continue }
            // Type SHORT (3), count 1: the value sits in the first two bytes of the value field.
            guard u16(at + 2) == 3, u32(at + 4) == 1, let value = u16(at + 8) else { return nil }
            return ImageOrientation(rawValue: value) ?? .up
        }
        return nil
    }
}
