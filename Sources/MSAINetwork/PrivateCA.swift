import Crypto
import Foundation
import MSAICore
import SwiftASN1
import X509

/// The deployment's own certificate authorities, made by `msai init` with swift-certificates and
/// swift-crypto (no openssl): P-256 roots, one per role and one for the cameras. Each role's
/// certificate is signed by that role's own root, and a client of the data center trusts the
/// data center's root alone (it is pinned): not a public CA, not the deployment's other roots,
/// so whoever holds the cloud's key cannot pose as the data center (the certificates of both
/// roles name the same hosts on one machine, so a name check alone could not tell them apart).
/// The deployment's CA (`ca`) signs the cameras' client certificates (`msai device add
/// --certificate`), which the roles accept. Every CA key is kept apart, readable by its owner only.
public enum PrivateCA {
    /// The files a deployment's TLS is made of, relative to nothing: paths as written.
    public struct Files: Codable, Equatable, Sendable {
        /// The deployment's CA: it signs the cameras' client certificates.
        public var ca: String
        /// The CA's private key: needed only to issue certificates (keep it off the role machines).
        public var caKey: String?
        /// The root that signed the cloud's certificate, which its clients pin (nil in configurations
        /// from before there was one per role: `ca` then signed both roles' certificates).
        public var cloudCA: String?
        public var cloudCertificate: String?
        public var cloudKey: String?
        /// The root that signed the data center's certificate, which its clients pin.
        public var dataCenterCA: String?
        public var dataCenterCertificate: String?
        public var dataCenterKey: String?

        /// The root a client of `role` ("cloud" or "data center") trusts, alone.
        public func trust(for role: String) -> String {
            (role == "cloud" ? cloudCA : dataCenterCA) ?? ca
        }

        enum CodingKeys: String, CodingKey {
            case ca
            case caKey = "ca_key"
            case cloudCA = "cloud_ca"
            case cloudCertificate = "cloud_certificate"
            case cloudKey = "cloud_key"
            case dataCenterCA = "datacenter_ca"
            case dataCenterCertificate = "datacenter_certificate"
            case dataCenterKey = "datacenter_key"
        }

        public init(ca: String, caKey: String?, cloudCA: String? = nil, cloudCertificate: String?, cloudKey: String?,
                    dataCenterCA: String? = nil, dataCenterCertificate: String?, dataCenterKey: String?) {
            self.ca = ca
            self.caKey = caKey
            self.cloudCA = cloudCA
            self.cloudCertificate = cloudCertificate
            self.cloudKey = cloudKey
            self.dataCenterCA = dataCenterCA
            self.dataCenterCertificate = dataCenterCertificate
            self.dataCenterKey = dataCenterKey
        }
    }

    /// A certificate's lifetime: the CAs' ten years, a role's two (`msai init --force` makes new ones).
    static let caLifetime: TimeInterval = 10 * 365 * 86_400
    static let roleLifetime: TimeInterval = 2 * 365 * 86_400

    /// Makes the CAs and a certificate for each role in `folder` (created 0700; keys 0600), valid
    /// for `hosts` (names and IP addresses; loopback's are always included).
    public static func create(in folder: String, hosts: [String], now: Date = Date()) throws -> Files {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        let names = try alternativeNames(hosts)
        let (ca, _) = try makeCA("msai private CA", certificate: path("ca.pem"), key: path("ca-key.pem"), now: now)
        var files = Files(ca: ca, caKey: path("ca-key.pem"), cloudCertificate: nil, cloudKey: nil,
                          dataCenterCertificate: nil, dataCenterKey: nil)
        for role in ["cloud", "datacenter"] {
            let (rootPath, root) = try makeCA("msai \(role) CA", certificate: path("\(role)-ca.pem"), key: path("\(role)-ca-key.pem"), now: now)
            let key = P256.Signing.PrivateKey()
            let certificate = try issue(commonName: "msai \(role)", names: names, usage: .serverAuth, publicKey: key.publicKey,
                                        ca: root.certificate, caKey: root.key, now: now)
            try write(try certificate.serializeAsPEM().pemString, to: path("\(role).pem"), privately: false)
            try write(key.pemRepresentation, to: path("\(role)-key.pem"), privately: true)
            if role == "cloud" {
                (files.cloudCA, files.cloudCertificate, files.cloudKey) = (rootPath, path("cloud.pem"), path("cloud-key.pem"))
            } else {
                (files.dataCenterCA, files.dataCenterCertificate, files.dataCenterKey) = (rootPath, path("datacenter.pem"), path("datacenter-key.pem"))
            }
        }
        return files
    }

