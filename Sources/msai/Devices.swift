import ArgumentParser
import Foundation
import MSAICore
import MSAINetwork

/// `msai device`: one identity per camera.
struct Device: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enroll, list and revoke cameras: one token or client certificate each, stored hashed.",
        discussion: """
            Each camera (edge) has a name and a token of its own. The roles keep only the token's \
            SHA-256 (in devices_file, msai-devices.json beside the configuration), so a copy of \
            their files lets nobody act as a camera; the token is shown once, when the device is \
            added, for that camera's configuration (edge_token) or MSAI_EDGE_TOKEN. A τ, a \
            membrane and a background frame are bound to the device that asked for them: another \
            device's frame cannot use them. The audit log names the device. A revoked device's \
            token is refused within a second, without restarting the roles.

            With --certificate the camera gets a client certificate instead (mutual TLS): the \
            deployment's CA signs it (run this where the CA's key is, tls.ca_key), its key is \
            written once (NAME-key.pem, 0600) for that camera alone, and the registry keeps the \
            certificate's SHA-256. The camera names both files in its configuration \
            (edge_certificate, edge_key) and presents no token; a stolen token cannot stand in \
            for it, and its key never crosses the network. It needs https (msai init's TLS).

            Examples:
              msai device add lobby-camera
              msai device add gate-camera --certificate --out gate-camera-tls
              msai device list
              msai device revoke lobby-camera
            """,
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enroll a camera; prints its token, once (or writes its client certificate).")
        @Argument(help: "The device's name (letters, digits, '.', '_', '-').") var name: String
        @Flag(help: "Identify the camera by a client certificate signed by the deployment's CA (mutual TLS) instead of a token.")
        var certificate = false
        @Option(help: ArgumentHelp("Where --certificate writes NAME.pem and NAME-key.pem.", valueName: "folder"))
        var out: String?
        @OptionGroup var config: ConfigOptions

        func validate() throws {
            if out != nil && !certificate { throw ValidationError("--out goes with --certificate") }
        }

        func run() throws {
            do {
                let path = try registry(config)
                if certificate {
                    guard let tls = try config.load().tls else {
                        throw MSAIError.invalidArgument("\(config.path) has no TLS (tls): a client certificate needs the deployment's CA; msai init makes it")
                    }
                    let folder = out ?? (tls.ca as NSString).deletingLastPathComponent
                    let identity = try DeviceRegistry.addWithCertificate(name, to: path, tls: tls, folder: folder)
                    print("enrolled \(name) in \(path) by its client certificate:")
                    print("  \(identity.certificate)")
                    print("  \(identity.key)  (its private key: copy it to that camera alone, then delete it here)")
                    print("in that camera's configuration: \"edge_certificate\": \"\(identity.certificate)\", \"edge_key\": \"\(identity.key)\" (and no edge_token)")
                    return
                }
                let token = try DeviceRegistry.add(name, to: path)
                print("enrolled \(name) in \(path); its token (shown this once, kept nowhere else):")
                print(token)
                print("give it to that camera as edge_token in its configuration, or MSAI_EDGE_TOKEN")
            } catch let error as MSAIError {
                throw fail(error)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The enrolled cameras, revoked ones marked.")
        @OptionGroup var config: ConfigOptions

        func run() throws {
            do {
                let devices = try DeviceRegistry.read(try registry(config))
                print("\(devices.count) device(s)")
                let dates = ISO8601DateFormatter()
                for device in devices {
                    print("  \(device.name)  \(device.credential) \(device.fingerprint)…  added \(dates.string(from: device.added))"
                          + (device.revoked.map { "  REVOKED \(dates.string(from: $0))" } ?? ""))
                }
            } catch let error as MSAIError {
                throw fail(error)
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse a camera's token or certificate from now on.")
        @Argument(help: "The device's name.") var name: String
        @OptionGroup var config: ConfigOptions

        func run() throws {
            do {
                try DeviceRegistry.revoke(name, in: try registry(config))
                print("revoked \(name): the roles refuse it within a second")
            } catch let error as MSAIError {
                throw fail(error)
            }
        }
    }
}

/// The configuration's device registry, or an error saying it has none.
private func registry(_ config: ConfigOptions) throws -> String {
    guard let path = try config.load().devicesFile else {
        throw MSAIError.invalidArgument("\(config.path) names no devices_file: every edge shares edge_tokens (msai 2.0). Run msai init --force for a registry, or add \"devices_file\": \"msai-devices.json\"")
    }
    return path
}
