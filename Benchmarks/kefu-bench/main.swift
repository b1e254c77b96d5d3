import Foundation

/// `kefu-bench`: speed figures. `classify` (the default) measures the classifier;
/// `load` measures `kefu serve` under many concurrent customers; `dialogue` measures
/// the gateway engine's per-message work without sockets; `memory` measures the server's
/// memory as customers come and go; `echo-server` is the do-nothing responder `load --burst`
/// compares against.
var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "load" {
    arguments.removeFirst()
    loadBenchmark(arguments)
} else if arguments.first == "echo-server" {
    echoServer()
} else if arguments.first == "memory" {
    arguments.removeFirst()
    memoryBenchmark(arguments)
} else if arguments.first == "dialogue" {
    arguments.removeFirst()
    dialogueBenchmark(arguments)
} else {
    if arguments.first == "classify" { arguments.removeFirst() }
    classifyBenchmark(arguments)
}
