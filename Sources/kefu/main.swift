import Foundation
import KefuCore

/// `kefu`: dispatches to one subcommand; all the work happens in KefuCore.
let commands: [(name: String, summary: String, help: String, run: ([String]) throws -> Int32)] = [
    (ChatCommand.name, ChatCommand.summary, ChatCommand.help, ChatCommand.run),
    (ServeCommand.name, ServeCommand.summary, ServeCommand.help, ServeCommand.run),
    (AgentCommand.name, AgentCommand.summary, AgentCommand.help, AgentCommand.run),
    (ClassifyCommand.name, ClassifyCommand.summary, ClassifyCommand.help, ClassifyCommand.run),
    (ExplainCommand.name, ExplainCommand.summary, ExplainCommand.help, ExplainCommand.run),
    (StatsCommand.name, StatsCommand.summary, StatsCommand.help, StatsCommand.run),
    (EvalCommand.name, EvalCommand.summary, EvalCommand.help, EvalCommand.run),
    (LintCommand.name, LintCommand.summary, LintCommand.help, LintCommand.run),
    (TestCommand.name, TestCommand.summary, TestCommand.help, TestCommand.run),
    (ReportCommand.name, ReportCommand.summary, ReportCommand.help, ReportCommand.run),
    (ImportCommand.name, ImportCommand.summary, ImportCommand.help, ImportCommand.run),
]

@MainActor func mainHelp() -> String {
    var text = "Usage: kefu <command> [options]\n\nKefu (客服): a customer-service chatbot and intent router.\n\nCommands:\n"
    for c in commands { text += "  " + c.name.padding(toLength: 10, withPad: " ", startingAt: 0) + c.summary + "\n" }
    text += "\nRun 'kefu <command> --help' for a command's options."
    return text
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let commandName = arguments.first else {
    print(mainHelp())
    exit(0)
}
if commandName == "--help" || commandName == "-h" || commandName == "help" {
    print(mainHelp())
    exit(0)
}
guard let command = commands.first(where: { $0.name == commandName }) else {
    var message = "Error: unknown command '\(commandName)'."
    if let near = closest(commandName, among: commands.map(\.name)) { message += " Did you mean '\(near)'?" }
    printError(message + "\nRun 'kefu --help' to see the commands.")
    exit(64)
}
arguments.removeFirst()
if arguments.contains("--help") || arguments.contains("-h") {
    print(command.help)
    exit(0)
}
do {
    exit(try command.run(arguments))
} catch let error as UsageError {
    printError("Error: \(error.message)\nRun 'kefu \(error.command) --help' for usage.")
    exit(64)
} catch let error as CommandFailure {
    printError("Error: \(error.message)")
    exit(1)
} catch {
    printError("Error: \(error)")
    exit(1)
}
