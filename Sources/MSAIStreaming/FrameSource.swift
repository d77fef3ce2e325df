import MSAICore

/// One decoded frame of a stream: its number at the source, its time in the stream (from the
/// container's frame rate for files, from arrival for live sources), and its pixels.
public struct StreamFrame: Sendable {
    public let index: Int
    public let time: Duration
    public let pixels: PixelBuffer
    /// The camera's JPEG of this frame, for the `jpeg` mode, when the source was asked to keep
    /// it (`keepJPEG`) and the frame came as a JPEG the DCT domain takes (`ImageFile.frame`);
    /// `pixels` are then its pixels as stored.
    public let jpeg: [UInt8]?

    public init(index: Int, time: Duration, pixels: PixelBuffer, jpeg: [UInt8]? = nil) {
        self.index = index
        self.time = time
        self.pixels = pixels
        self.jpeg = jpeg
    }
}

/// Where a stream's frames come from. `next()` is called by one task at a time; nil ends the
/// stream. A live source drops frames itself when the pipeline falls behind (before detection)
/// and counts them in `dropped`.
public protocol FrameSource: AnyObject, Sendable {
    func next() async throws -> StreamFrame?
    var dropped: Int { get async }
    /// Ends the stream: `next()` returns nil from now on (callable from any thread).
    func close()
    /// A live source cannot wait: when detection falls behind, scheduled detections are skipped
    /// (the frames reuse older areas, or go whole). A file can wait: every scheduled frame is detected.
    var isLive: Bool { get }
}
