import Foundation
import MSAIBigInt
import MSAICore
import MSAICrypto
import MSAIImageIO
import Synchronization

/// The data center: issues a single-use tau per frame, holds the membrane keys the cloud
/// deposits, accepts sealed frames, and is the one party that can recover them.
///
/// It keeps each frame sealed as it arrived and never stores a recovered image. Two kinds of
/// read, each audited: the **masked view** (unscrambled, areas still masked: what an operator
/// watches) and the **original** (areas unmasked too), for which the reader must give a reason.
/// A frame whose seal, metadata or keys do not check out is refused before anything is used up.
public final class DataCenter: MembraneKeyEscrow, ScrambleService, FrameSink, Sendable {
    /// A frame as read back: its pixels, its manifest and what reading it cost.
    public struct Recovery: Sendable {
        public let pixels: PixelBuffer
        public let manifest: FrameManifest
        public let timings: StepTimings
        /// A JPEG frame's recovered JPEG (the camera's coefficients, so the camera's pixels; a
        /// masked view's areas still masked); nil for pixel frames.
        public var jpeg: [UInt8]? = nil
    }

    public let store: DataCenterStore
    // The store guards itself; the generator is the one mutable thing here.
    private let random: Mutex<AnyRandomNumberGenerator>
    /// Largest tau the data center will issue, in pixels (`max_frame_pixels`): the largest frame
    /// it accepts, which sizes what a peer may send it.
    public let maximumFramePixels: Int
    /// 16 MiP: 4096 × 4096, a 12-megapixel camera or 4K video.
    public static let defaultMaximumFramePixels = 1 << 24
    /// How long an issued tau may wait for its frame. Older unused taus (and membrane keys) are
    /// refused and purged, so a flood of requests cannot grow the store without bound.
    public let tauLifetime: Duration
    /// When unused τs and keys were last purged (`purgeExpired`), and how often they are.
    private let lastPurge = Mutex(Date.distantPast)
    private let purgeEvery: Duration

    /// Control characters, and the separators that start a new line in an editor or a log viewer
    /// (U+0085, U+2028, U+2029) though they are not controls: a reason must not forge a line.
    static func breaksALine(_ scalar: Unicode.Scalar) -> Bool {
        CharacterSet.controlCharacters.contains(scalar) || [0x85, 0x2028, 0x2029].contains(scalar.value)
            || [.lineSeparator, .paragraphSeparator, .format].contains(scalar.properties.generalCategory)
    }

    /// The longest reason a recoverer may give.
    public static let maximumReasonLength = 500

    /// The settings are fixed for the data center's life: it is shared by every request at once.
    public init(store: DataCenterStore = InMemoryDataCenterStore(),
                random: sending some RandomNumberGenerator = SystemRandomNumberGenerator(),
                maximumFramePixels: Int = DataCenter.defaultMaximumFramePixels, tauLifetime: Duration = .seconds(600),
                purgeEvery: Duration = .seconds(10)) {
        self.purgeEvery = purgeEvery
        self.store = store
        self.random = Mutex(AnyRandomNumberGenerator(random))
        self.maximumFramePixels = maximumFramePixels
        self.tauLifetime = tauLifetime
    }

    // MARK: from the cloud

    public func depositKey(_ record: MembraneKeyRecord, device: String?) throws {
        try depositKey(record, device: device, actor: "cloud")
    }

    /// The same, audited as `actor`'s deposit.
    public func depositKey(_ record: MembraneKeyRecord, device: String?, actor: String) throws {
        try purgeExpired()
        try store.insertKey(record, device: device, audit: AuditEntry(
            actor: actor, action: "deposited membrane key \(record.id.rawValue)" + (device.map { " for device \($0)" } ?? ""), frameID: nil))
    }

    // MARK: from the edge

    public func issueTau(_ request: TauRequest) throws -> TauGrant {
        try issueTau(request, device: nil, actor: "edge")
    }

