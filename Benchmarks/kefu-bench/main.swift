import Foundation

/// `kefu-bench`: speed figures. `classify` (the default) measures the classifier;
/// `load` measures `kefu serve` under many concurrent customers; `dialogue` measures
/// the gateway engine's per-message work without sockets.
var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "load" {
    arguments.removeFirst()
    loadBenchmark(arguments)
} else if arguments.first == "dialogue" {
    arguments.removeFirst()
    dialogueBenchmark(arguments)
} else {
    if arguments.first == "classify" { arguments.removeFirst() }
    classifyBenchmark(arguments)
}
