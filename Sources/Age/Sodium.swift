import CSodium

/// libsodium is initialised exactly once per process, before any primitive runs.
enum Sodium {
    private static let initialized: Bool = sodium_init() >= 0

    static func ensureInitialized() {
        // sodium_init fails only when the system CSPRNG is unusable; carrying on
        // would produce predictable keys, so stopping is the only safe outcome.
        precondition(initialized, "libsodium could not be initialised")
    }
}
