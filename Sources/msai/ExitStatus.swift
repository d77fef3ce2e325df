import ArgumentParser
import Foundation
import MSAICore

/// How msai ends, decided in one place (the sysexits.h numbers scripts and supervisors know):
///
///     0   done
///     1   done in part: some images or frames failed, or a recovery differed (each is named)
///     64  a bad option, argument or configuration value (the argument parser's own too)
///     65  input that does not check out: an image, frame, manifest or seal
///     66  no such frame at the data center
///     69  a role cannot be reached
///     74  reading or writing failed: a file, a folder, a port to listen on, a reply
///     76  another role refused the request, or the secret it names was used up
///     77  another role refused our token (401) or its kind (403)
///     78  a model the policy needs is missing or broken
enum ExitStatus {
    /// Some of the inputs failed and were named; the rest were done.
    static let partial = ExitCode(1)
    /// A role could not be reached, so the inputs after the first were not tried.
    static let unreachable = ExitCode(69)

    static func code(for error: Error) -> ExitCode {
        guard let error = error as? MSAIError else { return ExitCode(1) }
        switch error {
        case .invalidArgument: return ExitCode(64)
        case .invalidImage, .regionOutsideImage, .shapeMismatch, .invalidMetadata, .integrityFailure, .codec, .unknownKey:
            return ExitCode(65)
        case .noSuchFrame: return ExitCode(66)
        case .unreachable: return unreachable
        case .io: return ExitCode(74)
        case .refused(let status, _) where status == 401 || status == 403: return ExitCode(77)
        case .refused, .replay, .alreadyUsed: return ExitCode(76)
        case .model: return ExitCode(78)
        }
    }
}

/// Prints `error` as msai's one line and returns the exit status to throw with it.
func fail(_ error: Error) -> ExitCode {
    printError((error as? MSAIError)?.description ?? "\(error)")
    return ExitStatus.code(for: error)
}
