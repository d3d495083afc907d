/// A duration as options take it (`agent --ttl`, `token create --ttl`):
/// seconds, or digits with s, m, h or d; at least 1 s and at most `limit`.
enum DurationArgument {
    static func seconds(_ text: String, atMost limit: Int) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var digits = Substring(text), unit = 1
        if let last = text.last, let factor = units[last] {
            digits = digits.dropLast()
            unit = factor
        }
        guard !digits.isEmpty, digits.allSatisfy({ ("0"..."9").contains($0) }), let number = Int(digits), number > 0 else { return nil }
        let (total, overflow) = number.multipliedReportingOverflow(by: unit)
        return !overflow && total <= limit ? total : nil
    }
}
