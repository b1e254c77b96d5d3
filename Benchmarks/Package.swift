// swift-tools-version: 6.0
import PackageDescription

// The benchmarks as a package of their own, so that `swift test` at the root never builds
// them. They use KefuCore's public API and start the `kefu` command as a child process.
//
//     swift build -c release --package-path Benchmarks
//     swift run -c release --package-path Benchmarks kefu-bench …
let package = Package(
    name: "KefuBenchmarks",
    dependencies: [.package(name: "Kefu", path: "..")],
    targets: [
        // Benchmarks: throughput, latency, compile time and memory, printed as figures.
        .executableTarget(name: "kefu-bench",
                          dependencies: [.product(name: "KefuCore", package: "Kefu"), .product(name: "kefu", package: "Kefu")],
                          path: "kefu-bench"),
    ],
    swiftLanguageModes: [.v6]
)
