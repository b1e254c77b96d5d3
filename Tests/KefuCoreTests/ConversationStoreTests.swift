import Foundation
import Testing
@testable import KefuCore

@Suite("Conversations kept in bounded memory")
struct ConversationStoreTests {
    static func store(maxLive: Int, horizon: TimeInterval = 1800) -> ConversationStore {
        var limits = ConversationLimits()
        limits.maxLive = maxLive
        limits.idleHorizon = horizon
        return ConversationStore(limits: limits, folder: Scratch.folder("spill"))
    }

    @Test("a conversation snapshot carries every field of ConversationState")
    func snapshotCoversState() {
        let state = ConversationState(customer: "c", channel: "tcp", started: Date())
        let fields = Set(Mirror(reflecting: state).children.compactMap(\.label))
        #expect(fields == ConversationSnapshot.fields,
                "ConversationState gained or lost fields; carry them in ConversationSnapshot: \(fields.symmetricDifference(ConversationSnapshot.fields))")
    }

    @Test("a conversation moved to disk comes back with its stage, answers, language and transcript")
    func evictedConversationRoundTrips() throws {
        let kb = try KnowledgeFixture.make().load()
        let store = Self.store(maxLive: 1)
        defer { store.close() }
        var state = ConversationState(customer: "int:a", channel: "json", started: Date(timeIntervalSince1970: 1_000))
        state.stage = .choosing(["refund", "order"])
        state.answered = ["refund"]
        state.language = .en
        state.awaiting = .confirmation
        state.transcript = [TranscriptLine(time: Date(timeIntervalSince1970: 1_000), from: "customer", text: "refund please")]
        state.lastCandidates = [Candidate(entryIndex: kb.entryIndex["refund"]!, entryID: "refund", topic: "return_refund", probability: 0.8, keywordEffects: [])]
        store.put("int:a", state, now: Date())
        store.put("int:b", ConversationState(customer: "int:b", channel: "json", started: Date()), now: Date())
        #expect(store.liveCount == 1)
        #expect(store.evictions == 1)
        let back = try #require(store.take("int:a", kb: kb))
        #expect(back.id == state.id)
        #expect(back.stage == .choosing(["refund", "order"]))
        #expect(back.answered == ["refund"])
        #expect(back.language == .en)
        #expect(back.awaiting == .confirmation)
        #expect(back.transcript == state.transcript)
        #expect(back.lastCandidates.map(\.entryID) == ["refund"])
        #expect(store.take("int:a", kb: kb) == nil, "read back once, then it lives in memory again")
    }

    @Test("conversations idle past the horizon end, from memory and from disk, and one with a person needs no end event")
    func idleConversationsEnd() throws {
        let store = Self.store(maxLive: 1, horizon: 60)
        defer { store.close() }
        let then = Date(timeIntervalSince1970: 10_000)
        store.put("a", ConversationState(customer: "a", channel: "tcp", started: then), now: then)
        var withPerson = ConversationState(customer: "b", channel: "tcp", started: then)
        withPerson.stage = .withPerson("T000001")
        store.put("b", withPerson, now: then.addingTimeInterval(1))
        #expect(store.expire(now: then.addingTimeInterval(30)).isEmpty)
        let ended = store.expire(now: then.addingTimeInterval(120))
        #expect(Set(ended.map(\.key)) == ["a", "b"])
        #expect(ended.first { $0.key == "a" }?.needsEnd == true)
        #expect(ended.first { $0.key == "b" }?.needsEnd == false)
        #expect(store.liveCount == 0 && store.spilledCount == 0)
    }

    @Test("a long transcript keeps the customer's first line, a marker and the latest lines")
    func transcriptTrimmed() {
        var state = ConversationState(customer: "c", channel: "tcp", started: Date())
        for i in 0..<100 { state.transcript.append(TranscriptLine(time: Date(), from: i % 2 == 0 ? "customer" : "bot", text: "line \(i)")) }
        state.trimTranscript(keeping: 10)
        #expect(state.transcript.count == 12)
        #expect(state.transcript[0].text == "line 0")
        #expect(state.transcript[1].from == ConversationState.omittedFrom)
        #expect(state.transcript[1].text.hasPrefix("89 earlier lines"))
        #expect(state.transcript.last?.text == "line 99")
        for i in 100..<120 { state.transcript.append(TranscriptLine(time: Date(), from: "bot", text: "line \(i)")) }
        state.trimTranscript(keeping: 10)
        #expect(state.transcript[1].text.hasPrefix("109 earlier lines"), "the count adds up across trims")
    }
}
