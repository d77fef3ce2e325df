import Foundation
import MSAICore
import NIOCore
import NIOPosix

/// Receives a UDP JPEG stream (seed 001's kind, in `FramePackets` datagrams) with SwiftNIO,
/// reassembles the frames and offers each complete one to a `LiveJPEGSource`. A lost datagram
/// costs its frame, never a corrupted one.
public final class UDPFrameReceiver: Sendable {
    public let source: LiveJPEGSource
    public let port: Int
    private let task: Task<FrameReassembler.Counts, Error>
    private let channel: Channel

    /// Binds `host:port` (port 0: any free port, see `port`) and starts receiving.
    public static func start(host: String, port: Int, into source: LiveJPEGSource) async throws -> UDPFrameReceiver {
        let asyncChannel: NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>
        do {
            asyncChannel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 8 << 20)
                .channelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MSAIError.io("cannot listen for the UDP stream on \(host):\(port): \(error)")
        }
        let boundPort = asyncChannel.channel.localAddress?.port ?? port
        let task = Task {
            var senders = SenderReassemblers()
            var lostReported = 0
            try await asyncChannel.executeThenClose { inbound, _ in
                for try await envelope in inbound {
                    var buffer = envelope.data
                    let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
                    if let frame = senders.accept(bytes, from: "\(envelope.remoteAddress)") { source.offer(frame) }
                    let lost = senders.counts.framesLost
                    if lost > lostReported {
                        source.addLost(lost - lostReported)
                        lostReported = lost
                    }
                }
            }
            return senders.counts
        }
        return UDPFrameReceiver(source: source, port: boundPort, task: task, channel: asyncChannel.channel)
    }

    private init(source: LiveJPEGSource, port: Int, task: Task<FrameReassembler.Counts, Error>, channel: Channel) {
        self.source = source
        self.port = port
        self.task = task
        self.channel = channel
    }

    /// Stops listening; returns what the reassembler saw.
    public func stop() async -> FrameReassembler.Counts? {
        try? await channel.close()
        source.close()
        return try? await task.value
    }
}

/// One reassembler per sender, so that nobody can interleave datagrams into another camera's
/// frames, and a few senders at most: a new one past `maximumSenders` takes the place of the one
/// that completed a frame longest ago, senders that never completed one first (whose frames in
/// flight are lost). So datagrams from fresh ports push each other out, not a camera that is
/// delivering frames. Each holds at most its reassembler's cap, so all of them at most
/// `maximumSenders` times that. (The UDP input has no authentication: whoever can send to the
/// port can send frames of their own. Listen on a network only the camera reaches.)
struct SenderReassemblers {
    static let maximumSenders = 4
    private var senders: [String: (reassembler: FrameReassembler, heard: Int, delivered: Int)] = [:]
    private var clock = 0
    /// The counts of senders forgotten.
    private var forgotten = FrameReassembler.Counts()

    mutating func accept(_ datagram: [UInt8], from sender: String) -> [UInt8]? {
        clock += 1
        if senders[sender] == nil, senders.count >= Self.maximumSenders,
            let oldest = senders.min(by: { ($0.value.delivered, $0.value.heard) < ($1.value.delivered, $1.value.heard) })?.key,
            let gone = senders.removeValue(forKey: oldest)
        {
            forgotten.add(gone.reassembler.counts, lostInFlight: gone.reassembler.framesInFlight)
        }
        var entry = senders[sender] ?? (FrameReassembler(), clock, 0)
        entry.heard = clock
        let frame = entry.reassembler.accept(datagram)
        if frame != nil { entry.delivered = clock }
        senders[sender] = entry
        return frame?.bytes
    }

    var counts: FrameReassembler.Counts {
        senders.values.reduce(into: forgotten) { $0.add($1.reassembler.counts, lostInFlight: 0) }
    }
}

/// Sends JPEG frames as `FramePackets` datagrams to one address (`msai camera --udp`).
/// `loss` drops that share of datagrams on purpose, to try the receiver's tolerance.
public actor UDPFrameSender {
    private let channel: NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>
    private let target: SocketAddress
    private var number: UInt32 = 0
    private var random: SplitMix64
    public let loss: Double
    public private(set) var datagramsSent = 0
    public private(set) var datagramsDropped = 0

    public init(host: String, port: Int, loss: Double = 0, seed: UInt64 = 1) async throws {
        guard (0...1).contains(loss) else { throw MSAIError.invalidArgument("--loss must lie in 0...1, got \(loss)") }
        do {
            target = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw MSAIError.invalidArgument("cannot resolve the UDP target \(host):\(port): \(error)")
        }
        self.loss = loss
        random = SplitMix64(seed: seed)
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.so_sndbuf), value: 4 << 20)
            .bind(host: target.protocol == .inet6 ? "::" : "0.0.0.0", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Sends one frame; returns its number, and whether every datagram of it went out (none
    /// dropped on purpose).
    @discardableResult
    public func send(_ jpeg: [UInt8]) async throws -> (number: UInt32, whole: Bool) {
        let packets = try FramePackets.split(jpeg, number: number)
        defer { number &+= 1 }
        var whole = true
        for packet in packets {
            if loss > 0, Double.random(in: 0..<1, using: &random) < loss {
                datagramsDropped += 1
                whole = false
                continue
            }
            try await channel.channel.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: packet)))
            datagramsSent += 1
        }
        return (number, whole)
    }

    public func close() async { try? await channel.channel.close() }
}
