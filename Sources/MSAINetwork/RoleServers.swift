import Foundation
import Logging
import MSAICore
import MSAIRoles
import ServiceLifecycle
import UnixSignals

/// The data center as a running service, built from a configuration and a store: what `msai up`,
/// `msai datacenter serve`, the tests and the bench all start. Its retention, when the
/// configuration asks for one, runs as a service beside the HTTP server and stops with it.
public struct DataCenterServer: Sendable {
    public let dataCenter: DataCenter
    public let server: RunningServer
    /// Its metrics (`GET /metrics`) and request log.
    public let observation: RoleObservation
    public var url: String { server.url }

    /// Listens on `listen` (host:port; port 0 picks a free one), or on the configuration's
    /// `datacenter_listen`. `onRetention` is told how many frames each retention pass deleted;
    /// retention waits between passes on `clock` and cuts off at `now()` less the period.
    public static func start(_ c: RoleConfiguration, store: DataCenterStore, listen: String? = nil,
                             name: String = "msai-datacenter", limits: ServerLimits = ServerLimits(), logLevel: Logger.Level = .warning,
                             clock: any Clock<Duration> = ContinuousClock(), now: @escaping @Sendable () -> Date = Date.init,
                             observation: RoleObservation = RoleObservation(role: "datacenter"),
                             onRetention: @escaping @Sendable (Result<Int, Error>) -> Void = { _ in }) async throws -> DataCenterServer {
        let (host, port, tls) = try c.listening(listen ?? c.dataCenterListen, role: "data center", field: "datacenter_listen")
        let dataCenter = DataCenter(store: store, maximumFramePixels: c.maxFramePixels ?? DataCenter.defaultMaximumFramePixels)
        let heavy = HeavyWork(workers: limits.heavyWorkers, queue: limits.heavyQueue)
        let storage = HeavyWork(workers: ServerLimits.storageWorkers, queue: ServerLimits.storageQueue)
        let retention = c.retentionSeconds.map { keeping in
            RetentionService(dataCenter: dataCenter, keeping: keeping, storage: storage, clock: clock, now: now) { result in
                switch result {
                case .success(let deleted) where deleted > 0:
                    observation.metrics.count("msai_retention_deleted_frames_total", by: deleted)
                    observation.logger.notice("retention", metadata: ["deleted": "\(deleted)", "older_than_s": "\(keeping)"])
                case .failure(let error):
                    observation.logger.error("retention failed", metadata: ["error": "\((error as? MSAIError)?.description ?? "\(error)")"])
                default:
                    break
                }
                onRetention(result)
            }
        }
        let server = try await RunningServer.start(
            DataCenterService.router(dataCenter: dataCenter, cloudToken: c.cloudToken, edgeTokens: c.acceptedEdgeTokens,
                                     viewerTokens: c.viewerTokens, recovererTokens: c.recovererTokens, metricsTokens: c.metricsTokens,
                                     devices: try c.devicesFile.map { try DeviceRegistry(path: $0) }, limits: limits, heavy: heavy,
                                     storage: storage, observation: observation),
            host: host, port: port, name: name, role: "the data center", limits: limits, tls: tls, logLevel: logLevel,
            services: [heavy, storage] + (retention.map { [$0] } ?? []))
        return DataCenterServer(dataCenter: dataCenter, server: server, observation: observation)
    }

    public func stop() async { await server.stop() }
}

/// The cloud as a running service: issues membranes to enrolled edges and deposits each key with
/// the data center at `dataCenterURL` before answering.
public struct CloudServer: Sendable {
    public let cloud: CloudPlatform
    public let server: RunningServer
    /// Its metrics (`GET /metrics`) and request log.
    public let observation: RoleObservation
    public var url: String { server.url }

    /// `retry` bounds the deposit: it must finish well inside an edge's default 10 s deadline, or
    /// the edge would blame the cloud for the data center's silence.
    public static func start(_ c: RoleConfiguration, dataCenterURL: String, listen: String? = nil, name: String = "msai-cloud",
                             retry: RetryPolicy = RetryPolicy(deadline: .seconds(3), attempts: 2),
                             limits: ServerLimits = ServerLimits(), logLevel: Logger.Level = .warning,
                             observation: RoleObservation = RoleObservation(role: "cloud")) async throws -> CloudServer {
        let (host, port, tls) = try c.listening(listen ?? c.cloudListen, role: "cloud", field: "cloud_listen")
        let caFile = try c.transport(dataCenterURL, role: "data center")
        let cloud = CloudPlatform(escrow: HTTPDataCenterClient(url: dataCenterURL, token: c.cloudToken, retry: retry, caFile: caFile))
        let heavy = HeavyWork(workers: limits.heavyWorkers, queue: limits.heavyQueue)
        let server = try await RunningServer.start(CloudService.router(cloud: cloud, edgeTokens: c.acceptedEdgeTokens, metricsTokens: c.metricsTokens,
                                                                       devices: try c.devicesFile.map { try DeviceRegistry(path: $0) },
                                                                       limits: limits, heavy: heavy, observation: observation),
                                                   host: host, port: port, name: name, role: "the cloud", limits: limits, tls: tls,
                                                   logLevel: logLevel, services: [heavy])
        return CloudServer(cloud: cloud, server: server, observation: observation)
    }

    public func stop() async { await server.stop() }
}

/// Deletes frames older than the retention period, at start and then every tenth of the period
/// (at most every minute), until the service group shuts down.
struct RetentionService: Service {
    let dataCenter: DataCenter
    let keeping: Double
    /// Where its database calls run: not on the cooperative pool.
    let storage: HeavyWork
    let clock: any Clock<Duration>
    let now: @Sendable () -> Date
    let report: @Sendable (Result<Int, Error>) -> Void

    var interval: Duration { .seconds(min(60, max(1, keeping / 10))) }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let cutoff = now()
                do {
                    report(.success(try await storage.run { try dataCenter.applyRetention(keeping: .seconds(keeping), now: cutoff) }))
                } catch {
                    report(.failure(error))
                }
                do { try await clock.sleep(for: interval) } catch { return }
            }
        }
    }
}

/// Returns when the process is asked to stop (SIGINT from Ctrl-C, or SIGTERM from a supervisor).
public func waitForTerminationSignal() async {
    let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
    for await _ in signals { return }
}
