import Foundation

/// `kefu-bench`: speed figures. `classify` (the default) measures the classifier;
/// `load` measures `kefu serve` under many concurrent customers.
var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "load" {
    arguments.removeFirst()
    loadBenchmark(arguments)
} else {
    if arguments.first == "classify" { arguments.removeFirst() }
    classifyBenchmark(arguments)
}
