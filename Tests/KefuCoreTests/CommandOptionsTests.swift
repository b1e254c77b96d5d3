import Testing
@testable import kefu

/// Each command's options are declared once; parsing and the `Options:` block of `--help`
/// both come from the declarations, so they cannot drift apart.
@Suite("The kefu commands' option declarations")
struct CommandOptionsTests {
    @Test("every option a command parses appears in its --help, with its value placeholder")
    func everyParsedOptionIsInHelp() throws {
        #expect(commands.count >= 11)
        for (command, _) in commands {
            let help = command.help
            #expect(help.hasPrefix("Usage: kefu \(command.name)"), "\(command.name)")
            let names = command.options.map(\.name)
            #expect(Set(names).count == names.count, "\(command.name) declares an option twice")
            for option in command.options where !option.hidden {
                // The option's own line of the generated table: "  --kb DIR   …".
                let line = help.split(separator: "\n").first { $0.hasPrefix("  \(option.synopsis) ") }
                #expect(line != nil, "kefu \(command.name) parses \(option.name) but --help does not list it")
                // And the parser accepts it as declared.
                let arguments = option.takesValue ? [option.name, "x"] : [option.name]
                let parsed = try ParsedArguments.parse(arguments, for: command)
                if option.takesValue { #expect(parsed[option] == "x") } else { #expect(parsed.has(option)) }
            }
        }
    }

    @Test("the Usage lines are built from the declarations: each names only options the command parses, and every main option appears in one")
    func usageLinesFollowDeclarations() throws {
        for (command, _) in commands {
            let usage = command.usageLines.joined(separator: "\n")
            #expect(command.usageLines.allSatisfy { $0.count <= CommandDescription.usageWidth }, "\(command.name): a Usage line is too wide")
            let declared = Set(command.options.filter { !$0.hidden }.map(\.name))
            let named = usage.split(whereSeparator: { " []|.\n".contains($0) }).filter { $0.hasPrefix("--") }.map(String.init)
            for name in named { #expect(declared.contains(name), "kefu \(command.name)'s usage names \(name), which it does not parse") }
            for option in command.groups[0].options where !option.hidden {
                #expect(usage.contains(option.synopsis), "kefu \(command.name)'s usage leaves out \(option.synopsis)")
            }
        }
    }

    @Test("an unknown option is refused with the nearest declared one suggested")
    func unknownOptionSuggestsDeclared() {
        do {
            _ = try ParsedArguments.parse(["--http-listn", "127.0.0.1:0"], for: ServeCommand.command)
            Issue.record("parsed an unknown option")
        } catch let error as UsageError {
            #expect(error.message.contains("Did you mean '--http-listen'?"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("a repeatable option keeps every value in order; others keep the last")
    func repeatable() throws {
        let parsed = try ParsedArguments.parse(["--webhook", "http://a/", "--webhook=http://b/", "--rate", "1", "--rate", "2"],
                                               for: ServeCommand.command)
        #expect(parsed.all(ServeCommand.webhook) == ["http://a/", "http://b/"])
        #expect(parsed[ServeCommand.rate] == "2")
    }
}
