#if canImport(Glibc)
import Glibc
#endif

/// The thread that alone may touch some state ("touched only on the loop thread"), checked in
/// debug builds, where a test would otherwise pass by luck on a data race. Release builds
/// keep the claim and skip the check: it sits on every write and every batch.
struct ThreadOwner: @unchecked Sendable {
    private let name: String
    private var owner: pthread_t?

    init(_ name: String) {
        self.name = name
    }

    /// The calling thread becomes the owner.
    mutating func claim() {
        owner = pthread_self()
    }

    /// Stops the program in a debug build when called off the owning thread (once it has one).
    func check(_ function: StaticString = #function) {
        #if DEBUG
        if let owner, pthread_equal(owner, pthread_self()) == 0 {
            preconditionFailure("\(function) ran off the \(name) thread that owns its state")
        }
        #endif
    }
}
