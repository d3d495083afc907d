import CSodium

/// libsodium is initialised exactly once per process, before any primitive runs
/// (public so that other modules on libsodium share this one initialisation).
public enum Sodium {
    private static let initialized: Bool = sodium_init() >= 0

    public static func ensureInitialized() {
        // sodium_init fails only when the system CSPRNG is unusable; carrying on
        // would produce predictable keys, so stopping is the only safe outcome.
        precondition(initialized, "libsodium could not be initialised")
    }
}
