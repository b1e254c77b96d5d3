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

/// Limits glibc to `count` malloc arenas, unless the operator set `MALLOC_ARENA_MAX`.
///
/// glibc gives each thread that allocates under contention an arena of its own, and memory
/// freed in one arena is not reused by another: the gateway's loop, engine and committer
/// threads each kept their own free lists, and an idle browser conversation cost 2.4 KiB of
/// resident memory where its objects take 1.7. Two arenas: 2.0 KiB, same throughput
/// (`kefu-bench ws-memory`, `kefu-bench http`). Call it before the threads start.
public func limitMallocArenas(to count: Int32) {
    #if canImport(Glibc)
    guard getenv("MALLOC_ARENA_MAX") == nil else { return }
    typealias Option = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(nil, "mallopt") else { return }
    let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    _ = unsafeBitCast(symbol, to: Option.self)(arenaMax, count)
    #endif
}
