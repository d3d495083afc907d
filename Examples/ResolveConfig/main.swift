// coffer-example-resolve: a program that takes its configuration from a
// coffer vault through the CofferKit library (docs/LIBRARY.md walks
// through it). Not installed; `swift build` builds it, and a test runs it.
//
//   coffer-example-resolve CONFIG.json -- COMMAND [ARG…]
//
// CONFIG.json is the program's configuration, with references in it:
//
//   {"database": {"host": "db.internal", "password": "coffer:prod/db/password"}}
//
// It opens the vault ($COFFER_VAULT, else the one around the current
// directory) with the user's identity ($COFFER_IDENTITY, else the default),
// resolves every reference, and hands database.password to COMMAND on its
// standard input — as a program would hand it to a database client — never
// in its arguments or environment, where other local users can see it.
import Age
import CofferKit
import CofferLocator
import Foundation

struct ExampleFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func main() throws {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard arguments.count >= 3, arguments[1] == "--" else {
        throw ExampleFailure("usage: coffer-example-resolve CONFIG.json -- COMMAND [ARG…]")
    }

    // 1. Where things are: the library reads no environment; the locator does.
    let locator = Locator()
    let vault = try Vault.open(containing: locator.vaultDirectory(explicit: nil))
    let store = IdentityStore(path: locator.identityPath(explicit: nil))
    let identities = try store.load(passphrase: {
        throw ExampleFailure("the identity has a passphrase; this example does not ask for one")
    })

    // 2. The config tree, parsed with its keys in order, and resolved:
    //    every reference read once, all or nothing.
    let text = try Data(contentsOf: URL(fileURLWithPath: locator.absolute(arguments[0])))
    let tree = try text.withUnsafeBytes { try ConfigJSON.parse($0) }
    let config = try vault.resolve(tree, identities: identities)
    print(config)  // ResolvedNode(<redacted>): values never print

    guard case .string(let host)? = config["database"]?["host"], let password = config["database"]?["password"]?.secret else {
        throw ExampleFailure("the config needs database.host (a string) and database.password (a reference)")
    }
    print("connecting to \(host) with a password of \(password.count) bytes: \(password)")

    // 3. One secret read directly, into the wiped buffer type.
    let references = try tree.references()
    if let reference = references.first(where: { $0.location == "$.database.password" }) {
        let direct = try vault.read(reference.id, identities: identities)
        print("\(reference.id) read directly: \(direct.constantTimeEquals(password) ? "the same" : "different") value")
    }

    // 4. The value leaves through a pipe, straight from its buffer.
    let child = Process()
    child.executableURL = URL(fileURLWithPath: arguments[2].hasPrefix("/") ? arguments[2] : "/usr/bin/env")
    child.arguments = arguments[2].hasPrefix("/") ? Array(arguments.dropFirst(3)) : Array(arguments.dropFirst(2))
    let pipe = Pipe()
    child.standardInput = pipe
    try child.run()
    try password.withUnsafeBytes { try pipe.fileHandleForWriting.write(contentsOf: $0) }
    try pipe.fileHandleForWriting.close()
    child.waitUntilExit()
    guard child.terminationStatus == 0 else { throw ExampleFailure("\(arguments[2]) exited \(child.terminationStatus)") }
}

do {
    try main()
} catch {
    // CofferKit's errors name ids and paths, never values.
    FileHandle.standardError.write(Data("coffer-example-resolve: error: \(error)\n".utf8))
    exit(1)
}