    /// A self-signed root named `commonName`, written to `certificate` and its key to `key` (0600).
    private static func makeCA(_ commonName: String, certificate: String, key keyPath: String, now: Date) throws
        -> (String, (certificate: Certificate, key: P256.Signing.PrivateKey)) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("msai")
            CommonName(commonName)
        }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(caLifetime),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        try write(try ca.serializeAsPEM().pemString, to: certificate, privately: false)
        try write(key.pemRepresentation, to: keyPath, privately: true)
        return (certificate, (ca, key))
    }

    /// A client certificate for device `name`, signed by the CA in `tls` (its key is needed:
    /// issue on the machine that keeps it), written with its new key into `folder` as NAME.pem and
    /// NAME-key.pem (0600). Returns the two paths and the certificate's DER, whose hash the device
    /// registry keeps.
    public static func issueDevice(_ name: String, tls: Files, folder: String, now: Date = Date()) throws -> (ClientIdentity, [UInt8]) {
        guard let caKeyFile = tls.caKey, let caKeyPEM = try? String(contentsOfFile: caKeyFile, encoding: .utf8) else {
            throw MSAIError.invalidArgument(
                "a device certificate is signed with the CA's key (tls.ca_key), and \(tls.caKey ?? "the configuration names none") cannot be read here; run msai device add on the machine that keeps it")
        }
        let ca: Certificate, caKey: P256.Signing.PrivateKey
        do {
            ca = try Certificate(pemEncoded: String(contentsOfFile: tls.ca, encoding: .utf8))
            caKey = try P256.Signing.PrivateKey(pemRepresentation: caKeyPEM)
        } catch {
            throw MSAIError.invalidArgument("\(tls.ca) and \(caKeyFile) are not the CA msai init made: \(error)")
        }
        guard caKey.publicKey.derRepresentation == P256.Signing.PublicKey(ca.publicKey)?.derRepresentation else {
            throw MSAIError.invalidArgument("\(caKeyFile) is not the key of the CA in \(tls.ca)")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = P256.Signing.PrivateKey()
        let certificate = try issue(commonName: name, names: [], usage: .clientAuth, publicKey: key.publicKey, ca: ca, caKey: caKey, now: now)
        let identity = ClientIdentity(certificate: (folder as NSString).appendingPathComponent("\(name).pem"),
                                      key: (folder as NSString).appendingPathComponent("\(name)-key.pem"))
        for path in [identity.certificate, identity.key] where FileManager.default.fileExists(atPath: path) {
            throw MSAIError.invalidArgument("\(path) already exists; it is kept (choose another folder with --out, or remove it)")
        }
        try write(try certificate.serializeAsPEM().pemString, to: identity.certificate, privately: false)
        try write(key.pemRepresentation, to: identity.key, privately: true)
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return (identity, serializer.serializedBytes)
    }

    /// A certificate signed by the CA: a server's for its `names`, or a device's (a client, no names).
    static func issue(commonName: String, names: [GeneralName], usage: ExtendedKeyUsage.Usage, publicKey: P256.Signing.PublicKey,
                      ca: Certificate, caKey: P256.Signing.PrivateKey, now: Date) throws -> Certificate {
        try Certificate(
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
