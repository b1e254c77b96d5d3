// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Kefu",
    products: [
        .executable(name: "kefu", targets: ["kefu"]),
        .library(name: "KefuCore", targets: ["KefuCore"]),
    ],
    targets: [
        // The engine: normalise → understand → decide → respond → record.
        // Optimised in debug builds too: every start compiles the knowledge base (the intent
        // classifier and the handoff model), 15–25 s unoptimised against 0.4 s, and the tests
        // train dozens of knowledge bases (swift test: 122 s of tests against 20 s). The
        // command, the tests and the benchmarks stay debuggable.
        .target(name: "KefuCore", path: "Sources/KefuCore",
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // The `kefu` command: parses arguments and dispatches to KefuCore.
        // The benchmarks (`kefu-bench`) are a package of their own in Benchmarks/, so that
        // `swift test` does not build them: `swift build -c release --package-path Benchmarks`.
        .executableTarget(name: "kefu", dependencies: ["KefuCore"], path: "Sources/kefu"),
        // Conversations/ holds transcript files that ConversationTests reads from disk. The
        // tests import `kefu` too, to check each command's option declarations against its help.
        .testTarget(name: "KefuCoreTests", dependencies: ["KefuCore", "kefu"], path: "Tests/KefuCoreTests", exclude: ["Conversations"]),
    ],
    swiftLanguageModes: [.v6]
)
