/// One customer message as the conversation reads it: the normalised text, the dialogue acts
/// it is made of, and — only when a step needs them — what the classifier understood and the
/// route, each worked out at most once however many steps look at them.
final class MessageReading {
    let n: NormalizedText
    let acts: ActReading?
    private let kb: KnowledgeBase
    /// What the classifier understood, if a step asked (for the reply's fields).
    private(set) var understood: Understanding?
    private var routed: RouteDecision?

    init(_ n: NormalizedText, kb: KnowledgeBase) {
        self.n = n
        self.kb = kb
        acts = kb.acts.read(n)
    }

    /// The classifier's reading, with the candidates the route was decided on when the router
    /// set some aside (a calm message naming 投诉 answered from the rest).
    var understanding: Understanding {
        if let u = understood { return u }
        var u = kb.understand(n)
        let d = kb.route(u)
        if let kept = d.candidates { u = u.with(candidates: kept) }
        understood = u
        routed = d
        return u
    }

    var decision: RouteDecision {
        if let d = routed { return d }
        _ = understanding
        return routed!
    }
}