    /// A τ for `device`'s next frame (only a frame of that device may use it), audited.
    public func issueTau(_ request: TauRequest, device: String?, actor: String) throws -> TauGrant {
        let layout = try BlockLayout(width: request.width, height: request.height, blockSize: request.blockSize)
        guard request.width.multipliedReportingOverflow(by: request.height).partialValue <= maximumFramePixels else {
            throw MSAIError.invalidArgument(
                "frame \(request.width)x\(request.height) is larger than this data center accepts (\(maximumFramePixels) pixels: max_frame_pixels)")
        }
        let (id, seed) = random.withLock { (Hex.encode(randomBytes(16, using: &$0)), randomBytes(32, using: &$0)) }
        let grant = try TauGrant(id: id, seed: seed, layout: layout)
        try purgeExpired()
        try store.insertTau(grant, device: device, audit: AuditEntry(actor: actor, action: "issued tau \(id)", frameID: nil))
        return grant
    }

    /// Forgets the τs and membrane keys no frame used within their lifetime, at most every
    /// `purgeEvery` (ten seconds): whether the edges ask for τs or the cloud only deposits keys, neither can grow
    /// the store without bound.
    private func purgeExpired(now: Date = Date()) throws {
        let due = lastPurge.withLock { last in
            guard now.timeIntervalSince(last) >= milliseconds(purgeEvery) / 1000 else { return false }
            last = now
            return true
        }
        if due { try store.purgeUnused(issuedBefore: now.addingTimeInterval(-milliseconds(tauLifetime) / 1000)) }
    }

    /// What a VHE frame's ciphertexts may add to it over the network (16 bytes a masked sample:
    /// areas of about 87,000 RGB samples). VHE is for study; `msai evaluate` has no such bound.
    public static let ciphertextAllowance = 4 << 20

    /// The most bytes a sealed frame under τ `tauID` can take: its pixels at 4 bytes each (QOI's
    /// worst; PNG's is less), the manifest, VHE ciphertexts up to `ciphertextAllowance`, the seal.
    /// A receiver asks before it reads a frame's body, so that no peer makes it hold more than
    /// the frame it was given a τ for. Throws for a τ not issued here, issued to another device
    /// than `device`, or used.
    public func sealedFrameLimit(tauID: String, device: String?) throws -> Int {
        guard let tau = try store.tau(tauID) else {
            throw MSAIError.unknownKey("masked frame names tau \(tauID), which this data center did not issue")
        }
        guard tau.device == device else { throw MSAIError.refused(status: 403, message: "tau \(tauID) was issued to another device") }
        guard !tau.used, tau.seed != nil else { throw MSAIError.alreadyUsed(.tau(tauID)) }
        return Self.bytesPerPixelAllowance * tau.layout.width * tau.layout.height + (1 << 20) + Self.ciphertextAllowance
            + SealedFrame.longestOverhead
    }

    /// What a frame may take per pixel: QOI's worst is 4 bytes; a 4:4:4 JPEG whose every
    /// coefficient is masked over the whole baseline range, written with Huffman tables made for
    /// it as the edge writes, about 11 bits a coefficient (a size category of about 2 bits and
    /// about 9 bits of magnitude), 4.1 bytes a pixel.
    static let bytesPerPixelAllowance = 5

    /// The `jpeg` mode's cheap checks of a JPEG container against its τ, before anything is used
    /// up or any coefficient read: the JPEG's header is the τ's size, coded as edges write
    /// (baseline Huffman, no restart markers), and its areas lie in it (the manifest's check).
    private func acceptJPEGHeader(_ inner: [UInt8], tau: TauRecord) throws -> (manifest: FrameManifest, layout: CoefficientLayout, jpeg: [UInt8]) {
        let frame = try jpegFrame(inner, name: "masked frame", beforeManifest: { header in
            guard tau.layout.width == header.layout.width, tau.layout.height == header.layout.height else {
                throw MSAIError.shapeMismatch(
                    "tau \(tau.id) was issued for a \(tau.layout.width)x\(tau.layout.height) frame, but the JPEG is \(header.layout.width)x\(header.layout.height)")
            }
            guard header.isBaselineWithoutRestarts else {
                throw MSAIError.invalidImage("a masked JPEG is baseline Huffman without restart markers, as edges write it; this one is not")
            }
        })
        return (frame.manifest, frame.header.layout, frame.jpeg)
    }

