import Dispatch
import Synchronization

/// Runs two independent pieces of work side by side and returns both results: compiling the
/// knowledge base trains the intent classifier and the handoff model this way, so the second
/// core shortens the wait instead of idling.
func bothAtOnce<A: Sendable, B: Sendable>(_ first: @Sendable () -> A, _ second: @Sendable () -> B) -> (A, B) {
    let a = Mutex<A?>(nil)
    let b = Mutex<B?>(nil)
    DispatchQueue.concurrentPerform(iterations: 2) { i in
        if i == 0 {
            let result = first()
            a.withLock { $0 = result }
        } else {
            let result = second()
            b.withLock { $0 = result }
        }
    }
    return (a.withLock { $0! }, b.withLock { $0! })
}
