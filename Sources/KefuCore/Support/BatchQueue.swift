import Foundation

/// Hands items from some threads to one taker thread, which takes everything that piled up
/// while it was busy in one go: under load the taker works in batches (one sync for many
/// events, one hand-over for many lines) without ever waiting for a batch to fill.
final class BatchQueue<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false

    func put(_ newItems: [Item]) {
        guard !newItems.isEmpty else { return }
        condition.withLock {
            items.append(contentsOf: newItems)
            condition.signal()
        }
    }

    func put(_ item: Item) { put([item]) }

    /// No more items will come; the taker gets what is left, then nil.
    func close() {
        condition.withLock {
            closed = true
            condition.signal()
        }
    }

    /// Waits for items and takes them all; nil once the queue is closed and empty.
    func takeAll() -> [Item]? {
        condition.withLock {
            while items.isEmpty && !closed { condition.wait() }
            if items.isEmpty { return nil }
            defer { items.removeAll(keepingCapacity: true) }
            return items
        }
    }
}
