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
    /// No stored frame has this id (never received, deleted, or past retention).
    case noSuchFrame(String)
    case replay(String)
    /// A single-use secret named again: the τ of a frame already stored, a membrane already
    /// used, a key already deposited. Structured, so that a client can tell its own lost
    /// acknowledgement (its frame's τ) from someone else's replay without reading a message.
    case alreadyUsed(UsedUp)
    /// Another role refused a request (its HTTP status and what it said).
    case refused(status: Int, message: String)
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
            .model(let m), .codec(let m), .refused(_, let m):
            return m
        case .alreadyUsed(let item):
            return item.description
        case .noSuchFrame(let id):
            return "no frame \(id)"
        }
    }
}

/// What a replay named: the kind of single-use secret and its id.
public enum UsedUp: Equatable, Sendable, CustomStringConvertible {
    case tau(String)
    case membrane(String)
    case membraneKey(String)

    public var description: String {
        switch self {
        case .tau(let id): return "tau \(id) was already used by another frame"
        case .membrane(let id): return "membrane \(id) was already used"
        case .membraneKey(let id): return "membrane key \(id) was already deposited"
        }
    }

    /// As it travels in the msai-used-up header of a 409: "tau ID", "membrane ID", "membrane-key ID".
    public var field: String {
        switch self {
        case .tau(let id): return "tau \(id)"
        case .membrane(let id): return "membrane \(id)"
        case .membraneKey(let id): return "membrane-key \(id)"
        }
    }

    public init?(field: String) {
        let parts = field.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { return nil }
        switch parts[0] {
        case "tau": self = .tau(parts[1])
        case "membrane": self = .membrane(parts[1])
        case "membrane-key": self = .membraneKey(parts[1])
        default: return nil
        }
    }
}
