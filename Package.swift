// swift-tools-version:6.0
import PackageDescription

// Layers, from the inside out:
//   MSAICore      the scheme itself: GF(251), membranes, masking, tau and block scrambling,
//                 metrics, role messages. Foundation only: no C library, no I/O. A package of
//                 its own (Core/), so that its tests build without any C library.
//   MSAICrypto    swift-crypto adapter: the keyed PRF (ChaCha20 keystream), the frame keys (HKDF),
//                 the frame seal (AES-GCM) and the master key that wraps secrets at rest.
//   MSAIBigInt    GMP adapter and the integer VHE mode built on it.
//   MSAIImageIO   TurboJPEG (JPEG) and libpng (PNG with metadata chunks) adapters.
//   MSAIVision    OpenCV DNN adapter: darknet YOLO and the res10 face SSD.
//   MSAIRoles     cloud, data center and edge as separate objects that exchange messages.
//   MSAIStorage   SQLite (GRDB) adapter: the data center's durable store on one machine.
//   MSAIPostgres  PostgreSQL (postgres-nio) adapter: the same store for several data centers.
//   MSAINetwork   the roles as HTTP services (Hummingbird) and their clients (AsyncHTTPClient).
//   MSAIEvaluation  runs the roles in-process and measures (msai evaluate); batch run folders and
//                 their reports (mustache templates).
//   MSAIStreaming the edge's frame pipeline for video and live streams, and its sources
//                 (video files, watched folders, UDP through SwiftNIO).
//   msai          the command line, which wires the rest.
/// The core, from its own package (Core/).
let core: Target.Dependency = .product(name: "MSAICore", package: "Core")

let package = Package(
    name: "msai",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "msai", targets: ["msai"]),
    ],
    dependencies: [
        .package(path: "Core"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"4.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "MSAICrypto",
            dependencies: [core, .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto")]
        ),
        .systemLibrary(name: "CGMP", path: "Sources/CGMP"),
        .target(name: "MSAIBigInt", dependencies: [core, "MSAICrypto", "CGMP"]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        .target(
            name: "CMSAIPNG",
            linkerSettings: [.linkedLibrary("png")]
        ),
        .target(name: "MSAIImageIO", dependencies: [core, "CTurboJPEG", "CMSAIPNG", "CMSAIQOI", "CMSAIJPEG"]),
        .target(name: "CMSAIJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        .target(name: "CMSAIQOI"),
        .target(
            name: "CMSAIBenchCodecs",
            linkerSettings: [.linkedLibrary("zstd"), .linkedLibrary("lz4"), .linkedLibrary("jxl"), .linkedLibrary("jxl_threads")]
        ),
        .target(
            name: "CMSAIOpenCV",
            cxxSettings: [.unsafeFlags(["-I/usr/include/opencv4", "-std=c++17"])],
            linkerSettings: [
                .linkedLibrary("opencv_core"), .linkedLibrary("opencv_imgproc"),
                .linkedLibrary("opencv_dnn"), .linkedLibrary("opencv_objdetect"), .linkedLibrary("opencv_videoio"),
                .linkedLibrary("stdc++"),
            ]
        ),
        .target(name: "MSAIVision", dependencies: [core, "CMSAIOpenCV"]),
        .target(name: "MSAIRoles", dependencies: [core, "MSAICrypto", "MSAIBigInt", "MSAIImageIO"]),
        .target(
            name: "MSAIStorage",
            dependencies: [core, "MSAICrypto", "MSAIImageIO", "MSAIRoles", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "MSAIPostgres",
            dependencies: [core, "MSAICrypto", "MSAIRoles",
                           .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl")]
        ),
        .target(
            name: "MSAINetwork",
            dependencies: [
                core, "MSAICrypto", "MSAIImageIO", "MSAIRoles",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "MSAIEvaluation",
            dependencies: [core, "MSAICrypto", "MSAIImageIO", "MSAIRoles", "MSAIVision",
                           .product(name: "Mustache", package: "swift-mustache")]
        ),
        .target(
            name: "MSAIStreaming",
            dependencies: [
                core, "MSAIRoles", "MSAIImageIO", "MSAIVision",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "msai",
            dependencies: [
                core, "MSAICrypto", "MSAIBigInt", "MSAIImageIO", "MSAIVision", "MSAIRoles", "MSAIEvaluation", "MSAIStorage", "MSAIPostgres", "MSAINetwork", "MSAIStreaming",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What msai reads from peers, as functions of bytes, and the fuzzer that drives them
        // (`make fuzz`; built with -DFUZZING -sanitize=fuzzer,address it is a libFuzzer program).
        .target(name: "MSAIFuzzTargets", dependencies: [core, "MSAICrypto", "MSAIImageIO", "MSAIRoles"]),
        .executableTarget(name: "msai-fuzz", dependencies: ["MSAIFuzzTargets"]),
        // make load: the roles as processes under many edges, slow clients and oversized uploads.
        .executableTarget(
            name: "msai-load",
            dependencies: [core, "MSAICrypto", "MSAIImageIO", "MSAIRoles", "MSAINetwork", "MSAIPostgres",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl")]
        ),
        .executableTarget(
            name: "msai-bench",
            dependencies: [core, "MSAICrypto", "MSAIImageIO", "MSAIVision", "MSAIRoles", "MSAINetwork", "MSAIStorage", "MSAIStreaming", "CMSAIBenchCodecs",
                           .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "MSAITests",
            dependencies: ["msai", core, .product(name: "MSAICoreTesting", package: "Core"), "MSAIFuzzTargets", "MSAICrypto", "MSAIBigInt", "MSAIImageIO", "MSAIVision", "MSAIRoles", "MSAIEvaluation", "MSAIStorage", "MSAIPostgres", "MSAINetwork", "MSAIStreaming",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl")],
            resources: [.copy("Vectors"), .copy("Legacy")]
        ),
    ]
)
