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

    /// The samples covered by any of `areas`, each once, in raster order: what metrics over
    /// "the sensitive areas" use, so overlapping areas do not count a sample twice.
    public func sampleSet(coveredBy areas: [Rect]) throws -> SampleSet {
        for area in areas { try checkContains(area) }
        var covered = [Bool](repeating: false, count: width * height)
        for area in areas {
            for y in area.y..<area.maxY {
                for x in area.x..<area.maxX { covered[y * width + x] = true }
            }
        }
        var values: [UInt8] = []
        values.reserveCapacity(covered.count * channels)
        for i in 0..<covered.count where covered[i] {
            values.append(contentsOf: samples[(i * channels)..<((i + 1) * channels)])
        }
        return SampleSet(channels: channels, values: values)
    }

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
