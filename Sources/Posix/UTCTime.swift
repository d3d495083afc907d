#if canImport(Glibc)
import Glibc
#endif

/// Times as coffer writes them (output, the audit log): UTC, to the
/// second, so they read the same on every machine and sort as text.
public enum UTCTime {
    public static func now() -> Int { Int(time(nil)) }

    /// `2026-11-28T13:50:00Z`.
    public static func iso8601(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        // Formatted by hand: strftime reads the local time zone (/etc/localtime) first.
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        // The year as %Y writes it: unpadded.
        return "\(Int(parts.tm_year) + 1900)-" + two(parts.tm_mon + 1) + "-" + two(parts.tm_mday) + "T" + two(parts.tm_hour) + ":" + two(parts.tm_min)
            + ":" + two(parts.tm_sec) + "Z"
    }

    /// Seconds since 1970 of `2026-11-28T13:50:00Z` (or `2026-11-28T13:50Z`,
    /// or a date alone, `2026-11-28`, meaning its midnight UTC); nil if it
    /// is not one.
    public static func parse(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, bytes[range].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            return Int(String(decoding: bytes[range], as: UTF8.self))
        }
        guard [10, 17, 20].contains(bytes.count), let year = number(0..<4), bytes[4] == 45,
              let month = number(5..<7), bytes[7] == 45, let day = number(8..<10),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0
        if bytes.count == 17 {
            // To the minute: 2026-11-28T13:50Z.
            guard bytes[10] == 84, bytes[16] == 90, bytes[13] == 58, let h = number(11..<13), let m = number(14..<16),
                  h < 24, m < 60 else { return nil }
            (hour, minute) = (h, m)
        } else if bytes.count == 20 {
            guard bytes[10] == 84, bytes[19] == 90, bytes[13] == 58, bytes[16] == 58,
                  let h = number(11..<13), let m = number(14..<16), let s = number(17..<19),
                  h < 24, m < 60, s < 61 else { return nil }
            (hour, minute, second) = (h, m, s)
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Int(timegm(&parts))
    }
}
