import Foundation

/// `kefu-bench`: speed figures. `classify` (the default) measures the classifier;
/// `load` measures `kefu serve` under many concurrent customers; `dialogue` measures
/// the gateway engine's per-message work without sockets; `memory` measures the server's
/// memory as customers come and go; `http`, `ws-memory` and `relay` measure the HTTP channel
/// (docs/HTTP.md); `store` compares one instance on Redis with one on the journals and times
/// the relay between two instances (docs/SCALING.md); `echo-server` and `http-floor` are the do-nothing responders that
/// `load --burst` and `http` compare against.
var arguments = Array(CommandLine.arguments.dropFirst())
let modes: Set = ["classify", "load", "memory", "dialogue", "http", "ws-memory", "relay", "store", "echo-server", "http-floor"]
let mode = arguments.first.flatMap { modes.contains($0) ? $0 : nil }
if mode != nil { arguments.removeFirst() }
switch mode {
case "load": loadBenchmark(arguments)
case "memory": memoryBenchmark(arguments)
case "dialogue": dialogueBenchmark(arguments)
case "http": httpBenchmark(arguments)
case "ws-memory": wsMemoryBenchmark(arguments)
case "relay": relayBenchmark(arguments)
case "store": storeBenchmark(arguments)
case "echo-server": echoServer()
case "http-floor": httpFloorServer()
default: classifyBenchmark(arguments)
}
