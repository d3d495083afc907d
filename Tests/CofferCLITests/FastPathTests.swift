import ArgumentParser
import XCTest
@testable import coffer

/// The start-up fast path must never disagree with ArgumentParser: on every
/// form it accepts, both produce the same job; everything else it declines.
final class FastPathTests: XCTestCase {
    func testFastPathAgreesWithArgumentParser() throws {
        let accepted: [[String]] = [
            ["age", "encrypt", "-r", "age1x"],
            ["age", "encrypt", "-r", "age1x", "-r", "age1y", "-a", "-o", "out", "in"],
            ["age", "encrypt", "in", "-R", "keys", "--armor", "--output", "out"],
            ["age", "encrypt", "-p", "--passphrase-file", "pw", "in"],
            ["age", "encrypt", "--passphrase", "-a"],
            ["age", "decrypt"],
            ["age", "decrypt", "-i", "k", "-i", "k2", "-o", "out", "in"],
            ["age", "decrypt", "in", "--identity", "k", "--output", "o", "--passphrase-file", "pw"],
            ["get", "prod/db/password"],
            ["get", "a/b", "--reveal", "--yes", "--vault", "v", "--identity", "i", "--passphrase-file", "p"],
            ["get", "-y", "--reveal", "x", "-o", "json"],
            ["get", "x", "--output", "yaml"],
            ["get", "x", "--at", "v3", "--reveal"],
            ["set", "a/b", "--file", "f"],
            ["set", "--stdin", "a/b", "-y", "--vault", "v", "--identity", "i", "--passphrase-file", "p"],
            ["set", "x", "--yes", "--file", "f"],
            ["exec", "--", "env"],
            ["exec", "--prefix", "app", "--map", "A=x/y", "--file", "K=k", "--env", "E=1=2", "--only", "A", "--pristine",
             "--allow-missing", "--vault", "v", "--identity", "i", "--", "cmd", "--help", "-n1", "--", "x"],
            ["render", "app.yaml"],
            ["render", "app.conf", "-o", "out", "--format", "json", "--vault", "v", "--identity", "i", "--passphrase-file", "p", "-y"],
            ["render", "--check", "x.env"],
            ["render", "x.env", "--output", "o", "--yes"],
            ["merge-driver", "--", ".merge_file_a", ".merge_file_b", ".merge_file_c", "-top.age"],
            ["merge-driver", ".merge_file_a", ".merge_file_b", ".merge_file_c", "prod/db.age"],
        ]
        for argv in accepted {
            let fast = try XCTUnwrap(FastPath.parse(argv), "\(argv)")
            let parsed = try CofferCommand.parseAsRoot(argv)
            switch (fast, parsed) {
            case (.encrypt(let job), let command as AgeEncrypt): XCTAssertEqual(job, command.job, "\(argv)")
            case (.decrypt(let job), let command as AgeDecrypt): XCTAssertEqual(job, command.job, "\(argv)")
            case (.get(let job), let command as GetCommand): XCTAssertEqual(job, command.job, "\(argv)")
            case (.set(let job), let command as SetCommand): XCTAssertEqual(job, command.job, "\(argv)")
            case (.exec(let job), let command as ExecCommand): XCTAssertEqual(job, try command.job, "\(argv)")
            case (.render(let job), let command as RenderCommand): XCTAssertEqual(job, command.job, "\(argv)")
            case (.mergeDriver(let job), let command as MergeDriverCommand): XCTAssertEqual(job, command.job, "\(argv)")
            default: XCTFail("\(argv): fast path chose \(fast), ArgumentParser chose \(type(of: parsed))")
            }
        }
    }

    func testUnusualFormsAreLeftToArgumentParser() {
        let declined: [[String]] = [
            ["age", "encrypt"],                                  // no recipients: AP reports it
            ["age", "encrypt", "-p", "-r", "age1x"],             // invalid combination
            ["age", "encrypt", "-r"],                            // missing value
            ["age", "encrypt", "-r", "-a"],                      // value that looks like an option
            ["age", "encrypt", "-r", "age1x", "a", "b"],         // two positionals
            ["age", "encrypt", "-r", "age1x", "--help"],
            ["age", "encrypt", "--recipient=age1x"],
            ["age", "encrypt", "-ar", "age1x"],
            ["age", "encrypt", "-r", "age1x", "-o", "a", "-o", "b"],
            ["age", "encrypt", "-r", "age1x", "-"],
            ["age", "decrypt", "-i", "k", "--", "in"],
            ["age", "decrypt", "-x", "y"],
            ["age", "keygen"],
            ["get"],                                             // missing id: AP reports it
            ["get", "a", "b"],
            ["get", "a", "-o", "xml"],
            ["get", "a", "--reveal=yes"],
            ["get", "a", "--vault"],
            ["get", "a", "--help"],
            ["set", "a"],                                        // the prompt
            ["set", "a=1"],                                      // a value on the line: warned and scrubbed
            ["set", "a", "b", "--file", "f"],
            ["set", "a", "--file", "f", "--stdin"],              // AP's validate() refuses it
            ["set", "a", "--file", "f", "--file", "g"],
            ["set", "a", "--file=f"],
            ["set", "a", "--stdin", "--help"],
            ["exec", "--prefix", "app"],                         // no program: AP reports it
            ["exec", "--"],
            ["exec", "env"],
            ["exec", "--map", "1A=x", "--", "env"],             // a bad name: AP reports it
            ["exec", "--prefix=app", "--", "env"],
            ["exec", "--help", "--", "env"],
            ["exec", "--bogus", "x", "--", "env"],
            ["exec", "--vault", "a", "--vault", "b", "--", "env"],
            ["render"],
            ["render", "a", "b"],
            ["render", "a", "--check", "-o", "o"],                 // refused by validate()
            ["render", "a", "--format", "xml"],
            ["render", "a", "-o", "o", "-o", "p"],
            ["merge-driver", "a", "b", "c"],                     // three files: AP reports it
            ["merge-driver", "a", "b", "c", "-d"],
            ["merge-driver", "--", "a", "b", "c", "d", "e"],
            ["get", "a", "--copy"],                              // --copy is ArgumentParser's alone
            ["get", "--copy", "a"],
            ["get", "a", "--copy", "--clear-after", "5"],
            ["get", "a", "--clear-after", "5", "--copy"],
            ["get", "a", "--reveal", "--copy"],
            ["generate", "a"],
            ["age"],
            ["--version"],
        ]
        for argv in declined { XCTAssertNil(FastPath.parse(argv), "\(argv)") }
    }
}