    /// A JPEG container opened: its JPEG, the JPEG's header (read within `max_frame_pixels`,
    /// before anything is allocated for it) and its manifest, whose areas are all non-empty jpeg
    /// areas inside the JPEG, of a frame that is not a patch. `beforeManifest` checks the header first.
    private func jpegFrame(_ inner: [UInt8], name: String, beforeManifest: (JPEGHeader) throws -> Void = { _ in })
        throws -> (jpeg: [UInt8], header: JPEGHeader, manifest: FrameManifest)
    {
        let parts = try MaskedFrameCodec.jpegParts(inner, name: name)
        let header = try JPEGTranscoder.header(of: parts.jpeg, maxPixels: maximumFramePixels)
        try beforeManifest(header)
        let manifest = try FrameManifest.decode(parts.manifestJSON, imageWidth: header.layout.width, imageHeight: header.layout.height,
                                                imageChannels: header.isGrayscale ? 1 : 3)
        guard manifest.composition == nil, manifest.areas.allSatisfy({ $0.mode == .jpeg && !$0.rect.isEmpty }) else {
            throw MSAIError.invalidMetadata("\(name): a JPEG frame's areas are all non-empty jpeg areas, and it is never a patch frame")
        }
        return (parts.jpeg, header, manifest)
    }

    /// The `jpeg` mode's last check, once the keys check out: every scan of the JPEG decodes, and
    /// every coefficient, masked or not (τ has moved them), lies in the range the frame says it
    /// was masked within, or unmasking it would fail on read (the edge chose the range on the
    /// same test). Then nothing on read can fail: the layout, τ, the keys' shapes and the ranges
    /// are all what recovery will find.
    private func acceptJPEGCoefficients(_ jpeg: [UInt8], manifest: FrameManifest, layout: CoefficientLayout) throws {
        let coefficients = try JPEGTranscoder.read(jpeg, maxPixels: maximumFramePixels).image
        guard coefficients.layout == layout else { throw MSAIError.invalidImage("the JPEG's coefficients do not fit its header") }
        guard manifest.areas.isEmpty || CoefficientMasking.fitsRanges(coefficients, bounded: manifest.coefficientRange != .baseline) else {
            throw MSAIError.invalidImage("a coefficient of the JPEG lies outside the range its frame says it was masked within: it could not be unmasked")
        }
    }

    /// Checks and stores a sealed frame; its tau and membranes are then used up.
    public func submit(maskedFrame: [UInt8]) throws -> FrameReceipt {
        try submit(maskedFrame: maskedFrame, actor: "edge", device: nil)
    }

    /// In-process there is no lost acknowledgement to make up for, so `expected` is not needed.
    public func submit(maskedFrame: [UInt8], expected: FrameReceipt) throws -> FrameReceipt {
        try submit(maskedFrame: maskedFrame, actor: "edge", device: nil)
    }

    /// The same, from `device` (its τ, its membranes and its background must all be that
    /// device's), recording who sent it in the audit log.
    public func submit(maskedFrame sealed: [UInt8], actor: String, device: String?) throws -> FrameReceipt {
        let (manifest, membranes) = try accept(sealed, from: device)
        let id = manifest.tauID
        try store.commit(StoredFrame(id: id, sealed: sealed, manifest: manifest, receivedAt: Date(), device: device), tau: id,
                         membranes: membranes, actor: actor)
        return FrameReceipt(frameID: id, width: manifest.recoveredWidth, height: manifest.recoveredHeight, areaCount: manifest.areas.count)
    }

    // MARK: for readers

    /// The masked view of a stored frame: unscrambled, its areas still masked. Audited.
    public func maskedView(_ id: String, actor: String) throws -> Recovery {
        let recovery = try read(id, unmask: false)
        try audit(recovery, actor: actor, action: "viewed masked", reason: nil)
        return recovery
    }

    /// The original of a stored frame, bit for bit. Audited with `reason`, which must be given.
    public func recoverOriginal(_ id: String, actor: String, reason: String) throws -> Recovery {
        let reason = try Self.checkReason(reason)
        let recovery = try read(id, unmask: true)
        try audit(recovery, actor: actor, action: "recovered", reason: reason)
        return recovery
    }

