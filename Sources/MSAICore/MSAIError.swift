/// Every failure the library reports. Each case carries a message a user can act on;
/// `description` is the one line the command line prints.
public enum MSAIError: Error, Equatable, CustomStringConvertible {
    case invalidArgument(String)
    case invalidImage(String)
    case regionOutsideImage(String)
    case shapeMismatch(String)
    case invalidMetadata(String)
    case integrityFailure(String)
    case unknownKey(String)
    case replay(String)
    case io(String)
    /// Another role could not be reached at all (nothing listens, no route, no answer): the
    /// caller may stop at once instead of failing every frame the same way.
    case unreachable(String)
    case model(String)
    case codec(String)

    public var description: String {
        switch self {
        case .invalidArgument(let m), .invalidImage(let m), .regionOutsideImage(let m), .shapeMismatch(let m),
            .invalidMetadata(let m), .integrityFailure(let m), .unknownKey(let m), .replay(let m), .io(let m), .unreachable(let m),
            .model(let m), .codec(let m):
            return m
        }
    }
}
