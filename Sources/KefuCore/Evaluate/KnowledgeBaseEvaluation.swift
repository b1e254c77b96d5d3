/// A labelled customer message for the shipped knowledge base: topic and expected route.
public struct RoutedExample: Sendable {
    public let text: String
    public let topic: String
    public let route: Route?
    /// The handoff reason expected (`safety`, `money` …), when the file gives one.
    public var reason: HandoffReason? = nil
    public let line: Int
}

/// How the knowledge base does on labelled customer messages: topic accuracy, route
/// accuracy, and the two safety figures, every must-hand-off message handed off and no
/// calm routine question handed off.
public struct KnowledgeBaseEvaluation: Sendable {
    public struct Miss: Sendable {
        public let example: RoutedExample
        public let topic: String
        public let route: Route
        public let rule: String
    }

    public let topicMetrics: ClassificationMetrics
    public let routeAccuracy: Double
    public let handoffExpected: Int
    public let handoffMissed: [Miss]
    public let routineAnswerExpected: Int
    public let routineHandedOff: [Miss]
    public let topicMisses: [Miss]
    public let speed: SpeedFigures
    /// Out-of-scope messages (topic `out_of_scope`) the bot fell back on, and how many there were.
    public let outOfScopeCaught: Int
    public let outOfScopeExpected: Int
    /// Per expected handoff reason: how many were handed off, of how many.
    public let handedOffByReason: [HandoffReason: (handedOff: Int, expected: Int)]

    /// The topic a message counts as: out of scope when the bot falls back.
    static func predictedTopic(_ u: Understanding, _ decision: RouteDecision) -> String {
        decision.route == .fallback ? KnowledgeBase.outOfScopeTopic : decision.topic ?? u.topic
    }

    public init(kb: KnowledgeBase, examples: [RoutedExample]) {
        var topics: [String] = [], routes: [Route] = [], rules: [String] = []
        let timed = Evaluation.classifyTimed(examples.map(\.text)) { text in
            let u = kb.understand(text)
            let d = kb.route(u)
            topics.append(Self.predictedTopic(u, d))
            routes.append(d.route)
            rules.append(d.rule)
            return (topics.last!, u.top?.probability ?? 0)
        }
        speed = timed.speed
        topicMetrics = ClassificationMetrics(expected: examples.map(\.topic), predicted: topics)
        var routeCorrect = 0, routeCount = 0
        var handoffMissed: [Miss] = [], routineHandedOff: [Miss] = [], topicMisses: [Miss] = []
        var handoffExpected = 0, routineExpected = 0
        for (i, e) in examples.enumerated() {
            let miss = Miss(example: e, topic: topics[i], route: routes[i], rule: rules[i])
            if topics[i] != e.topic { topicMisses.append(miss) }
            guard let expected = e.route else { continue }
            routeCount += 1
            // Clarifying is an acceptable first move for a routine in-scope question.
            if routes[i] == expected || (expected == .answer && routes[i] == .clarify) { routeCorrect += 1 }
            if expected == .handoff {
                handoffExpected += 1
                if routes[i] != .handoff { handoffMissed.append(miss) }
            } else if expected == .answer {
                routineExpected += 1
                if routes[i] == .handoff { routineHandedOff.append(miss) }
            }
        }
        routeAccuracy = routeCount == 0 ? 0 : Double(routeCorrect) / Double(routeCount)
        let outOfScope = examples.indices.filter { examples[$0].topic == KnowledgeBase.outOfScopeTopic }
        outOfScopeExpected = outOfScope.count
        outOfScopeCaught = outOfScope.filter { routes[$0] == .fallback }.count
        var byReason: [HandoffReason: (handedOff: Int, expected: Int)] = [:]
        for (i, e) in examples.enumerated() {
            guard let reason = e.reason, e.route == .handoff else { continue }
            var figure = byReason[reason] ?? (0, 0)
            figure.expected += 1
            if routes[i] == .handoff { figure.handedOff += 1 }
            byReason[reason] = figure
        }
        handedOffByReason = byReason
        self.handoffExpected = handoffExpected
        self.handoffMissed = handoffMissed
        self.routineAnswerExpected = routineExpected
        self.routineHandedOff = routineHandedOff
        self.topicMisses = topicMisses
    }
}

extension LabelledFile {
    /// Reads `{"text","topic","route"}` lines (or `label` for the topic).
    public static func readRouted(_ path: String) throws -> [RoutedExample] {
        var result: [RoutedExample] = []
        var line = 0
        for (example, fields) in try read(path, labelKey: "topic", fallbackLabelKey: "label") {
            line += 1
            result.append(RoutedExample(text: example.text, topic: example.label, route: fields["route"].flatMap(Route.init(rawValue:)),
                                        reason: fields["reason"].flatMap(HandoffReason.init(rawValue:)), line: line))
        }
        return result
    }
}
