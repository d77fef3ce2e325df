import Crypto
import Foundation
import MSAICore
import SwiftASN1
import X509

/// The deployment's own certificate authority, made by `msai init` with swift-certificates and
/// swift-crypto (no openssl): a P-256 CA that signs one certificate per role, for the host names
/// and addresses the roles are reached at. Every client trusts this CA alone (it is pinned), so
/// a certificate from any public CA, or none, is refused; the CA's key signs nothing else and is
/// kept apart, readable by its owner only.
public enum PrivateCA {
    /// The files a deployment's TLS is made of, relative to nothing: paths as written.
    public struct Files: Codable, Equatable, Sendable {
        /// The CA certificate every client pins.
        public var ca: String
        /// The CA's private key: needed only to issue certificates (keep it off the role machines).
        public var caKey: String?
        public var cloudCertificate: String?
        public var cloudKey: String?
        public var dataCenterCertificate: String?
        public var dataCenterKey: String?

        enum CodingKeys: String, CodingKey {
            case ca
            case caKey = "ca_key"
            case cloudCertificate = "cloud_certificate"
            case cloudKey = "cloud_key"
            case dataCenterCertificate = "datacenter_certificate"
            case dataCenterKey = "datacenter_key"
        }

        public init(ca: String, caKey: String?, cloudCertificate: String?, cloudKey: String?, dataCenterCertificate: String?,
                    dataCenterKey: String?) {
            self.ca = ca
            self.caKey = caKey
            self.cloudCertificate = cloudCertificate
            self.cloudKey = cloudKey
            self.dataCenterCertificate = dataCenterCertificate
            self.dataCenterKey = dataCenterKey
        }
    }

    /// A certificate's lifetime: the CA's ten years, a role's two (`msai init --force` makes new ones).
    static let caLifetime: TimeInterval = 10 * 365 * 86_400
    static let roleLifetime: TimeInterval = 2 * 365 * 86_400

    /// Makes a CA and a certificate for each role in `folder` (created 0700; keys 0600), valid
    /// for `hosts` (names and IP addresses; loopback's are always included).
    public static func create(in folder: String, hosts: [String], now: Date = Date()) throws -> Files {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("msai")
            CommonName("msai private CA")
        }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(caLifetime),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(caKey.publicKey))
            },
            issuerPrivateKey: .init(caKey))
        try write(try ca.serializeAsPEM().pemString, to: path("ca.pem"), privately: false)
        try write(caKey.pemRepresentation, to: path("ca-key.pem"), privately: true)
        var files = Files(ca: path("ca.pem"), caKey: path("ca-key.pem"), cloudCertificate: nil, cloudKey: nil,
                          dataCenterCertificate: nil, dataCenterKey: nil)
        for role in ["cloud", "datacenter"] {
            let key = P256.Signing.PrivateKey()
            let certificate = try issue(commonName: "msai \(role)", hosts: hosts, usage: .serverAuth, publicKey: key.publicKey,
                                        ca: ca, caKey: caKey, now: now)
            try write(try certificate.serializeAsPEM().pemString, to: path("\(role).pem"), privately: false)
            try write(key.pemRepresentation, to: path("\(role)-key.pem"), privately: true)
            if role == "cloud" {
                (files.cloudCertificate, files.cloudKey) = (path("cloud.pem"), path("cloud-key.pem"))
            } else {
                (files.dataCenterCertificate, files.dataCenterKey) = (path("datacenter.pem"), path("datacenter-key.pem"))
            }
        }
        return files
    }

    /// A certificate signed by the CA for `hosts` (servers) or for a device (clients).
    static func issue(commonName: String, hosts: [String], usage: ExtendedKeyUsage.Usage, publicKey: P256.Signing.PublicKey,
                      ca: Certificate, caKey: P256.Signing.PrivateKey, now: Date) throws -> Certificate {
        let names = try alternativeNames(hosts)
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(roleLifetime),
            issuer: ca.subject, subject: try DistinguishedName { OrganizationName("msai"); CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([usage])
                if !names.isEmpty { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: .init(caKey))
    }

    /// Loopback's names and addresses, and each host: an IP literal as an address, else a DNS name.
    static func alternativeNames(_ hosts: [String]) throws -> [GeneralName] {
        var seen = Set<String>()
        var names: [GeneralName] = []
        for host in ["localhost", "127.0.0.1", "::1"] + hosts {
            let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            guard !bare.isEmpty, seen.insert(bare.lowercased()).inserted else { continue }
            var v4 = in_addr(), v6 = in6_addr()
            if inet_pton(AF_INET, bare, &v4) == 1 {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(withUnsafeBytes(of: &v4) { Array($0) }))))
            } else if inet_pton(AF_INET6, bare, &v6) == 1 {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(withUnsafeBytes(of: &v6) { Array($0) }))))
            } else {
                guard bare.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else {
                    throw MSAIError.invalidArgument("'\(host)' is not a host name or IP address a certificate can name")
                }
                names.append(.dnsName(bare.lowercased()))
            }
        }
        return names
    }

    static func write(_ text: String, to path: String, privately: Bool) throws {
        if privately {
            try RoleConfiguration.writePrivately(Data(text.utf8), to: path)
        } else {
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw MSAIError.io("\(path): cannot be written (\(error.localizedDescription))")
            }
        }
    }
}
