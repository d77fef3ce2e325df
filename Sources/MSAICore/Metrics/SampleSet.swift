/// Interleaved 8-bit samples with a channel count, gathered from a whole image or from
/// some of its areas, so that every metric works the same way on both.
public struct SampleSet: Equatable, Sendable {
    public let channels: Int
    public let values: [UInt8]

    public init(channels: Int, values: [UInt8]) {
        self.channels = channels
        self.values = values
    }

    public var count: Int { values.count }
    /// Samples per channel.
    public var countPerChannel: Int { channels == 0 ? 0 : values.count / channels }
}

extension PixelBuffer {
    /// All samples of the image.
    public var sampleSet: SampleSet { SampleSet(channels: channels, values: samples) }

    /// The samples of `areas`, concatenated in order (a sample under two overlapping areas counts twice).
    public func sampleSet(in areas: [Rect]) throws -> SampleSet {
        var values: [UInt8] = []
        values.reserveCapacity(areas.reduce(0) { $0 + $1.area } * channels)
        for area in areas {
            values.append(contentsOf: try cropped(to: area).samples)
        }
        return SampleSet(channels: channels, values: values)
    }
}

/// A figure measured per channel, with the mean over channels.
public struct ChannelFigures: Equatable, Sendable, Codable {
    public let perChannel: [Double]
    public var mean: Double { perChannel.isEmpty ? .nan : perChannel.reduce(0, +) / Double(perChannel.count) }

    public init(perChannel: [Double]) { self.perChannel = perChannel }
}
