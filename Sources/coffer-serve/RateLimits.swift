import Posix
import Synchronization

/// Token buckets per token: every request takes one from the token's
/// request bucket, every heavy one (a write, a history) one more from its
/// write bucket. A bucket
/// holds twice its rate (a burst) and refills continuously. An empty one
/// answers 429 with the seconds until it holds one again (`Retry-After`).
final class RateLimits: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let requestsPerSecond: Double
    private let writesPerSecond: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(requestsPerSecond: Double, writesPerSecond: Double) {
        self.requestsPerSecond = requestsPerSecond
        self.writesPerSecond = writesPerSecond
    }

    /// Nil when `token` (its identity) may go on; else the seconds to wait.
    func admit(token: String, heavy write: Bool, now: Double = Monotonic.seconds()) -> Int? {
        buckets.withLock { buckets in
            // A write must find room in both buckets; neither is taken from unless both have it.
            let request = RateLimits.refilled(buckets["r " + token], rate: requestsPerSecond, now: now)
            let writes = write ? RateLimits.refilled(buckets["w " + token], rate: writesPerSecond, now: now) : nil
            if request.tokens < 1 { return RateLimits.wait(request, rate: requestsPerSecond) }
            if let writes, writes.tokens < 1 { return RateLimits.wait(writes, rate: writesPerSecond) }
            buckets["r " + token] = Bucket(tokens: request.tokens - 1, updated: now)
            if let writes { buckets["w " + token] = Bucket(tokens: writes.tokens - 1, updated: now) }
            return nil
        }
    }

    private static func refilled(_ bucket: Bucket?, rate: Double, now: Double) -> Bucket {
        guard let bucket else { return Bucket(tokens: 2 * rate, updated: now) }
        return Bucket(tokens: min(2 * rate, bucket.tokens + (now - bucket.updated) * rate), updated: now)
    }

    private static func wait(_ bucket: Bucket, rate: Double) -> Int {
        max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
    }
}
