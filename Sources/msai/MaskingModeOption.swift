import ArgumentParser
import MSAICore
import MSAIRoles

extension MaskingMode: @retroactive ExpressibleByArgument {
    /// The help of every command's --mode; each mode's line says what it protects and what not.
    static let help = ArgumentHelp("How areas are masked.", valueName: "mode")

    public static var allValueDescriptions: [String: String] {
        [
            MaskingMode.standard.rawValue:
                "a pad from the data center's tau seed, then the cloud's membrane: no sample value stays as it is, and the membrane alone unmasks nothing. Bit-exact.",
            MaskingMode.gf251.rawValue:
                "the paper's map, to reproduce its tables. Samples 0 and 251...255 stay as they are, and the cloud, which made the membrane, unmasks any area whose masked pixels it sees. Bit-exact.",
            MaskingMode.jpeg.rawValue:
                "JPEG inputs in the DCT domain (other images go hardened): each coefficient of an area's 8x8 blocks shifted by the pad and the membrane, whole MCUs moved by tau; the frame stays a JPEG of about the camera's size, and recovery gives the camera's pixels exactly. It does not hide which MCUs are masked, and drops the camera's EXIF.",
            MaskingMode.vhe.rawValue:
                "the paper's integer VHE through GMP, for study only: 16 bytes of ciphertext per sample, and one frame's ciphertexts give away every sample to whoever opens its seal.",
        ]
    }
}

/// `--frame-format png|qoi`, checked by the argument parser (a JPEG frame comes from `--mode jpeg`).
extension MaskedFrameCodec.Format: ExpressibleByArgument {
    public init?(argument: String) {
        guard let format = Self(rawValue: argument), format != .jpeg else { return nil }
        self = format
    }

    public static var allValueStrings: [String] { [Self.png.rawValue, Self.qoi.rawValue] }
}
