import AsyncHTTPClient
import Foundation
import MSAICore
import MSAICoreTesting
import MSAIImageIO
import MSAINetwork
import NIOSSL
import MSAIRoles
import MSAIStorage
import SwiftASN1
import Testing
import X509

/// TLS natively (issue 12): msai init's private CA and role certificates, roles serving HTTPS,
/// clients that trust that CA alone.
@Suite struct TransportSecurityTests {
    /// A deployment as msai init makes it, started on free ports.
    struct Secured {
        let folder: URL
        let config: RoleConfiguration
        let dataCenter: DataCenterServer
        let cloud: CloudServer

        static func start() async throws -> Secured {
            let folder = try CommandLineTests().temporaryFolder()
            let tls = try PrivateCA.create(in: folder.appendingPathComponent("tls").path, hosts: [])
            var config = RoleConfiguration.fresh(cloudPort: 0, dataCenterPort: 0, database: folder.appendingPathComponent("dc.sqlite").path,
                                                 masterKeyFile: "", tls: tls)
            let dc = try await DataCenterServer.start(config, store: try SQLiteDataCenterStore(path: config.database, masterKey: NetworkTests.masterKey),
                                                      name: "test-dc")
            config.dataCenterURL = dc.url
            let cloud = try await CloudServer.start(config, dataCenterURL: dc.url, name: "test-cloud", retry: NetworkTests.quick)
            config.cloudURL = cloud.url
            return Secured(folder: folder, config: config, dataCenter: dc, cloud: cloud)
        }

        /// An edge trusting the roots of `tls` (this deployment's, or another's), and `dataCenterURL`.
        func edge(trusting tls: PrivateCA.Files, dataCenterURL: String? = nil) -> EdgeCamera {
            let dc = dataCenterURL ?? dataCenter.url, token = config.edgeTokens[0]
            return EdgeCamera(
                membranes: HTTPCloudClient(url: cloud.url, edgeToken: token, retry: NetworkTests.quick, caFile: tls.trust(for: "cloud")),
                scrambling: HTTPDataCenterClient(url: dc, token: token, retry: NetworkTests.quick, caFile: tls.trust(for: "data center")),
                egress: HTTPDataCenterClient(url: dc, token: token, retry: NetworkTests.quick, caFile: tls.trust(for: "data center")))
        }

