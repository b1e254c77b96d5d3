/// The most the parser accepts from the wire before it calls the stream malformed.
///
/// Why: every length in RESP is a number the other end wrote. A bulk length of 2^40 or an
/// array count of 10^9 is refused as soon as its header line is read, before anything is
/// reserved, and a line without an end is refused once it is longer than any real reply
/// line, so neither a broken server nor something that is not Redis can make this process
/// allocate without bound. Memory is only ever taken for bytes that actually arrived.
public struct RESPLimits: Sendable, Equatable {
    /// The longest bulk string (Redis's own `proto-max-bulk-len` default is 512 MB; values
    /// this service stores are far smaller).
    public var maxBulkLength: Int
    /// The most elements in one array, set or push, or pairs in one map.
    public var maxArrayCount: Int
    /// The deepest nesting of arrays, maps, sets and pushes (Redis's own replies nest a few levels).
    public var maxDepth: Int
    /// The longest simple string, error or number line, without its CRLF.
    public var maxLineLength: Int

    public init(maxBulkLength: Int = 64 << 20, maxArrayCount: Int = 1 << 22, maxDepth: Int = 32, maxLineLength: Int = 64 << 10) {
        self.maxBulkLength = maxBulkLength
        self.maxArrayCount = maxArrayCount
        self.maxDepth = maxDepth
        self.maxLineLength = maxLineLength
    }
}