    /// A read names the frame, and for a patch frame also its background, whose pixels it shows.
    private func audit(_ recovery: Recovery, actor: String, action: String, reason: String?) throws {
        let id = recovery.manifest.tauID
        try store.appendAudit(AuditEntry(actor: actor, action: action, frameID: id, reason: reason))
        if let base = recovery.manifest.composition?.base {
            try store.appendAudit(AuditEntry(actor: actor, action: "\(action) as the background of \(id)", frameID: base, reason: reason))
        }
    }

    /// A page of the stored frames (`DataCenterStore.summaries`), audited as `actor`'s listing.
    public func listFrames(after cursor: String?, limit: Int, actor: String) throws -> [FrameSummary] {
        let page = try store.summaries(after: cursor, limit: limit)
        try store.appendAudit(AuditEntry(actor: actor, action: "listed \(page.count) frame(s)", frameID: nil))
        return page
    }

    /// A page of the audit log, audited as `actor`'s reading (after the page is read: the page
    /// does not hold its own reading).
    public func readAudit(after seq: Int, limit: Int, actor: String) throws -> [AuditEntry] {
        let page = try store.auditLog(after: seq, limit: limit)
        try store.appendAudit(AuditEntry(actor: actor, action: "read \(page.count) audit entries", frameID: nil))
        return page
    }

    /// The sealed frame as it arrived (readable by nobody without the data center's keys). Audited.
    public func sealedFrame(_ id: String, actor: String) throws -> [UInt8] {
        guard let frame = try store.frame(id) else { throw MSAIError.noSuchFrame(id) }
        try store.appendAudit(AuditEntry(actor: actor, action: "read sealed", frameID: id))
        return frame.sealed
    }

    /// Deletes a frame with its τ seed and membrane keys, so nothing can recover it. Audited.
    public func deleteFrame(_ id: String, actor: String, reason: String) throws {
        guard try store.deleteFrame(id, actor: actor, reason: try Self.checkReason(reason)) else {
            throw MSAIError.noSuchFrame(id)
        }
    }

    /// Retention (keep what matters, not forever): deletes the frames older than `age`, each
    /// with its keys; returns how many. The audit log keeps a line saying so.
    @discardableResult
    public func applyRetention(keeping age: Duration, now: Date = Date()) throws -> Int {
        try store.deleteFrames(receivedBefore: now.addingTimeInterval(-milliseconds(age) / 1000))
    }

