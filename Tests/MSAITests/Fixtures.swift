import Foundation
import MSAICore
import MSAIImageIO

enum ImageFileFixture {
    static func lena() throws -> PixelBuffer { try ImageFile.read(dataset("lena.png")) }
}
