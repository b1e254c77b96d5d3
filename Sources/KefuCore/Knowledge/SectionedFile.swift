/// The shared syntax of the `Intents/*.txt` files:
///
///     # comment
///     [section]
///     key: value
///     - list item
struct SectionedFile {
    struct Item {
        let key: String?
        let value: String
        let line: Int
    }
    struct Section {
        let name: String
        let line: Int
        var items: [Item]
    }

    let path: String
    var sections: [Section]

    func section(_ name: String) -> Section? { sections.first { $0.name == name } }

    static func parse(_ text: TextLines, problems: inout [LoadProblem]) -> SectionedFile {
        var sections: [Section] = []
        for (offset, raw) in text.lines.enumerated() {
            let number = offset + 1
            let line = raw.withoutComment.trimmed
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    problems.append(LoadProblem(file: text.path, line: number, "a section header must look like [name]"))
                    continue
                }
                let name = String(line.dropFirst().dropLast()).trimmed
                if sections.contains(where: { $0.name == name }) {
                    problems.append(LoadProblem(file: text.path, line: number, "section [\(name)] appears twice; merge the two"))
                }
                sections.append(Section(name: name, line: number, items: []))
                continue
            }
            guard !sections.isEmpty else {
                problems.append(LoadProblem(file: text.path, line: number, "text before the first [section] header"))
                continue
            }
            if line.hasPrefix("- ") || line == "-" {
                sections[sections.count - 1].items.append(Item(key: nil, value: String(line.dropFirst()).trimmed, line: number))
            } else if let (key, value) = line.splitKeyValue(), !key.isEmpty {
                sections[sections.count - 1].items.append(Item(key: key, value: value, line: number))
            } else {
                problems.append(LoadProblem(file: text.path, line: number, "expected `key: value` or `- item`, found '\(line.prefix(40))'"))
            }
        }
        return SectionedFile(path: text.path, sections: sections)
    }
}
