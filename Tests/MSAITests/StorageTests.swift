import Foundation
import GRDB
import MSAICore
import MSAICoreTesting
import MSAICrypto
import MSAIImageIO
import MSAINetwork
import MSAIRoles
import MSAIStorage
import Testing

/// The data center's SQLite store: what it acknowledged survives a restart, nothing can be used
/// twice, and what is on disk recovers nothing without the master key.
@Suite struct StorageTests {
    func databasePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("msai-db-\(UUID().uuidString)/datacenter.sqlite").path
    }

    func removeFolder(of path: String) { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }

    /// Three roles in this process with the data center on SQLite at `path`.
    func roles(_ path: String, seed: UInt64, mode: MaskingMode = .standard, format: MaskedFrameCodec.Format = .png,
               masterKey: MasterKey = testMasterKey) throws -> (DataCenter, EdgeCamera) {
        let dataCenter = DataCenter(store: try SQLiteDataCenterStore(path: path, masterKey: masterKey), random: SplitMix64(seed: seed))
        let edge = EdgeCamera(membranes: CloudPlatform(escrow: dataCenter, random: SplitMix64(seed: seed + 1)), scrambling: dataCenter,
                              egress: dataCenter, mode: mode, frameFormat: format)
        return (dataCenter, edge)
    }

    /// Retention: frames received before the cut-off are deleted, newer ones stay, and the audit
    /// log says what was deleted. (The cut-off is given, so nothing waits for time to pass.)
    @Test func retentionDeletesOnlyFramesOlderThanTheAge() async throws {
        let path = databasePath()
        defer { removeFolder(of: path) }
        var random = SplitMix64(seed: 22)
        let (dataCenter, edge) = try roles(path, seed: 1)
        let image = randomImage(width: 32, height: 32, channels: 3, using: &random)
        let old = try await edge.send(try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)]))
        let between = Date()
        let recent = try await edge.send(try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)]))
        #expect(try dataCenter.applyRetention(keeping: .seconds(3600), now: between) == 0)
        #expect(try dataCenter.applyRetention(keeping: .zero, now: between) == 1)
        #expect(try DataCenter(store: try SQLiteDataCenterStore(path: path, masterKey: testMasterKey)).store.frameIDs() == [recent.frameID])
        #expect(throws: MSAIError.noSuchFrame(old.frameID)) { try dataCenter.original(old.frameID) }
        #expect(try dataCenter.store.auditLog().map(\.action).last == "deleted 1 frame(s)")
        // The deleted frame's τ is still known as used: its frame cannot be sent again.
        #expect(try dataCenter.store.tau(old.frameID)?.used == true)
        #expect(try dataCenter.store.tau(old.frameID)?.seed == nil)
    }

    /// A background stays while a newer patch frame is composed onto it, and cannot be deleted
    /// before its patches; once they are due too, retention takes them all.
    @Test func retentionKeepsABackgroundThatANewerPatchNeeds() async throws {
        let path = databasePath()
        defer { removeFolder(of: path) }
        var random = SplitMix64(seed: 24)
        let (dataCenter, edge) = try roles(path, seed: 5, format: .qoi)
        let image = randomImage(width: 64, height: 48, channels: 3, using: &random)
        let area = [Rect(x: 8, y: 8, width: 16, height: 16)]
        let base = try await edge.send(try await edge.prepare(image, areas: area)).frameID
        let between = Date()
        let patch = try await edge.send(try await edge.preparePatches(image, areas: area, background: base)).frameID
        #expect(try dataCenter.applyRetention(keeping: .zero, now: between) == 0)
        #expect(throws: MSAIError.invalidArgument("frame \(base) is the background of 1 stored patch frame(s); delete those first")) {
            try dataCenter.deleteFrame(base, actor: "test", reason: "test")
        }
        #expect(try dataCenter.original(patch) == image)
        #expect(try dataCenter.applyRetention(keeping: .zero, now: Date().addingTimeInterval(1)) == 2)
        #expect(try dataCenter.store.frameIDs().isEmpty)
    }

    @Test func acknowledgedFramesSurviveARestartAndCannotBeReplayed() async throws {
        let path = databasePath()
        defer { removeFolder(of: path) }
        var random = SplitMix64(seed: 21)
        let image = randomImage(width: 40, height: 24, channels: 3, using: &random)
        let frame: [UInt8]
        let receipt: FrameReceipt
        do {
            let (_, edge) = try roles(path, seed: 1)
            let prepared = try await edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 10, height: 10), Rect(x: 5, y: 5, width: 30, height: 12)])
            frame = prepared.sealed
            receipt = try await edge.send(prepared)
        }
        // A new process, the same file and master key.
        let reopened = DataCenter(store: try SQLiteDataCenterStore(path: path, masterKey: testMasterKey))
        #expect(try reopened.original(receipt.frameID) == image)
        #expect(try reopened.store.frame(receipt.frameID)?.sealed == frame)
        #expect(try reopened.store.frameIDs() == [receipt.frameID])
        #expect(throws: MSAIError.alreadyUsed(.tau(receipt.frameID))) {
            try reopened.submit(maskedFrame: frame)
        }
        #expect(try reopened.store.auditLog().filter { $0.frameID != nil }.map(\.action) == ["accepted", "recovered"])
        #expect(try reopened.store.verifyAudit() == AuditVerification(entries: 5, firstBroken: nil), "τ, two keys, accepted, recovered, chained")
    }

    @Test func keysAndTausPersistWrappedAndDuplicatesAreRefused() async throws {
        let path = databasePath()
        defer { removeFolder(of: path) }
        let store = try SQLiteDataCenterStore(path: path, masterKey: testMasterKey)
        let record = MembraneKeyRecord(id: MembraneID(rawValue: "k1"), shape: try MembraneShape(rows: 2, cols: 3, channels: 1),
                                       mode: .vhe, k: 7, w: [0x80, 1, 2, 3, 4, 5, 6, 7], seed: [UInt8](repeating: 9, count: 32))
        try store.insertKey(record)
        #expect(throws: MSAIError.self) { try store.insertKey(record) }
        let grant = try TauGrant(id: "t1", seed: [UInt8](repeating: 3, count: 32), layout: BlockLayout(width: 30, height: 20, blockSize: 8))
        try store.insertTau(grant)
        let again = try SQLiteDataCenterStore(path: path, masterKey: testMasterKey)
        #expect(try again.key(record.id)?.record == record)
        #expect(try again.tau("t1")?.seed == grant.seed)
        #expect(try again.tau("t1")?.layout == grant.layout)
        #expect(try again.tau("t1")?.used == false)
        #expect(try again.key(MembraneID(rawValue: "nope")) == nil)
        try again.appendAudit(AuditEntry(actor: "recoverer", action: "recovered", frameID: "t1", reason: "why"))
        #expect(try store.auditLog().last?.reason == "why")
        // A wrapped secret moved to another row does not open there.
        try runSQLite(path, "UPDATE tau SET id = 't2' WHERE id = 't1'")
        #expect(throws: MSAIError.self) { try again.tau("t2") }
    }

    @Test func theDatabaseAndItsFolderArePrivate() async throws {
        let path = databasePath()
        defer { removeFolder(of: path) }
        let store = try SQLiteDataCenterStore(path: path, masterKey: testMasterKey)
        try store.insertTau(try TauGrant(id: "p", seed: [UInt8](repeating: 1, count: 32), layout: BlockLayout(width: 8, height: 8, blockSize: 8)))
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        #expect((try FileManager.default.attributesOfItem(atPath: folder)[.posixPermissions] as? Int) == 0o700)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
    }

    /// A tau waits at most `tauLifetime` for its frame; unused old ones (and unused membrane keys)
    /// are purged when new τs are issued or new keys deposited.
    @Test func unusedTausExpireAndArePurged() async throws {
        let roles = Roles(seed: 31, tauLifetime: .zero)
        let image = try PixelBuffer(width: 32, height: 32, channels: 1, filling: 5)
        let frame = try await roles.edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)])
        do {
            _ = try roles.dataCenter.submit(maskedFrame: frame.sealed)
            Issue.record("an expired tau was accepted")
        } catch {
            // Expired, or already purged by the cloud's deposit that followed the τ: refused either way.
            #expect("\(error)".contains("expired") || "\(error)".contains("did not issue"))
        }
        _ = try roles.dataCenter.issueTau(TauRequest(width: 32, height: 32, blockSize: 8))
        #expect(try roles.dataCenter.store.tau(frame.manifest.tauID) == nil)
        #expect(try roles.dataCenter.store.key(frame.manifest.areas[0].membraneID) == nil)
        // A deposit purges too, even if no edge ever asks for a τ again.
        let second = try await roles.edge.prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)])
        #expect(try roles.dataCenter.store.key(second.manifest.areas[0].membraneID) != nil)
        _ = try await roles.cloud.requestMembrane(MembraneRequest(shape: try MembraneShape(rows: 2, cols: 2, channels: 1), mode: .hardened))
        #expect(try roles.dataCenter.store.key(second.manifest.areas[0].membraneID) == nil)
        #expect(try roles.dataCenter.store.tau(second.manifest.tauID) == nil)
    }

    @Test func anUnwritableDatabaseIsAClearError() {
        #expect(throws: MSAIError.self) { try SQLiteDataCenterStore(path: "/proc/msai/datacenter.sqlite", masterKey: testMasterKey) }
    }

    // MARK: at rest

    /// Every file of the database (the WAL and its index too), as someone who copies the folder gets them.
    /// `includingIndex: false` leaves out the WAL index (-shm), shared memory that every reader
    /// writes to and that holds no content.
    static func databaseFiles(_ path: String, includingIndex: Bool = true) throws -> Data {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var all = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() where includingIndex || !name.hasSuffix("-shm") {
            all += try Data(contentsOf: folder.appendingPathComponent(name))
        }
        return all
    }

    /// Which of `secrets` (each at least 16 bytes) occur anywhere in the database's files.
    static func found(_ secrets: [(String, [UInt8])], in path: String) throws -> [String] {
        let files = try databaseFiles(path)
        return secrets.filter { files.range(of: Data($0.1)) != nil }.map(\.0)
    }

    /// The issue's stolen-disk attack: a copy of every database file, taken while the data center
    /// runs, holds no τ seed, no membrane key, no manifest (so no area position), and no original
    /// pixel: nothing that recovers a frame without the master key.
    @Test func aCopyOfTheDatabaseHoldsNothingThatRecoversAFrame() async throws {
        let path = databasePath()
        defer { removeFolder(of: path) }
        let image = try ImageFile.read(dataset("lena.png"))
        let face = Rect(x: 216, y: 200, width: 160, height: 180)
        var secrets: [(String, [UInt8])] = []
        for (index, mode) in MaskingMode.allCases.enumerated() {
            let (dataCenter, edge) = try roles(path, seed: 40 + UInt64(index), mode: mode, format: index == 0 ? .png : .qoi)
            // The jpeg mode takes the camera's JPEG of the same image.
            let camera = try JPEGCodec.encode(image, quality: 90)
            let frame = mode == .jpeg ? try await edge.prepareJPEG(camera, areas: [face]) : try await edge.prepare(image, areas: [face])
            let receipt = try await edge.send(frame)
            #expect(try dataCenter.original(receipt.frameID) == (mode == .jpeg ? try JPEGCodec.decodeAsStored(camera) : image))
            let tau = try #require(try dataCenter.store.tau(receipt.frameID)?.seed)
            let key = try #require(try dataCenter.store.key(frame.manifest.areas[0].membraneID)?.record)
            secrets += [("\(mode) τ seed", tau), ("\(mode) membrane seed", key.seed),
                        ("\(mode) sealing key", try FrameKeys(tauSeed: tau).sealing.withUnsafeBytes { Array($0) }),
                        ("\(mode) manifest", Array(frame.manifest.encoded())),
                        ("\(mode) the frame inside the seal", Array(frame.encoded[100..<164]))]
        }
        // A row of the face as it is, and as the inner frames carry the areas' JSON.
        let row = (face.y + 50) * image.width * 3 + face.x * 3
        secrets += [("original face pixels", Array(image.samples[row..<(row + 96)])), ("area JSON", Array(#""h":180,"membrane_id""#.utf8))]
        // The check has teeth: the sealed frames are there to be found.
        let stored = try #require(try SQLiteDataCenterStore(path: path, masterKey: testMasterKey).frame(
            try SQLiteDataCenterStore(path: path, masterKey: testMasterKey).frameIDs()[0]))
        #expect(try Self.found([("a sealed frame", Array(stored.sealed[200..<264]))], in: path) == ["a sealed frame"])
        #expect(try Self.found(secrets, in: path) == [])
    }

    /// Without the master key the database does not open; with another key it is refused before
    /// anything changes, and no file is altered.
    @Test func aWrongMasterKeyStopsTheDataCenterAndChangesNothing() async throws {
        let path = databasePath()
        defer { removeFolder(of: path) }
        let (_, edge) = try roles(path, seed: 60)
        _ = try await edge.send(try await edge.prepare(try PixelBuffer(width: 32, height: 32, channels: 3, filling: 9),
                                                       areas: [Rect(x: 0, y: 0, width: 8, height: 8)]))
        let before = try Self.databaseFiles(path, includingIndex: false)
        let other = try MasterKey(hex: MasterKey.generateHex(), source: "other")
        #expect(throws: MSAIError.invalidArgument(
            "\(path): this master key does not open the database (it was made with another one); nothing was changed. Use the master key file or MSAI_MASTER_KEY it was made with")) {
            try SQLiteDataCenterStore(path: path, masterKey: other)
        }
        #expect(try Self.databaseFiles(path, includingIndex: false) == before)
        // A configuration without a key says how to give one; a key file others can read is refused.
        var configuration = RoleConfiguration.fresh(masterKeyFile: "")
        configuration.masterKeyFile = nil
        #expect(throws: MSAIError.invalidArgument(
            "the data center needs its master key: set master_key_file in the configuration (msai init makes one) or MSAI_MASTER_KEY")) {
            try configuration.masterKey(environment: [:])
        }
        let keyFile = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("open.key").path
        try RoleConfiguration.writeMasterKey(to: keyFile)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile)
        configuration.masterKeyFile = keyFile
        #expect(throws: MSAIError.io("\(keyFile): the master key file can be read by others (mode 644); run chmod 600 on it")) {
            try configuration.masterKey(environment: [:])
        }
    }

    /// Deletion destroys: after a frame is deleted (by retention or by a recoverer), no byte of its
    /// sealed frame, its wrapped τ seed, its wrapped membrane keys or its wrapped manifest remains in
    /// any of the database's files; the same bytes are found there before (the control).
    @Test(arguments: ["retention", "delete"])
    func deletingAFrameLeavesNoByteOfItsKeysInAnyFile(how: String) async throws {
        let path = databasePath()
        defer { removeFolder(of: path) }
        let (dataCenter, edge) = try roles(path, seed: 70)
        let image = try ImageFile.read(dataset("coffee.png"))
        let areas = [Rect(x: 100, y: 100, width: 64, height: 64), Rect(x: 10, y: 10, width: 40, height: 40)]
        let doomed = try await edge.send(try await edge.prepare(image, areas: areas)).frameID
        let between = Date()
        let kept = try await edge.send(try await edge.prepare(image, areas: areas)).frameID
        func remnants(of id: String) throws -> [(String, [UInt8])] {
            let queue = try DatabaseQueue(path: path)
            return try queue.read { db in
                var out: [(String, [UInt8])] = []
                if let seed = try Data.fetchOne(db, sql: "SELECT wrapped_seed FROM tau WHERE id = ?", arguments: [id]) {
                    out.append(("wrapped τ seed", [UInt8](seed)))
                }
                for key in try Data.fetchAll(db, sql: "SELECT wrapped FROM membrane_key WHERE frame_id = ?", arguments: [id]) {
                    out.append(("wrapped membrane key", [UInt8](key)))
                }
                if let row = try Row.fetchOne(db, sql: "SELECT sealed, wrapped_manifest FROM frame WHERE id = ?", arguments: [id]) {
                    let sealed: Data = row["sealed"], manifest: Data = row["wrapped_manifest"]
                    out += [("wrapped manifest", [UInt8](manifest)), ("sealed frame, start", [UInt8](sealed.prefix(64))),
                            ("sealed frame, middle", [UInt8](sealed[(sealed.count / 2)..<(sealed.count / 2 + 64)])),
                            ("sealed frame, end", [UInt8](sealed.suffix(64)))]
                }
                return out
            }
        }
        let doomedBytes = try remnants(of: doomed)
        #expect(doomedBytes.count == 7)
        #expect(try Self.found(doomedBytes, in: path).count == doomedBytes.count)
        if how == "retention" {
            #expect(try dataCenter.applyRetention(keeping: .zero, now: between) == 1)
        } else {
            try dataCenter.deleteFrame(doomed, actor: "recoverer:test", reason: "subject's request")
            let last = try #require(try dataCenter.store.auditLog().last)
            #expect(last.actor == "recoverer:test" && last.action == "deleted" && last.frameID == doomed && last.reason == "subject's request")
        }
        #expect(try Self.found(doomedBytes, in: path) == [])
        // The other frame is untouched and still recovers.
        #expect(try dataCenter.original(kept) == image)
        #expect(try Self.found(try remnants(of: kept), in: path).count == 7)
    }

    /// A database an msai 1 data center wrote (plaintext τ seeds and membrane keys, the recovered
    /// originals, unsealed frames; made by msai 1 and kept in Legacy/) is migrated when it is first
    /// opened with a master key: afterwards none of that plaintext is in any file, and every frame
    /// still recovers bit-exactly, in every mode and both frame formats.
    @Test func anMsai1DatabaseIsMigratedAndNoPlaintextRemains() throws {
        let path = databasePath()
        defer { removeFolder(of: path) }
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        let legacy = try #require(Bundle.module.url(forResource: "datacenter-v2", withExtension: "sqlite", subdirectory: "Legacy"))
        try FileManager.default.copyItem(at: legacy, to: URL(fileURLWithPath: path))
        let original = try ImageFile.read(try #require(Bundle.module.url(forResource: "tiny", withExtension: "png", subdirectory: "Legacy")).path)
        // The plaintext msai 1 kept, read straight from the old file.
        let ids: [String]
        let plaintext: [(String, [UInt8])]
        do {
            let queue = try DatabaseQueue(path: path)
            ids = try queue.read { db in try String.fetchAll(db, sql: "SELECT id FROM frame") }
            plaintext = try queue.read { db in
                var plaintext: [(String, [UInt8])] = []
                for row in try Row.fetchAll(db, sql: "SELECT id, seed FROM tau") {
                    let seed: Data = row["seed"]
                    plaintext.append(("τ seed \(row["id"] as String)", [UInt8](seed)))
                }
                for row in try Row.fetchAll(db, sql: "SELECT id, seed FROM membrane_key") {
                    let seed: Data = row["seed"]
                    plaintext.append(("membrane seed \(row["id"] as String)", [UInt8](seed)))
                }
                for row in try Row.fetchAll(db, sql: "SELECT id, recovered_image, manifest FROM frame") {
                    let recovered: Data = row["recovered_image"], manifest: String = row["manifest"]
                    plaintext += [("recovered image \(row["id"] as String)", [UInt8](recovered.suffix(48))),
                                  ("manifest \(row["id"] as String)", Array(manifest.utf8.prefix(60)))]
                }
                return plaintext
            }
        }
        #expect(ids.count == 4 && plaintext.count == 4 + 5 + 8)
        #expect(try Self.found(plaintext, in: path).count == plaintext.count)  // the control
        // What the msai 1 cloud holds of each frame: the membrane keys it made (pad seed included).
        let cloudKeys = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM membrane_key").map { row -> MembraneKeyRecord in
                let w: Data = row["w"], seed: Data = row["seed"], k: Int = row["k"]
                return MembraneKeyRecord(id: MembraneID(rawValue: row["id"]), shape: try MembraneShape(rows: row["rows"], cols: row["cols"], channels: row["channels"]),
                                         mode: MaskingMode(rawValue: row["mode"])!, k: UInt8(k), w: [UInt8](w), seed: [UInt8](seed))
            }
        }
        /// The cloud's attack on a masked view: undo each GF(251) area with what the cloud made, in
        /// reverse order of masking (overlapping areas), then count the samples that came out right.
        func cloudUnmasks(_ view: PixelBuffer, _ manifest: FrameManifest) throws -> (right: Int, of: Int) {
            var attempt = view
            let areas = manifest.areas.filter { area in cloudKeys.contains { $0.id == area.membraneID && $0.mode != .vhe } }
            for area in areas.reversed() {
                let key = try #require(cloudKeys.first { $0.id == area.membraneID })
                let gf = try key.gf251Key()
                if key.mode == .hardened {
                    try AreaMasker.removePadded(try gf.inverseMembrane(using: ChaCha20Keystream.self), pad: try gf.legacyPad(using: ChaCha20Keystream.self),
                                                from: &attempt, area: area.rect)
                } else {
                    try AreaMasker.apply(try gf.inverseMembrane(using: ChaCha20Keystream.self), to: &attempt, area: area.rect)
                }
            }
            var right = 0, total = 0
            for area in areas {
                let truth = try original.cropped(to: area.rect).samples, guess = try attempt.cropped(to: area.rect).samples
                right += zip(truth, guess).filter { $0 == $1 }.count
                total += truth.count
            }
            return (right, total)
        }
        // The control: the masked view msai 1 served (its frame unscrambled) falls to the cloud's keys.
        let legacyViews = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT f.masked, t.seed, t.width, t.height, t.block_size FROM frame f JOIN tau t ON t.id = f.id").map { row in
                let masked: Data = row["masked"], seed: Data = row["seed"]
                let contents = try MaskedFrameCodec.decode([UInt8](masked))
                let layout = try BlockLayout(width: row["width"], height: row["height"], blockSize: row["block_size"])
                let view = try BlockScrambler.unscramble(contents.pixels, layout: layout,
                                                         key: try ScrambleKey.derive(seed: [UInt8](seed), layout: layout, using: ChaCha20Keystream.self))
                return (view, try JSONDecoder().decode(FrameManifest.self, from: contents.manifestJSON))
            }
        }
        for (view, manifest) in legacyViews where manifest.areas.first?.mode != .vhe {
            let score = try cloudUnmasks(view, manifest)
            #expect(score.right == score.of, "msai 1's masked view of \(manifest.tauID): \(score)")
        }
        let store = try SQLiteDataCenterStore(path: path, masterKey: testMasterKey)
        #expect(store.migratedFrames == 4)
        let dataCenter = DataCenter(store: store)
        for id in ids { #expect(try dataCenter.original(id) == original, "frame \(id)") }
        #expect(try Self.found(plaintext, in: path) == [])
        // Re-protected: the same attack on the masked view now gets about 1 sample in 256 right.
        for id in ids {
            let view = try dataCenter.maskedView(id, actor: "viewer:test")
            #expect(view.manifest.version == 2 && view.manifest.areas.allSatisfy { $0.mode != .gf251 })
            let score = try cloudUnmasks(view.pixels, view.manifest)
            #expect(Double(score.right) <= 0.02 * Double(score.of), "migrated \(id): \(score)")
        }
        // The rebuild happened; one still owed (a failed VACUUM, say) is done at the next start.
        #expect(try runSQLite(path, "SELECT CAST(vacuum_pending AS TEXT) FROM vault") == "0")
        try runSQLite(path, "UPDATE vault SET vacuum_pending = 1")
        // Opened again, nothing more happens but the owed rebuild; another key is refused.
        #expect(try SQLiteDataCenterStore(path: path, masterKey: testMasterKey).migratedFrames == 0)
        #expect(try runSQLite(path, "SELECT CAST(vacuum_pending AS TEXT) FROM vault") == "0")
        #expect(throws: MSAIError.self) { try SQLiteDataCenterStore(path: path, masterKey: try MasterKey(hex: MasterKey.generateHex(), source: "x")) }
        // The migrated frames' τs still refuse replays.
        #expect(try store.tau(ids[0])?.used == true)
    }
}

/// Runs SQL on a database directly (GRDB); returns the first column of the first row, if any.
@discardableResult
func runSQLite(_ path: String, _ sql: String) throws -> String {
    let queue = try DatabaseQueue(path: path)
    return try queue.write { db in
        if sql.hasPrefix("SELECT") { return try String.fetchOne(db, sql: sql) ?? "" }
        try db.execute(sql: sql)
        return ""
    }
}
