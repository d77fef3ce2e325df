import Foundation
import MSAICore
import MSAICoreTesting
import Testing

/// GF(251) against an independent computation (Tests/MSAITests/Vectors, made by Python).
@Suite struct FieldTests {
    let v = try! CoreVectors.load()

    @Test func gf251InverseTableMatchesIndependentComputation() {
        #expect(GF251.inverse == v.gf251_inverse)
        #expect(GF251.inverse[2] == 126)  // 2 · 126 = 252 ≡ 1
        #expect(GF251.inverse[250] == 250)  // (−1)² = 1
        for a in 1..<251 { #expect(GF251.multiply(UInt8(a), GF251.inverse[a]) == 1) }
    }

    @Test func maskTableRowsAreBijectionsAndInverseRowsUndoThem() {
        for lambda in 1..<251 {
            let row = GF251.maskTable[(lambda * 256)..<(lambda * 256 + 256)]
            #expect(Set(row).count == 256)
            let inverse = Int(GF251.inverse[lambda])
            for o in 0..<256 {
                let masked = Int(GF251.maskTable[lambda * 256 + o])
                #expect(Int(GF251.maskTable[inverse * 256 + masked]) == o)
            }
        }
    }
}
