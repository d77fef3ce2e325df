import AsyncHTTPClient
import Foundation
import MSAICore
import MSAICoreTesting
import MSAIImageIO
import MSAINetwork
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

        func edge(caFile: String?) -> EdgeCamera {
            EdgeCamera(membranes: HTTPCloudClient(url: cloud.url, edgeToken: config.edgeTokens[0], retry: NetworkTests.quick, caFile: caFile),
                       scrambling: HTTPDataCenterClient(url: dataCenter.url, token: config.edgeTokens[0], retry: NetworkTests.quick, caFile: caFile),
                       egress: HTTPDataCenterClient(url: dataCenter.url, token: config.edgeTokens[0], retry: NetworkTests.quick, caFile: caFile))
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
        #expect(ca.subject == ca.issuer && leaf.issuer == ca.subject)
        #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
        let names = try #require(try leaf.extensions.subjectAlternativeNames).map { "\($0)" }.joined(separator: " ")
        for name in ["localhost", "dc.example.org", "127, 0, 0, 1", "192, 0, 2, 10"] { #expect(names.contains(name), "\(names)") }
        for key in [files.caKey, files.cloudKey, files.dataCenterKey] {
            let mode = try FileManager.default.attributesOfItem(atPath: try #require(key))[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(key ?? "")")
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
            let edge = d.edge(caFile: d.config.tls?.ca)
            let receipt = try await edge.send(try await edge.prepare(image, areas: [Rect(x: 8, y: 8, width: 32, height: 24)]))
            let reader = HTTPReaderClient(url: d.dataCenter.url, token: d.config.recovererTokens[0], retry: NetworkTests.quick, caFile: d.config.tls?.ca)
            #expect(try PNGCodec.decode(try await reader.recovered(frameID: receipt.frameID, reason: "test")).pixels == image)

            // Another deployment's CA: the data center's certificate is not trusted.
            let other = try PrivateCA.create(in: d.folder.appendingPathComponent("other").path, hosts: [])
            do {
                _ = try await d.edge(caFile: other.ca).prepare(image, areas: [Rect(x: 0, y: 0, width: 8, height: 8)])
                Issue.record("a certificate of another CA was trusted")
            } catch let error as MSAIError {
                guard case .unreachable(let message) = error else { Issue.record("\(error)"); return }
                #expect(message.contains("over TLS: its certificate is not one the deployment's CA (tls.ca in the configuration) signed"), "\(message)")
            }
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
}
