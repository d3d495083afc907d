// libFuzzer target: age's ASCII armor (ArmorReader, looksArmored), with a
// round trip through ArmorWriter for what decodes.
@testable import Age

private func dearmor(_ bytes: [UInt8]) throws -> [UInt8] {
    let reader = ArmorReader(BufferedReader(MemorySource(bytes)))
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = try chunk.withUnsafeMutableBytes { try reader.read(into: $0) }
        precondition(n >= 0 && n <= chunk.count)
        if n == 0 { return out }
        out += chunk[0..<n]
        precondition(out.count <= bytes.count, "armor decoded to more bytes than it holds")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArmor(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? ArmorReader.looksArmored(BufferedReader(MemorySource(bytes)))
    if let decoded = try? dearmor(bytes) {
        let sink = MemorySink()
        let writer = ArmorWriter(to: sink)
        try! decoded.withUnsafeBytes { try writer.write($0) }
        try! writer.finish()
        let again = try? dearmor(sink.bytes)
        precondition(again == decoded, "armor written from decoded bytes does not decode to them")
    }
    return 0
}
