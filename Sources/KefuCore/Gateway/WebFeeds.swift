/// The items of the web conversations: numbered, kept for catching up, and the subscribers
/// (event streams and WebSockets) that receive each new one. Touched only on the loop thread.
///
/// The engine makes an item's content; the feed gives it its `seq`, so every copy of it —
/// the HTTP reply, the history, the event stream, the WebSocket — carries the same number,
/// and a client that reconnects asks for what follows the highest number it has seen.
final class WebFeeds {
    struct Item {
        let seq: Int
        /// The item as a JSON object, `seq` first.
        let json: [UInt8]
    }

    /// What became of a `client_message_id`: still being answered (and which requests wait
    /// for the answer), or answered with these items.
    enum Answer {
        case pending(text: String, conversation: String, waiting: [Int])
        case done(text: String, conversation: String, items: [Item])

        var text: String {
            switch self {
            case .pending(let text, _, _), .done(let text, _, _): text
            }
        }
    }

    final class Feed {
        private(set) var nextSeq = 1
        private(set) var items: [Item] = []
        private var bytes = 0
        /// The streams following the conversation: nearly always one or none, so an array
        /// (a set's table is several times the size of a one-element array).
        private(set) var subscribers: [Int] = []

        func subscribe(_ connection: Int) {
            if !subscribers.contains(connection) { subscribers.append(connection) }
        }

        func unsubscribe(_ connection: Int) {
            subscribers.removeAll { $0 == connection }
        }
        var answers: [String: Answer] = [:]
        /// Client message ids in the order they came, to forget the oldest.
        var answerOrder: [String] = []
        var lastUsed: UInt64

        init(now: UInt64) {
            lastUsed = now
        }

        /// Numbers `object` (a JSON object) and keeps it, forgetting the oldest items beyond
        /// the limits.
        func append(_ object: [UInt8]) -> Item {
            var json = Array("{\"seq\":\(nextSeq)".utf8)
            if object.count > 2 { json.append(0x2C) }
            json.append(contentsOf: object.dropFirst())
            let item = Item(seq: nextSeq, json: json)
            nextSeq += 1
            items.append(item)
            bytes += json.count
            var drop = 0
            while items.count - drop > WebFeeds.maxItems || (bytes > WebFeeds.maxBytes && items.count - drop > 1) {
                bytes -= items[drop].json.count
                drop += 1
            }
            if drop > 0 { items.removeFirst(drop) }
            return item
        }

        /// Items after `seq`, and the oldest still kept (nil when none is).
        func items(after seq: Int) -> (items: ArraySlice<Item>, first: Int?) {
            let start = items.firstIndex { $0.seq > seq } ?? items.endIndex
            return (items[start...], items.first?.seq)
        }

        var lastSeq: Int { nextSeq - 1 }

        func remember(_ id: String, _ answer: Answer) {
            if answers.updateValue(answer, forKey: id) == nil {
                answerOrder.append(id)
                if answerOrder.count > WebFeeds.maxAnswers { answers[answerOrder.removeFirst()] = nil }
            }
        }
    }

    /// Items and bytes kept per conversation, and client message ids remembered.
    static let maxItems = 200
    static let maxBytes = 64 * 1024
    static let maxAnswers = 64

    private(set) var feeds: [String: Feed] = [:]
    /// Feeds kept at most; beyond it the least recently used that nobody follows are dropped
    /// (their conversations go on; a client catching up then gets `first_seq` past its cursor).
    /// Without it, anyone can mint conversation tokens and make the server keep a feed for each.
    let maxFeeds: Int

    init(maxFeeds: Int = 5000) {
        self.maxFeeds = maxFeeds
    }
    func feed(_ key: String) -> Feed? { feeds[key] }

    /// The feed of `key`, made when new (`isNew`), so the caller can ask the engine for the
    /// conversation's opening.
    func open(_ key: String, now: UInt64) -> (feed: Feed, isNew: Bool) {
        if let feed = feeds[key] {
            feed.lastUsed = now
            return (feed, false)
        }
        if feeds.count >= maxFeeds { dropLeastRecentlyUsed() }
        let feed = Feed(now: now)
        feeds[key] = feed
        return (feed, true)
    }

    /// Drops the least recently used tenth of the feeds nobody follows, so the scan is paid
    /// once per many new feeds.
    private func dropLeastRecentlyUsed() {
        let idle = feeds.filter { $0.value.subscribers.isEmpty }.sorted { $0.value.lastUsed < $1.value.lastUsed }
        for (key, _) in idle.prefix(max(1, maxFeeds / 10)) {
            feeds[key] = nil
        }
    }

    func unsubscribe(_ connection: Int, from key: String) {
        feeds[key]?.unsubscribe(connection)
    }

    /// Forgets feeds nobody watches and nobody used for `horizon` nanoseconds (the
    /// conversation's idle horizon: the engine has ended the conversation by then).
    func expire(now: UInt64, horizon: UInt64) {
        for (key, feed) in feeds where feed.subscribers.isEmpty && now - feed.lastUsed > horizon {
            feeds[key] = nil
        }
    }

}
