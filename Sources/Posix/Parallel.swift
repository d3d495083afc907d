#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// Runs independent jobs (sealing thousands of files) across the cores.
public enum Parallel {
    /// `body` applied to every item, results in the items' order. Workers take
    /// items in small batches from a shared cursor, so a slow item does not
    /// hold up a whole share. The first error wins; the remaining items are
    /// skipped and it is thrown once all workers stop. `progress` is called
    /// (serially) with the number done, every `step` items and at the end.
    public static func map<T, R>(_ items: [T], step: Int = 64, progress: ((Int) -> Void)? = nil,
                          _ body: (T) throws -> R) throws -> [R] {
        guard items.count > 1 else {
            let results = try items.map(body)
            progress?(results.count)
            return results
        }
        var results = [R?](repeating: nil, count: items.count)
        let state = SharedCursor()
        let batch = 8
        let workers = min(ProcessInfoLite.activeProcessorCount, (items.count + batch - 1) / batch)
        results.withUnsafeMutableBufferPointer { out in
            // Each index is written by exactly one worker (the cursor hands
            // it out once), so the workers share `out` without a race.
            let work: (Int) -> Void = { _ in
                while let range = state.next(batch, of: items.count) {
                    for i in range {
                        do {
                            out[i] = try body(items[i])
                        } catch {
                            state.fail(error)
                            return
                        }
                    }
                    state.finished(range.count, step: step, progress: progress)
                }
            }
            withoutActuallyEscaping(work) { work in
                let shared = DisjointWork(body: work)
                DispatchQueue.concurrentPerform(iterations: workers) { shared.body($0) }
            }
        }
        if let error = state.error { throw error }
        progress?(items.count)
        return results.map { $0! }
    }
}

/// A closure whose concurrent calls touch disjoint memory only.
private struct DisjointWork: @unchecked Sendable {
    let body: (Int) -> Void
}

/// The cursor, first error and done count the workers share, under a mutex.
private final class SharedCursor: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cursor = 0
    private var done = 0
    private var lastReported = 0
    private(set) var error: Error?

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    func next(_ batch: Int, of count: Int) -> Range<Int>? {
        locked {
            guard error == nil, cursor < count else { return nil }
            let range = cursor..<min(cursor + batch, count)
            cursor = range.upperBound
            return range
        }
    }

    func fail(_ error: Error) { locked { if self.error == nil { self.error = error } } }

    func finished(_ n: Int, step: Int, progress: ((Int) -> Void)?) {
        locked {
            done += n
            guard let progress, done - lastReported >= step else { return }
            lastReported = done
            progress(done)
        }
    }
}

/// The number of cores this process may use, without Foundation.
public enum ProcessInfoLite {
    public static var activeProcessorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
