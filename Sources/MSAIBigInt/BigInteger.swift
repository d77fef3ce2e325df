import CGMP

/// An arbitrary-precision integer owned by a GMP mpz_t on the heap.
///
/// Each value lives behind its own pointer, initialised in `init` and cleared in `deinit`;
/// an `__mpz_struct` is never copied by value (copies would share limbs). Operations write
/// into an existing value, so hot loops reuse a few of these and allocate nothing per sample.
public final class BigInteger {
    let value: UnsafeMutablePointer<__mpz_struct>

    public init(_ n: UInt64 = 0) {
        value = .allocate(capacity: 1)
        __gmpz_init(value)
        set(n)
    }

    public convenience init(_ other: BigInteger) {
        self.init()
        __gmpz_set(value, other.value)
    }

    /// Parses a decimal (or, with radix, other base) integer.
    public convenience init?(_ text: String, radix: Int32 = 10) {
        self.init()
        guard __gmpz_set_str(value, text, radix) == 0 else { return nil }
    }

    deinit {
        __gmpz_clear(value)
        value.deallocate()
    }

    public func set(_ n: UInt64) {
        __gmpz_set_ui(value, UInt(n))
    }

    public func set(_ other: BigInteger) { __gmpz_set(value, other.value) }

    /// Sets from little-endian bytes (unsigned).
    public func set(littleEndian bytes: UnsafeRawBufferPointer) {
        __gmpz_import(value, bytes.count, -1, 1, -1, 0, bytes.baseAddress)
    }

    /// Sets from big-endian bytes (unsigned).
    public func set(bigEndian bytes: [UInt8]) {
        bytes.withUnsafeBytes { __gmpz_import(value, $0.count, 1, 1, 1, 0, $0.baseAddress) }
    }

    /// Writes |self| as exactly `into.count` little-endian bytes; false if it does not fit.
    @discardableResult
    public func export(littleEndian into: UnsafeMutableRawBufferPointer) -> Bool {
        let needed = (__gmpz_sizeinbase(value, 2) + 7) / 8
        guard needed <= into.count else { return false }
        into.initializeMemory(as: UInt8.self, repeating: 0)
        var written = 0
        __gmpz_export(into.baseAddress, &written, -1, 1, -1, 0, value)
        return true
    }

    /// Big-endian unsigned bytes, no leading zeros (empty for zero).
    public var bigEndianBytes: [UInt8] {
        let count = (__gmpz_sizeinbase(value, 2) + 7) / 8
        var out = [UInt8](repeating: 0, count: count)
        var written = 0
        out.withUnsafeMutableBytes { _ = __gmpz_export($0.baseAddress, &written, 1, 1, 1, 0, value) }
        return Array(out.prefix(written))
    }

    public var signum: Int { Int(msai_mpz_sgn(value)) }
    public var bitWidth: Int { Int(__gmpz_sizeinbase(value, 2)) }
    public var description: String {
        let chars = UnsafeMutablePointer<CChar>.allocate(capacity: __gmpz_sizeinbase(value, 10) + 2)
        defer { chars.deallocate() }
        __gmpz_get_str(chars, 10, value)
        return String(cString: chars)
    }
    /// The low 64 bits of |self|.
    public var low64: UInt64 { UInt64(__gmpz_get_ui(value)) }
    public var isProbablePrime: Bool { __gmpz_probab_prime_p(value, 40) > 0 }

    public func compare(_ other: BigInteger) -> Int { Int(__gmpz_cmp(value, other.value)) }

    // In-place arithmetic: self = a ∘ b. Arguments may alias self.
    public func add(_ a: BigInteger, _ b: BigInteger) { __gmpz_add(value, a.value, b.value) }
    public func sub(_ a: BigInteger, _ b: BigInteger) { __gmpz_sub(value, a.value, b.value) }
    public func add(_ a: BigInteger, _ b: UInt64) { __gmpz_add_ui(value, a.value, UInt(b)) }
    public func sub(_ a: BigInteger, _ b: UInt64) { __gmpz_sub_ui(value, a.value, UInt(b)) }
    public func mul(_ a: BigInteger, _ b: BigInteger) { __gmpz_mul(value, a.value, b.value) }
    public func mul(_ a: BigInteger, _ b: UInt64) { __gmpz_mul_ui(value, a.value, UInt(b)) }
    /// self = a mod m, in 0..<m.
    public func mod(_ a: BigInteger, _ m: BigInteger) { __gmpz_mod(value, a.value, m.value) }
    /// self = ⌊a / b⌋.
    public func floorDivide(_ a: BigInteger, _ b: BigInteger) { __gmpz_fdiv_q(value, a.value, b.value) }
    /// self = a⁻¹ mod m; false when a has no inverse.
    public func invert(_ a: BigInteger, modulo m: BigInteger) -> Bool { __gmpz_invert(value, a.value, m.value) != 0 }
}
