import Foundation
import Testing
@testable import KefuCore

@Suite("Reading input lines")
struct LineReaderTests {
    func lines(_ bytes: [UInt8], maxBytes: Int = 16) throws -> [InputLine] {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, bytes.count) }
        close(fds[1])
        var reader = LineReader(fileDescriptor: fds[0], maxBytes: maxBytes)
        var result: [InputLine] = []
        while let line = reader.next() { result.append(line) }
        close(fds[0])
        return result
    }

    @Test("lines are split on newlines, CRLF included, and the last line needs no newline")
    func splitsLines() throws {
        #expect(try lines(Array("你好\r\nbye\nlast".utf8)) == [.text("你好"), .text("bye"), .text("last")])
    }

    @Test("invalid UTF-8 is reported and the next line still arrives")
    func invalidUTF8Reported() throws {
        #expect(try lines([0xFF, 0xFE, 0x0A] + Array("ok\n".utf8)) == [.invalidUTF8(byteCount: 2), .text("ok")])
    }

    @Test("an over-long line is refused whole and reading continues")
    func overLongLine() throws {
        let long = [UInt8](repeating: 0x61, count: 100)
        #expect(try lines(long + [0x0A] + Array("ok\n".utf8)) == [.tooLong(byteCount: 100), .text("ok")])
    }
}
