import Foundation
import MSAIFuzzTargets

// The fuzzer for what msai reads from peers (`make fuzz`). Built with -DFUZZING and
// -sanitize=fuzzer,address it is a libFuzzer program: MSAI_FUZZ_TARGET names the target (see
// FuzzTarget). Built plainly, it writes the seed corpus and replays inputs, for `make fuzz` and
// `make test`.

#if FUZZING
nonisolated(unsafe) private var target = FuzzTarget.mjpeg

/// libFuzzer's driver, run from our own entry point (SwiftPM names an executable's entry
/// msai_fuzz_main and makes it `main`, so libFuzzer's own `main` is not linked).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("msai_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let name = ProcessInfo.processInfo.environment["MSAI_FUZZ_TARGET"] ?? ""
    guard let chosen = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("MSAI_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'\n".utf8))
        return 64
    }
    target = chosen
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzzerTestOneInput($0, $1) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}
#else
@main
struct FuzzTool {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "corpus" where arguments.count == 2:
            // msai-fuzz corpus DIR: DIR/TARGET/seed-N for every target.
            for target in FuzzTarget.allCases {
                let folder = URL(fileURLWithPath: arguments[1]).appendingPathComponent(target.rawValue)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for (i, seed) in try await target.seeds().enumerated() {
                    try Data(seed).write(to: folder.appendingPathComponent("seed-\(i)"))
                }
            }
        case "replay" where arguments.count >= 3:
            // msai-fuzz replay TARGET FILE-OR-FOLDER…: runs the target on each input.
            guard let target = FuzzTarget(rawValue: arguments[1]) else { fail("unknown target \(arguments[1])") }
            var count = 0
            for path in arguments.dropFirst(2) {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
                let files = isFolder.boolValue
                    ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { (path as NSString).appendingPathComponent($0) }
                    : [path]
                for file in files {
                    target.run([UInt8](try Data(contentsOf: URL(fileURLWithPath: file))))
                    count += 1
                }
            }
            print("\(target.rawValue): \(count) input(s) replayed")
        default:
            fail("usage: msai-fuzz corpus DIR | msai-fuzz replay TARGET FILE-OR-FOLDER...")
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("msai-fuzz: \(message)\n".utf8))
        exit(64)
    }
}
#endif
