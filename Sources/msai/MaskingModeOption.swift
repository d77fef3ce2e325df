import ArgumentParser
import MSAICore

extension MaskingMode: ExpressibleByArgument {
    /// The help of every command's --mode: what each mode protects, and what it does not.
    static let help = ArgumentHelp(
        "Membrane mode: hardened (the default), gf251 or vhe.",
        discussion: """
            hardened  the default. A pad from the data center's tau seed is added mod 256, then the cloud's
                      membrane is applied: no sample value stays as it is, and the cloud's membrane alone
                      unmasks nothing. Bit-exact.
            gf251     the paper's map, to reproduce its tables. Samples that are 0 or 251..255 stay as they
                      are, and the cloud, which made the membrane, unmasks any area whose masked pixels it
                      gets to see. Bit-exact.
            vhe       the paper's integer VHE form through GMP, for study only: 16 bytes of ciphertext per
                      sample, and one frame's ciphertexts give away k, hence every sample, to whoever opens
                      the frame's seal.
            """,
        valueName: "mode")
}