        func stop() async {
            await cloud.stop()
            await dataCenter.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// msai init's CA signs the role certificates for loopback and the hosts given; keys are
    /// readable by their owner only.
    @Test func theCASignsRoleCertificatesForTheirHosts() throws {
        let folder = try CommandLineTests().temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try PrivateCA.create(in: folder.path, hosts: ["dc.example.org", "192.0.2.10"])
        let ca = try Certificate(pemEncoded: String(contentsOfFile: files.ca, encoding: .utf8))
        let leaf = try Certificate(pemEncoded: String(contentsOfFile: try #require(files.dataCenterCertificate), encoding: .utf8))
        let root = try Certificate(pemEncoded: String(contentsOfFile: try #require(files.dataCenterCA), encoding: .utf8))
        #expect(ca.subject == ca.issuer && root.subject == root.issuer && leaf.issuer == root.subject && root.subject != ca.subject)
        #expect(files.cloudCA != files.dataCenterCA && files.trust(for: "data center") == files.dataCenterCA)
        #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
        let names = try #require(try leaf.extensions.subjectAlternativeNames).map { "\($0)" }.joined(separator: " ")
        for name in ["localhost", "dc.example.org", "127, 0, 0, 1", "192, 0, 2, 10"] { #expect(names.contains(name), "\(names)") }
        let folderFiles = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        let keys = [files.caKey, files.cloudKey, files.dataCenterKey].compactMap { $0 }
            + folderFiles.filter { $0.hasSuffix("-key.pem") }.map { folder.appendingPathComponent($0).path }
        #expect(keys.count == 3 + 5)
        for key in keys {
            let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(key)")
        }
        #expect(throws: MSAIError.self) { try PrivateCA.create(in: folder.appendingPathComponent("again").path, hosts: ["not a host"]) }
    }

    /// Frames travel over HTTPS and come back bit-exact; a client that does not pin the
    /// deployment's CA, or speaks plain HTTP, gets nothing through, and nothing is stored.
    @Test func framesTravelOverTLSAndOnlyClientsPinningTheCAConnect() async throws {
        let d = try await Secured.start()
        try await stopping({ await d.stop() }) {
            #expect(d.dataCenter.url.hasPrefix("https://") && d.cloud.url.hasPrefix("https://"))
            var random = SplitMix64(seed: 50)
            let image = randomImage(width: 96, height: 64, channels: 3, using: &random)
            let tls = try #require(d.config.tls)
            let edge = d.edge(trusting: tls)
            let receipt = try await edge.send(try await edge.prepare(image, areas: [Rect(x: 8, y: 8, width: 32, height: 24)]))
            let reader = HTTPReaderClient(url: d.dataCenter.url, token: d.config.recovererTokens[0], retry: NetworkTests.quick, caFile: tls.trust(for: "data center"))
            #expect(try PNGCodec.decode(try await reader.recovered(frameID: receipt.frameID, reason: "test")).pixels == image)

            // Another deployment's CA: the data center's certificate is not trusted.
            let other = try PrivateCA.create(in: d.folder.appendingPathComponent("other").path, hosts: [])
            do {
                _ = try await d.edge(trusting: other).prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)])
                Issue.record("a certificate of another CA was trusted")
            } catch let error as MSAIError {
                guard case .unreachable(let message) = error else { Issue.record("\(error)"); return }
                #expect(message.contains("over TLS: its certificate is not one this role's CA"), "\(message)")
            }
            // Whoever holds the cloud's certificate and key cannot pose as the data center: the
            // certificates name the same hosts, but each role's is signed by its own pinned root.
            var impostor = d.config
            impostor.tls?.dataCenterCertificate = tls.cloudCertificate
            impostor.tls?.dataCenterKey = tls.cloudKey
            let fake = try await DataCenterServer.start(impostor, store: InMemoryDataCenterStore(), listen: "127.0.0.1:0", name: "impostor")
            do {
                _ = try await d.edge(trusting: tls, dataCenterURL: fake.url).prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)])
                Issue.record("the cloud's certificate was taken for the data center's")
            } catch let error as MSAIError {
                guard case .unreachable(let message) = error else { Issue.record("\(error)"); return }
                #expect(message.contains("over TLS: its certificate is not one this role's CA"), "\(message)")
            }
            await fake.stop()
            // The system's trust (public CAs) is not the deployment's either.
            await #expect(throws: (any Error).self) {
                try await HTTPClient.shared.execute(HTTPClientRequest(url: d.dataCenter.url + "/v1/health"), timeout: .seconds(5))
            }
            // Plain HTTP to a TLS port gets nothing.
            let plain = d.dataCenter.url.replacingOccurrences(of: "https://", with: "http://")
            await #expect(throws: (any Error).self) {
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: plain + "/v1/health"), timeout: .seconds(2))
                if response.status != .ok { throw MSAIError.io("\(response.status)") }
            }
            #expect(try d.dataCenter.dataCenter.store.frameIDs() == [receipt.frameID])
        }
    }

    /// Mutual TLS per device: a camera enrolled with a client certificate sends frames with no
    /// token at all, under its own name; a certificate from another CA does not complete the
    /// handshake, one the registry does not hold (or holds revoked) identifies nobody, and what
    /// the camera asks for stays bound to it. The registry keeps the certificate's hash, not its key.
    @Test func aCameraEnrolledWithACertificateNeedsNoToken() async throws {
        let folder = try CommandLineTests().temporaryFolder()
        let tls = try PrivateCA.create(in: folder.appendingPathComponent("tls").path, hosts: [])
        let devices = folder.appendingPathComponent("devices.json").path
        let gate = try DeviceRegistry.addWithCertificate("gate", to: devices, tls: tls, folder: folder.appendingPathComponent("gate").path)
        let lobbyToken = try DeviceRegistry.add("lobby", to: devices)
        let unenrolled = try PrivateCA.issueDevice("stray", tls: tls, folder: folder.appendingPathComponent("stray").path).0
        var config = RoleConfiguration.fresh(cloudPort: 0, dataCenterPort: 0, database: folder.appendingPathComponent("dc.sqlite").path,
                                             masterKeyFile: "", tls: tls)
        config.devicesFile = devices
        let dc = try await DataCenterServer.start(config, store: try SQLiteDataCenterStore(path: config.database, masterKey: NetworkTests.masterKey),
                                                  name: "test-dc")
        let cloud = try await CloudServer.start(config, dataCenterURL: dc.url, name: "test-cloud", retry: NetworkTests.quick)
        func edge(token: String = "", identity: ClientIdentity?, egressToken: String? = nil, egressIdentity: ClientIdentity? = nil) -> EdgeCamera {
            EdgeCamera(membranes: HTTPCloudClient(url: cloud.url, edgeToken: token, retry: NetworkTests.quick, caFile: tls.trust(for: "cloud"),
                                                  identity: identity),
                       scrambling: HTTPDataCenterClient(url: dc.url, token: token, retry: NetworkTests.quick, caFile: tls.trust(for: "data center"), identity: identity),
                       egress: HTTPDataCenterClient(url: dc.url, token: egressToken ?? token, retry: NetworkTests.quick, caFile: tls.trust(for: "data center"),
                                                    identity: egressToken == nil ? identity : egressIdentity))
        }
        try await stopping({
            await cloud.stop()
            await dc.stop()
            try? FileManager.default.removeItem(at: folder)
        }) {
            var random = SplitMix64(seed: 51)
            let image = randomImage(width: 64, height: 48, channels: 3, using: &random)
            let areas = [Rect(x: 8, y: 8, width: 16, height: 16)]
            // By its certificate alone: stored, recovered bit-exact, named in the audit log.
            let receipt = try await edge(identity: gate).send(try await edge(identity: gate).prepare(image, areas: areas))
            #expect(try dc.dataCenter.store.summary(receipt.frameID)?.device == "gate")
            let reader = HTTPReaderClient(url: dc.url, token: config.recovererTokens[0], retry: NetworkTests.quick, caFile: tls.trust(for: "data center"))
            #expect(try PNGCodec.decode(try await reader.recovered(frameID: receipt.frameID, reason: "test")).pixels == image)
            #expect(try dc.dataCenter.store.auditLog().contains { $0.actor == "edge:gate" && $0.action == "accepted" })
            // Gate's τ and membrane sent by lobby (its token, no certificate): refused, 403.
            let gates = try await edge(identity: gate).prepare(image, areas: areas)
            let lobby = HTTPDataCenterClient(url: dc.url, token: lobbyToken, retry: NetworkTests.quick, caFile: tls.trust(for: "data center"))
            await #expect(throws: MSAIError.refused(status: 403, message: "the data center at \(dc.url) refused the request (403): tau \(gates.manifest.tauID) was issued to another device")) {
                try await lobby.submit(maskedFrame: gates.sealed, expected: gates.expectedReceipt)
            }
            // A certificate the CA signed but the registry does not hold: no identity, 401 saying so.
            do {
                _ = try await edge(identity: unenrolled).prepare(image, areas: areas)
                Issue.record("an unenrolled certificate was accepted")
            } catch let error as MSAIError {
                #expect("\(error)".contains("client certificate is no enrolled, unrevoked device's"), "\(error)")
            }
            // No certificate and no token: 401.
            await #expect(throws: MSAIError.self) { _ = try await edge(identity: nil).prepare(image, areas: areas) }
            // Another deployment's CA signed it: the handshake fails, said in plain words.
            let other = try PrivateCA.create(in: folder.appendingPathComponent("other").path, hosts: [])
            let foreign = try PrivateCA.issueDevice("gate", tls: other, folder: folder.appendingPathComponent("foreign").path).0
            do {
                _ = try await edge(identity: foreign).prepare(image, areas: areas)
                Issue.record("a certificate of another CA was accepted")
            } catch let error as MSAIError {
                guard case .unreachable(let message) = error else { Issue.record("\(error)"); return }
                #expect(message.contains("over TLS: it refused our client certificate"), "\(message)")
            }
            #expect(try dc.dataCenter.store.frameIDs() == [receipt.frameID])
            // The registry holds the certificate's hash only; revoking it identifies nobody.
            let registry = try DeviceRegistry(path: devices, recheck: .zero)
            let der = try NIOSSLCertificate.fromPEMFile(gate.certificate)[0].toDERBytes()
            #expect(registry.device(presentingCertificate: der)?.name == "gate")
            #expect(!(try String(contentsOfFile: devices, encoding: .utf8)).contains("PRIVATE"))
            #expect((try FileManager.default.attributesOfItem(atPath: gate.key)[.posixPermissions] as? Int) == 0o600)
            try DeviceRegistry.revoke("gate", in: devices)
            #expect(registry.device(presentingCertificate: der) == nil)
            #expect(throws: MSAIError.self) { try DeviceRegistry.addWithCertificate("gate", to: devices, tls: tls, folder: folder.path) }
        }
    }
}