    static func checkReason(_ reason: String) throws -> String {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw MSAIError.invalidArgument("recovering an original needs a reason (it goes into the audit log)")
        }
        guard trimmed.count <= maximumReasonLength, !trimmed.unicodeScalars.contains(where: Self.breaksALine) else {
            throw MSAIError.invalidArgument("a reason is one line of at most \(maximumReasonLength) characters")
        }
        return trimmed
    }

    // MARK: acceptance

    /// Everything a frame must satisfy before it is stored, checked in order of cost: its τ (from
    /// the clear header) was issued here, unused, unexpired; its seal opens; its image is the size
    /// the τ was issued for; its metadata is sound; every membrane key is here, unused and fits.
    private func accept(_ sealed: [UInt8], from device: String?) throws -> (manifest: FrameManifest, membranes: [MembraneID]) {
        let header = try SealedFrame.header(sealed)
        // (Tau ids are 128 random bits, so saying which check failed tells a caller nothing useful.)
        guard let tau = try store.tau(header.tauID) else {
            throw MSAIError.unknownKey("masked frame names tau \(header.tauID), which this data center did not issue")
        }
        // A τ is its device's: a frame from another may not use it (nor learn whether it exists
        // beyond that: the answer is the same whether it was used or not).
        guard tau.device == device else { throw MSAIError.refused(status: 403, message: "tau \(header.tauID) was issued to another device") }
        guard !tau.used, let seed = tau.seed else { throw MSAIError.alreadyUsed(.tau(header.tauID)) }
        guard Date().timeIntervalSince(tau.issuedAt) <= milliseconds(tauLifetime) / 1000 else {
            throw MSAIError.unknownKey("tau \(header.tauID) expired: it was issued more than \(Int(milliseconds(tauLifetime) / 1000)) s ago; ask for a new one")
        }
        let inner = try SealedFrame.open(sealed, key: try FrameKeys(tauSeed: seed).sealing)
        let manifest: FrameManifest, ciphertextCount: Int, jpegLayout: CoefficientLayout?, jpeg: [UInt8]?
        if MaskedFrameCodec.format(of: inner) == .jpeg {
            (manifest, jpegLayout, jpeg) = try acceptJPEGHeader(inner, tau: tau)
            ciphertextCount = 0
        } else {
            // Before decoding any pixels (a small PNG or QOI can claim gigabytes), the image must be
            // the size the tau was issued for.
            let peeked = try MaskedFrameCodec.peek(inner)
            guard tau.layout.width == peeked.width, tau.layout.height == peeked.height else {
                throw MSAIError.shapeMismatch(
                    "tau \(tau.id) was issued for a \(tau.layout.width)x\(tau.layout.height) frame, but the frame is \(peeked.width)x\(peeked.height)")
            }
            let contents = try MaskedFrameCodec.decode(inner)
            manifest = try FrameManifest.decode(
                contents.manifestJSON, imageWidth: contents.pixels.width, imageHeight: contents.pixels.height,
                imageChannels: contents.pixels.channels)
            guard !manifest.areas.contains(where: { $0.mode == .jpeg }) else {
                throw MSAIError.invalidMetadata("jpeg areas come in a JPEG frame, not in a \(contents.format.rawValue) one")
            }
            (ciphertextCount, jpegLayout, jpeg) = (contents.ciphertexts.count, nil, nil)
        }
        guard manifest.version == FrameManifest.currentVersion else {
            throw MSAIError.invalidMetadata("masked frame is format \(manifest.version); edges must send format \(FrameManifest.currentVersion)")
        }
        guard manifest.tauID == tau.id, manifest.blockSize == tau.layout.blockSize else {
            throw MSAIError.shapeMismatch(
                "tau \(tau.id) was issued for blocks of \(tau.layout.blockSize), but the sealed frame names tau \(manifest.tauID) with blocks of \(manifest.blockSize)")
        }
        var keys: [MembraneID] = []
        for area in manifest.areas {
            guard let stored = try store.key(area.membraneID) else {
                throw MSAIError.unknownKey("area \(area.rect) names membrane \(area.membraneID), whose key this data center does not hold")
            }
            let key = stored.record
            guard stored.device == device else {
                throw MSAIError.refused(status: 403, message: "area \(area.rect) names membrane \(area.membraneID), made for another device")
            }
            guard !stored.used, !keys.contains(area.membraneID) else { throw MSAIError.alreadyUsed(.membrane(area.membraneID.rawValue)) }
            guard key.mode == area.mode else {
                throw MSAIError.invalidMetadata("area \(area.rect) says mode \(area.mode.rawValue) but its membrane is \(key.mode.rawValue)")
            }
            if let jpegLayout {
                let shape = try jpegLayout.membraneShape(for: area.rect)
                guard key.shape == shape else {
                    throw MSAIError.shapeMismatch("jpeg area \(area.rect) needs a \(shape) membrane but its key is \(key.shape)")
                }
            } else {
                try key.shape.check(covers: area.rect, channels: manifest.channels)
            }
            if area.mode == .vhe { _ = try Self.ciphertextRange(area, total: ciphertextCount) }
            keys.append(area.membraneID)
        }
        if let composition = manifest.composition { try checkBackground(composition, channels: manifest.channels, device: device) }
        if let jpeg, let jpegLayout { try acceptJPEGCoefficients(jpeg, manifest: manifest, layout: jpegLayout) }
        return (manifest, keys)
    }

    /// A patch frame's background must be a full frame stored here, of the size and channels the
    /// patch is for.
    private func checkBackground(_ composition: FrameComposition, channels: Int, device: String?) throws {
        guard let background = try store.summary(composition.base) else {
            throw MSAIError.unknownKey(
                "patch frame's background \(composition.base) is not held by this data center (never received, or deleted by retention); send a full frame")
        }
        guard background.device == device else {
            throw MSAIError.refused(status: 403, message: "patch frame's background \(composition.base) is another device's frame")
        }
        guard background.background == nil else {
            throw MSAIError.invalidMetadata("patch frame's background \(composition.base) is itself a patch frame; it must be a full frame")
        }
        guard background.width == composition.width, background.height == composition.height, background.channels == channels else {
            throw MSAIError.shapeMismatch(
                "patch frame is for a \(composition.width)x\(composition.height)x\(channels) frame, but its background \(composition.base) is \(background.width)x\(background.height)x\(background.channels)")
        }
    }

    // MARK: recovery on read

    /// Opens a stored frame and unscrambles it; with `unmask`, unmasks its areas too. A patch
    /// frame's pieces are laid onto its background, read the same way.
    private func read(_ id: String, unmask: Bool, asBackground: Bool = false) throws -> Recovery {
        guard let frame = try store.frame(id) else { throw MSAIError.noSuchFrame(id) }
        guard let tau = try store.tau(id), let seed = tau.seed else {
            throw MSAIError.unknownKey("frame \(id)'s keys were destroyed; it cannot be read")
        }
        var timings = StepTimings()
        let keys = try FrameKeys(tauSeed: seed)
        let inner = try timed("open", into: &timings) { try SealedFrame.open(frame.sealed, key: keys.sealing, name: "stored frame \(id)") }
        if MaskedFrameCodec.format(of: inner) == .jpeg {
            return try readJPEG(inner, id: id, tau: tau, keys: keys, unmask: unmask, timings: timings)
        }
        let contents = try timed("decode", into: &timings) { try MaskedFrameCodec.decode(inner, name: "stored frame \(id)") }
        let manifest = try FrameManifest.decode(
            contents.manifestJSON, imageWidth: contents.pixels.width, imageHeight: contents.pixels.height,
            imageChannels: contents.pixels.channels)
        guard manifest.tauID == id, manifest.blockSize == tau.layout.blockSize else {
            throw MSAIError.integrityFailure("stored frame \(id) holds the manifest of another frame (\(manifest.tauID))")
        }
        // (msai 1's format-1 frames are re-protected as format 2 when their database is migrated.)
        guard manifest.version == FrameManifest.currentVersion else {
            throw MSAIError.integrityFailure("stored frame \(id) is format \(manifest.version); this data center keeps format \(FrameManifest.currentVersion) only")
        }
        var pixels = try timed("unscramble", into: &timings) {
            try BlockScrambler.unscramble(contents.pixels, layout: tau.layout, key: try keys.scrambleKey(for: tau.layout))
        }
        if unmask {
            try timed("unmask", into: &timings) {
                // Reverse order of masking, so overlapping areas come back exactly.
                for (index, area) in manifest.areas.enumerated().reversed() {
                    guard let key = try store.key(area.membraneID)?.record else {
                        throw MSAIError.unknownKey("frame \(id)'s membrane \(area.membraneID) is not held here any more")
                    }
                    try Self.unmask(&pixels, area: area, key: key, ciphertexts: contents.ciphertexts) {
                        try keys.pad(area: index, count: key.shape.sampleCount)
                    }
                }
            }
        }
        if let composition = manifest.composition {
            guard !asBackground else { throw MSAIError.invalidMetadata("frame \(id) is a patch frame used as a background") }
            let background = try read(composition.base, unmask: unmask, asBackground: true)
            for step in background.timings.steps { timings.record(step.name, step.milliseconds) }
            pixels = try timed("compose", into: &timings) {
                try RegionMosaic.compose(pixels, pieces: composition.pieces, onto: background.pixels)
            }
        }
        return Recovery(pixels: pixels, manifest: manifest, timings: timings)
    }

    /// A stored JPEG frame read back in the DCT domain: its MCUs moved back by τ⁻¹ and, with
    /// `unmask`, its areas unmasked in the reverse order, then written as a JPEG (the camera's
    /// coefficients, hence its pixels) and decoded.
    private func readJPEG(_ inner: [UInt8], id: String, tau: TauRecord, keys: FrameKeys, unmask: Bool, timings: StepTimings) throws -> Recovery {
        var timings = timings
        let name = "stored frame \(id)"
        let frame = try jpegFrame(inner, name: name)
        let (layout, manifest) = (frame.header.layout, frame.manifest)
        guard manifest.tauID == id else { throw MSAIError.integrityFailure("\(name) holds the manifest of another frame (\(manifest.tauID))") }
        let keysOfAreas = try unmask ? manifest.areas.map { area -> MembraneKeyRecord in
            guard let key = try store.key(area.membraneID)?.record else {
                throw MSAIError.unknownKey("frame \(id)'s membrane \(area.membraneID) is not held here any more")
            }
            return key
        } : []
        let tauOverMCUs = try keys.scrambleKey(for: try layout.tauLayout).tau
        var unscrambling = Duration.zero, unmasking = Duration.zero
        let recovered = try timed("transcode", into: &timings) {
            try JPEGTranscoder.transcode(frame.jpeg, maxPixels: maximumFramePixels) { coefficients in
                guard coefficients.image.layout == layout else { throw MSAIError.integrityFailure("\(name): its coefficients do not fit its header") }
                let start = ContinuousClock.now
                if tauOverMCUs.count > 0 { coefficients.image = try coefficients.image.permutingMCUs(tauOverMCUs.inverse) }
                let moved = ContinuousClock.now
                unscrambling = moved - start
                // Reverse order of masking, so areas sharing blocks come back exactly.
                for (index, (area, key)) in zip(manifest.areas, keysOfAreas).enumerated().reversed() {
                    guard key.mode == .jpeg, key.shape == (try layout.membraneShape(for: area.rect)) else {
                        throw MSAIError.invalidMetadata("area \(area.rect) of \(name) does not fit its membrane key")
                    }
                    var pad = try keys.coefficientPad(area: index)
                    try CoefficientMasking.apply(to: &coefficients.image, blocks: layout.blocks(covering: area.rect), pad: &pad,
                                                 membrane: try key.membrane(), bounded: manifest.coefficientRange != .baseline, inverse: true)
                }
                unmasking = ContinuousClock.now - moved
            }
        }
        timings.record("unscramble", milliseconds(unscrambling))
        if unmask { timings.record("unmask", milliseconds(unmasking)) }
        let pixels = try timed("decode", into: &timings) { try JPEGCodec.decodeAsStored(recovered, name: name) }
        return Recovery(pixels: pixels, manifest: manifest, timings: timings, jpeg: recovered)
    }

    /// Unmasks one area with its key; `pad` gives the hardened mode's pad (the frame's, or for an
    /// msai 1 frame the cloud's).
    static func unmask(_ pixels: inout PixelBuffer, area: MaskedArea, key: MembraneKeyRecord, ciphertexts: [UInt8],
                       pad: () throws -> [UInt8]) throws {
        guard key.mode == area.mode else {
            throw MSAIError.invalidMetadata("area \(area.rect) says mode \(area.mode.rawValue) but its membrane is \(key.mode.rawValue)")
        }
        switch area.mode {
        case .jpeg:
            throw MSAIError.invalidMetadata("area \(area.rect) is a jpeg area: its frame is read in the DCT domain")
        case .gf251:
            try AreaMasker.apply(try key.gf251Key().inverseMembrane(using: ChaCha20Keystream.self), to: &pixels, area: area.rect)
        case .hardened:
            try AreaMasker.removePadded(try key.gf251Key().inverseMembrane(using: ChaCha20Keystream.self), pad: try pad(), from: &pixels,
                                        area: area.rect)
        case .vhe:
            let range = try ciphertextRange(area, total: ciphertexts.count)
            try IntegerVHE.unmask(&pixels, area: area.rect, ciphertexts: Array(ciphertexts[range]), key: key)
        }
    }

    private static func ciphertextRange(_ area: MaskedArea, total: Int) throws -> Range<Int> {
        guard let offset = area.ciphertextOffset, let length = area.ciphertextLength, offset >= 0, length >= 0, offset <= total,
            length <= total - offset
        else {
            throw MSAIError.invalidMetadata("VHE area \(area.rect) points outside the frame's ciphertexts")
        }
        return offset..<(offset + length)
    }
}
