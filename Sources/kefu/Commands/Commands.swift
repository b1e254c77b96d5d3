/// Every subcommand of `kefu`, in the order `kefu --help` lists them: its description (from
/// which parsing and `--help` come) and what runs it.
let commands: [(command: CommandDescription, run: @Sendable ([String]) throws -> Int32)] = [
    (ChatCommand.command, ChatCommand.run),
    (ServeCommand.command, ServeCommand.run),
    (AgentCommand.command, AgentCommand.run),
    (ClassifyCommand.command, ClassifyCommand.run),
    (ExplainCommand.command, ExplainCommand.run),
    (StatsCommand.command, StatsCommand.run),
    (EvalCommand.command, EvalCommand.run),
    (LintCommand.command, LintCommand.run),
    (TestCommand.command, TestCommand.run),
    (ReportCommand.command, ReportCommand.run),
    (ImportCommand.command, ImportCommand.run),
]
