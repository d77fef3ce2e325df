import ArgumentParser
import Foundation
import MSAICore
import MSAINetwork

/// `msai device`: one identity per camera.
struct Device: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enroll, list and revoke cameras: one token each, stored hashed.",
        discussion: """
            Each camera (edge) has a name and a token of its own. The roles keep only the token's \
            SHA-256 (in devices_file, msai-devices.json beside the configuration), so a copy of \
            their files lets nobody act as a camera; the token is shown once, when the device is \
            added, for that camera's configuration (edge_token) or MSAI_EDGE_TOKEN. A τ, a \
            membrane and a background frame are bound to the device that asked for them: another \
            device's frame cannot use them. The audit log names the device. A revoked device's \
            token is refused within a second, without restarting the roles.

            Examples:
              msai device add lobby-camera
              msai device list
              msai device revoke lobby-camera
            """,
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enroll a camera; prints its token, once.")
        @Argument(help: "The device's name (letters, digits, '.', '_', '-').") var name: String
        @OptionGroup var config: ConfigOptions

        func run() throws {
            do {
                let path = try registry(config)
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
                    print("  \(device.name)  token \(device.fingerprint)…  added \(dates.string(from: device.added))"
                          + (device.revoked.map { "  REVOKED \(dates.string(from: $0))" } ?? ""))
                }
            } catch let error as MSAIError {
                throw fail(error)
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse a camera's token from now on.")
        @Argument(help: "The device's name.") var name: String
        @OptionGroup var config: ConfigOptions

        func run() throws {
            do {
                try DeviceRegistry.revoke(name, in: try registry(config))
                print("revoked \(name): the roles refuse its token within a second")
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
