import Foundation
import KefuCore

/// `kefu`: dispatches to one subcommand (`commands`, in Commands/Commands.swift); all the work happens in KefuCore.
@MainActor func mainHelp() -> String {
    var text = "Usage: kefu <command> [options]\n\nKefu (客服): a customer-service chatbot and intent router.\n\nCommands:\n"
    for c in commands { text += "  " + c.command.name.padding(toLength: 10, withPad: " ", startingAt: 0) + c.command.summary + "\n" }
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
guard let command = commands.first(where: { $0.command.name == commandName }) else {
    var message = "Error: unknown command '\(commandName)'."
    if let near = Suggestion.closest(commandName, among: commands.map(\.command.name)) { message += " Did you mean '\(near)'?" }
    printError(message + "\nRun 'kefu --help' to see the commands.")
    exit(64)
}
arguments.removeFirst()
if arguments.contains("--help") || arguments.contains("-h") {
    print(command.command.help)
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
