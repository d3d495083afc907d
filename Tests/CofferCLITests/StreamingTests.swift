import Foundation
import XCTest

/// coffer streams: 2 GiB through encrypt | decrypt in bounded memory.
final class StreamingTests: CLITestCase {
    static let memoryLimitKiB = 64 * 1024

    func testTwoGiBPipelineInBoundedMemory() throws {
        let python = try requireTool("python3")
        let key = try cofferKeygen("key.txt")
        func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let pipeline = "set -o pipefail; head -c 2G /dev/zero"
            + " | \(quote(coffer)) age encrypt -r \(key.recipient)"
            + " | \(quote(coffer)) age decrypt -i \(quote(key.identityFile))"
            + " | cmp - <(head -c 2G /dev/zero)"
        // A dedicated child measures its own descendants only: RUSAGE_CHILDREN covers every
        // waited-for process below it (bash, head, both coffers, cmp); ru_maxrss is in KiB on Linux.
        let measure = """
            import resource, subprocess, sys, time
            start = time.monotonic()
            status = subprocess.call(["bash", "-c", sys.argv[1]])
            elapsed = time.monotonic() - start
            print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "%.2f" % elapsed)
            """
        let result = try run(python, ["-c", measure, pipeline], timeout: 300)
        XCTAssertEqual(result.status, 0, result.stderrText)
        let fields = result.stdoutText.split(whereSeparator: \.isWhitespace)
        XCTAssertEqual(fields.count, 3, "unexpected measurement output: \(result.stdoutText) \(result.stderrText)")
        guard fields.count == 3, let status = Int(fields[0]), let maxRSS = Int(fields[1]), Double(fields[2]) != nil else {
            return XCTFail("cannot parse \(result.stdoutText)")
        }
        print("2 GiB encrypt | decrypt | cmp: \(fields[2]) s, max RSS \(maxRSS) KiB (\(maxRSS / 1024) MiB)")
        XCTAssertEqual(status, 0, "the pipeline failed or the round trip differs: \(result.stderrText)")
        XCTAssertGreaterThan(maxRSS, 0, "ru_maxrss was not reported")
        XCTAssertLessThan(maxRSS, Self.memoryLimitKiB, "peak RSS \(maxRSS) KiB is over 64 MiB")
    }
}
