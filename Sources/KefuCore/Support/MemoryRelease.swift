#if canImport(Glibc)
import Glibc
#endif

/// Hands memory that is free inside the process back to the system. glibc keeps freed memory
/// in its arenas for reuse, so after a large knowledge base is replaced the process would
/// keep its peak size for good; `malloc_trim` returns the free pages. It is looked up at run
/// time because `<malloc.h>` is not part of Swift's Glibc module.
func releaseFreeMemory() {
    #if canImport(Glibc)
    typealias Trim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(nil, "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: Trim.self)(0)
    #endif
}
