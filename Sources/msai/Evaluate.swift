import ArgumentParser
import Foundation
import MSAICore
import MSAIEvaluation
import MSAIImageIO
import MSAIVision

struct Evaluate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mask, scramble and recover images through the three roles in-process, and measure.",
        discussion: """
            For each image, detection finds the sensitive areas (or --region gives them), the edge \
            masks them with fresh membranes from the cloud and scrambles the frame with a fresh tau \
            from the data center, and the data center recovers it. The cloud, data center and edge \
            are separate objects that exchange only the scheme's messages; nothing goes over a network.

            Writes, for each image NAME, beside it (or into --out):
              NAME.sealed         the frame as it leaves the edge: only its tau id readable
              NAME.masked.png     inside the seal: the masked, scrambled frame and metadata
              NAME.areas.png      the masked view (areas masked, unscrambled): a viewer's
              NAME.recovered.png  what the data center recovered for a recoverer
              NAME.metrics.json   every figure (NPCR, UACI, Wu tests, PSNR, entropy, ...)
            An image whose processing fails leaves none of its files behind.

            Examples:
              msai evaluate Datasets/lena.png Datasets/zidane.jpg --out runs/x
              msai evaluate Datasets --classes face,person --block 16
              msai evaluate Datasets/car_plate.jpg --region 120,340,200,60 --json
            """)

    @Argument(help: "Images (JPEG or PNG), or folders whose JPEG and PNG files are all evaluated.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Output folder (created if missing; default: beside each input).")
    var out: String?

    @Option(help: MaskingMode.help)
    var mode: MaskingMode = .standard

    @Option(parsing: .unconditional, help: "Block size of the scrambling, in pixels.")
    var block: Int = 8

    @Option(name: .customLong("region"), parsing: .unconditionalSingleValue, help: ArgumentHelp("Mask this area (x,y,w,h) instead of detecting; repeatable.", valueName: "x,y,w,h"))
    var regions: [String] = []

    @OptionGroup(title: "Privacy policy (what is detected and masked)")
    var policy: PolicyOptions

    @Flag(help: "Print each image's metrics as JSON (one object per line) instead of a table.")
    var json = false

    func validate() throws {
        guard (1...BlockLayout.maximumBlockSize).contains(block) else {
            throw ValidationError("--block: block size must lie in 1...\(BlockLayout.maximumBlockSize), got \(block)")
        }
        do {
            _ = try regions.map(Rect.init(parsing:))
            _ = try policy.resolveForResearch()
        } catch let error as MSAIError {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let maskingMode = mode
        let manualRegions = try regions.map(Rect.init(parsing:))
        let privacyPolicy = try policy.resolveForResearch()
        let files: [String]
        do {
            files = try expandImageInputs(inputs, oneOutputFolder: out != nil)
            if let out { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
        } catch let error as MSAIError {
            throw fail(error)
        } catch {
            throw fail(MSAIError.io("cannot create output folder \(out ?? ""): \(error.localizedDescription)"))
        }

        let selector: AreaSelector
        do {
            selector = manualRegions.isEmpty ? try policy.selector(for: privacyPolicy) : .manual(manualRegions)
        } catch let error as MSAIError {
            throw fail(error)
        }
        let evaluator = Evaluator(mode: maskingMode, blockSize: block)
        var failures = 0
        for file in files {
            do {
                // Like anonymisation tools, the outputs go beside the input unless --out says where.
                let folder = (file as NSString).deletingLastPathComponent
                let outFolder = out ?? (folder.isEmpty ? "." : folder)
                try await evaluateOne(file, evaluator: evaluator, selector: selector, outFolder: outFolder)
            } catch let error as MSAIError {
                printError(error.description)
                failures += 1
            }
        }
        if failures > 0 {
            printError("\(failures) of \(files.count) image(s) failed; their outputs were not written")
            throw ExitStatus.partial
        }
    }

    private func evaluateOne(_ file: String, evaluator: Evaluator, selector: AreaSelector, outFolder: String) async throws {
        let (image, jpeg) = try evaluator.input(file)
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let detectStart = ContinuousClock.now
        let decision = try selector.select(image)
        let detectMs = milliseconds(ContinuousClock.now - detectStart)
        let isManual: Bool
        if case .manual = selector { isManual = true } else { isManual = false }
        let result = try await evaluator.evaluate(
            name: URL(fileURLWithPath: file).lastPathComponent, image: image, jpeg: jpeg, regions: decision.areas,
            detectMilliseconds: isManual ? 0 : detectMs, decision: (decision.outcome.rawValue, decision.reason))
        // Encode everything first: a failure here writes nothing.
        try writeAll([
            ("\(name).sealed", result.masked.sealed),
            // A JPEG frame's masked, scrambled JPEG (its manifest is in the sealed file).
            result.masked.scrambledJPEG.map { ("\(name).masked.jpg", $0) } ?? ("\(name).masked.png", result.masked.encoded),
            ("\(name).areas.png", try PNGCodec.encode(result.masked.maskedAreas)),
            ("\(name).recovered.png", try PNGCodec.encode(result.recovered)),
            ("\(name).metrics.json", Array(result.report.json())),
        ], into: URL(fileURLWithPath: outFolder))
        if json {
            print(String(decoding: result.report.json(pretty: false), as: UTF8.self))
        } else {
            print(ReportTable.render(result.report, outFolder: outFolder, name: name))
        }
    }
}

