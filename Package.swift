// swift-tools-version:6.0
import PackageDescription

// Layers point one way: coffer (CLI) -> CofferKit -> Age, SSHSig, GitStore, Posix -> C modules;
// CofferLocator (environment -> explicit settings) stands beside CofferKit for front ends, and
// CofferAgent (coffer agent's socket, server and client) beside it, on Age, AgeSSH, SSHSig and Posix only;
// AgeSSH (age's ssh-ed25519 recipients) -> SSHSig -> Age, a recipient type beside Age's own.
// AgePlugin (the age plugin client: plugin processes speaking age stanzas) stands on Age and Posix.
let package = Package(
    name: "coffer",
    products: [
        .executable(name: "coffer", targets: ["coffer"]),
        .executable(name: "coffer-yaml", targets: ["coffer-yaml"]),
        .executable(name: "coffer-serve", targets: ["coffer-serve"]),
        .library(name: "CofferKit", targets: ["CofferKit"]),
        .library(name: "CofferLocator", targets: ["CofferLocator"]),
        .library(name: "Age", targets: ["Age"]),
        .library(name: "SSHSig", targets: ["SSHSig"]),
        .library(name: "AgeSSH", targets: ["AgeSSH"]),
        .library(name: "AgePlugin", targets: ["AgePlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Hummingbird's own dependencies, named for the types coffer-serve uses directly.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // SHA-1 for git's own file formats only (object names, index and pack
        // checksums): compiled in, so a write loads no libcrypto (SPEC §3).
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // Headers only (from libgit2-dev, in the default include path); no pkgConfig,
        // since its --libs would link libgit2 into every process. GitStore dlopens it.
        .systemLibrary(
            name: "CGit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        .target(name: "Age", dependencies: ["CSodium"]),
        // OpenSSH's signature, key and allowed-signers formats, Ed25519 only. On
        // Age for its one wiped buffer type (SecureBytes), its strict base64 and
        // the process's one libsodium initialisation; bytes in, bytes out.
        .target(name: "SSHSig", dependencies: ["CSodium", "Age"]),
        // age's ssh-ed25519 recipient type: SSH Ed25519 keys (read by SSHSig)
        // as age recipients and identities, on Age's HKDF and key wrapping.
        .target(name: "AgeSSH", dependencies: ["Age", "SSHSig", "CSodium"]),
                // Headers only: prctl, memfd_create, file seals and SO_PEERCRED's ucred, which the Glibc module lacks.
        .systemLibrary(name: "CLinux"),
        // First thing in each executable's main: no core, no dump, no crash report.
        .target(name: "CrashPosture", dependencies: ["CLinux"]),
        .target(name: "Posix", dependencies: ["Age", "CLinux"]),
        .target(name: "GitStore", dependencies: ["CGit2", "Posix", "Age", .product(name: "Crypto", package: "swift-crypto")]),
        // On CSodium for base64 into wiped buffers: file keys cross the plugin pipes.
        .target(name: "AgePlugin", dependencies: ["Age", "Posix", "CSodium"]),
        // Bundles are tar archives; written and read here, never by a tar process.
        .target(name: "Tar"),
        .target(name: "CofferKit", dependencies: ["Age", "AgeSSH", "AgePlugin", "SSHSig", "GitStore", "Posix", "Tar", "CSodium"]),
        .target(name: "CofferLocator"),
        // Full-screen terminal drawing for `coffer ui`: raw input, keys, frames drawn
        // whole (secrets straight from their wiped buffers); plain ANSI over termios.
        .target(name: "TerminalUI", dependencies: ["Age", "Posix", "CLinux"]),
        // Holds unlocked keys for a session and answers unwrap and sign requests
        // over a Unix socket; knows nothing of vaults (the CLI hands it the keys).
        .target(name: "CofferAgent", dependencies: ["Age", "AgeSSH", "SSHSig", "Posix", "CLinux"]),
        .executableTarget(
            name: "coffer",
            dependencies: [
                "CofferKit",
                "CofferLocator",
                "CofferAgent",
                "Age",
                "AgeSSH",
                "AgePlugin",
                "SSHSig",
                "Posix",
                "CrashPosture",
                "TerminalUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // GitStore's interposer of mbedTLS's CA-bundle reader, visible to
            // the libgit2 it dlopens (see GitStore/TLSCertificates.swift).
            // Linked by the toolchain's lld with packed relative relocations
            // (DT_RELR, glibc 2.36+): the static stdlib's ~45,000 relocations
            // take 9 KB instead of 1 MB to read at each start, which keeps the
            // binary position-independent and makes every command start faster.
            // StaticCXX/libstdc++.so (a linker script, searched before the
            // toolchain's) links the C++ runtime from libstdc++.a: no
            // libstdc++.so.6 to load and bind at start (a third of `get`).
            exclude: ["StaticCXX"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic-symbol=mbedtls_x509_crt_parse_file",
                                           "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                                           "-LSources/coffer/StaticCXX"])]
        ),
        // `-o yaml` through Yams, in a program of its own: Yams needs all of
        // Foundation and ICU, which would slow every coffer process's start.
        .executableTarget(name: "coffer-yaml", dependencies: ["CrashPosture", .product(name: "Yams", package: "Yams")]),
        // `coffer serve`: the HTTP API on Hummingbird, in a program of its own so
        // that the coffer binary's start and size never pay for SwiftNIO.
        .executableTarget(
            name: "coffer-serve",
            dependencies: [
                "CofferKit", "CofferLocator", "CofferAgent", "Age", "Posix", "CrashPosture",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // docs/LIBRARY.md's example: a program resolving its config through CofferKit
        // (built by `swift build`, run by LibraryExampleTests, never installed).
        .executableTarget(name: "coffer-example-resolve", dependencies: ["CofferKit", "CofferLocator", "Age"], path: "Examples/ResolveConfig"),
        // zlib only inflates the compressed conformance vectors; the product never links it.
        .systemLibrary(
            name: "CZlib",
            path: "Tests/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .testTarget(name: "AgeTests", dependencies: ["Age", "CZlib", "CSodium"]),
        .testTarget(name: "SSHSigTests", dependencies: ["SSHSig", "Age"]),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI", "Age"]),
        .testTarget(name: "AgeSSHTests", dependencies: ["AgeSSH", "SSHSig", "Age"]),
        // Fixtures/age-plugin-coffertest: a python3 plugin speaking the protocol, also to stock age.
        .testTarget(name: "AgePluginTests", dependencies: ["AgePlugin", "Age"], exclude: ["Fixtures"]),
        // sshd, an ssh-agent and lighttpd with git http-backend, started and
        // stopped by transfer tests (GitStore's, and the CLI's for sync/clone).
        .target(name: "TestServers", path: "Tests/TestServers"),
        .testTarget(name: "GitStoreTests", dependencies: ["GitStore", "CGit2", "Posix", "TestServers"]),
        .testTarget(name: "CofferKitTests", dependencies: ["CofferKit", "CofferLocator", "Age", "SSHSig", "Posix", "Tar", "TestServers"]),
        .testTarget(
            name: "CofferCLITests",
            dependencies: [
                "Age", "SSHSig", "Posix", "Tar", "CofferAgent", "coffer", "coffer-yaml", "coffer-serve", "coffer-example-resolve", "TestServers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["pty_run.py", "git_http.py", "refusals.txt"]
        ),
    ]
)
