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
            MaskingMode.vhe.rawValue:
                "the paper's integer VHE through GMP, for study only: 16 bytes of ciphertext per sample, and one frame's ciphertexts give away every sample to whoever opens its seal.",
        ]
    }
}

/// `--frame-format png|qoi`, checked by the argument parser.
extension MaskedFrameCodec.Format: ExpressibleByArgument {}
