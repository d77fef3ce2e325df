import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MSAINetwork

/// Authentication as route middleware: a route says who may call it or that anyone may; the
/// caller is found once per request, in constant time, and each route admits only its roles.
/// Driven through Hummingbird's router test framework: in process, no socket.
@Suite struct AuthenticationTests {
    static let viewer = String(repeating: "v", count: 64), recoverer = String(repeating: "r", count: 64)
    static let edge = String(repeating: "e", count: 64)

    @Test func eachRouteAdmitsOnlyTheRolesItNames() async throws {
        let routes = RoleRoutes(tokens: [.viewer: [Self.viewer], .recoverer: [Self.recoverer], .edge: [Self.edge, ""]])
        routes.on(.get, "/open", access: .anyone) { _, context in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: context.identity?.actor ?? "nobody")))
        }
        routes.on(.get, "/read", access: .only([.viewer, .recoverer])) { _, context in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: try context.caller().actor)))
        }
        routes.on(.get, "/recover", access: .only([.recoverer])) { _, context in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: try context.caller().actor)))
        }
        try await Application(router: routes.finished).test(.router) { client in
            func get(_ path: String, _ token: String?) async throws -> (Int, String) {
                var headers = HTTPFields()
                if let token { headers[.authorization] = "Bearer \(token)" }
                let response = try await client.execute(uri: path, method: .get, headers: headers)
                return (response.status.code, String(buffer: response.body))
            }
            #expect(try await get("/open", nil).0 == 200)
            #expect(try await get("/open", nil).1 == "nobody")
            let (noToken, noTokenBody) = try await get("/read", nil)
            #expect(noToken == 401 && noTokenBody.contains("missing bearer token: this endpoint needs the token of a viewer or a recoverer"))
            let (wrong, wrongBody) = try await get("/read", String(repeating: "x", count: 64))
            #expect(wrong == 401 && wrongBody.contains("wrong token"))
            #expect(try await get("/read", "").0 == 401)  // an empty token admits nobody
            #expect(try await get("/read", Self.edge).0 == 401)  // a token of another role
            let (asViewer, viewerActor) = try await get("/read", Self.viewer)
            #expect(asViewer == 200 && viewerActor.hasPrefix("viewer:") && viewerActor.count == "viewer:".count + 8)
            #expect(try await get("/read", Self.recoverer).1.hasPrefix("recoverer:"))
            let (forbidden, forbiddenBody) = try await get("/recover", Self.viewer)
            #expect(forbidden == 403 && forbiddenBody.contains("a viewer token gets the masked view only"))
            #expect(try await get("/recover", Self.recoverer).0 == 200)
            // The fingerprint names the token, not the role: two tokens, two fingerprints.
            #expect(try await get("/read", Self.viewer).1 != (try await get("/read", Self.recoverer).1.replacingOccurrences(of: "recoverer", with: "viewer")))
        }
    }
}
