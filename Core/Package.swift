// swift-tools-version:6.0
import PackageDescription

// The MSAI core as a package of its own: GF(251), membranes, masking, τ and block scrambling,
// metrics, the stream state machines and the role messages, with Foundation alone. msai depends
// on it by path; its tests build and run in seconds without OpenCV, GMP, libpng or a server
// (`make test-core`, or `swift test --package-path Core`).
let package = Package(
    name: "MSAICore",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "MSAICore", targets: ["MSAICore"]),
        // Seeded fixtures, a test keystream and a hand-moved clock, for the tests of every layer.
        .library(name: "MSAICoreTesting", targets: ["MSAICoreTesting"]),
    ],
    targets: [
        .target(name: "MSAICore"),
        .target(name: "MSAICoreTesting", dependencies: ["MSAICore"]),
        .testTarget(name: "MSAICoreTests", dependencies: ["MSAICore", "MSAICoreTesting"]),
    ]
)
