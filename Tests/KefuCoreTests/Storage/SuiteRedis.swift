import Foundation
import Testing
@testable import KefuCore

/// One real `redis-server` for a whole suite (`@Suite(.redisServer)`): started before its
/// first test, removed after its last, with `appendonly yes` and `appendfsync always` so that
/// what it acknowledged is on its disk. Tests read it from `SuiteRedis.server` and keep apart
/// by key prefix.
enum SuiteRedis {
    @TaskLocal static var server: RedisServerProcess?

    struct NoServer: Error, CustomStringConvertible {
        var description: String { "no suite Redis: the suite needs the .redisServer trait" }
    }
}

struct RedisServerTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let server = try RedisServerProcess(appendOnly: true)
        defer { server.remove() }
        try await SuiteRedis.$server.withValue(server) { try await function() }
    }
}

extension Trait where Self == RedisServerTrait {
    /// A redis-server for the suite, in `SuiteRedis.server`.
    static var redisServer: Self { Self() }
}
