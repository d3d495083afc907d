import Age

// The public CofferKit types that carry values (plans whose changes hold
// the values to seal); `ResolvedValues` and `ResolvedNode` declare it
// themselves. Each prints its summary, never a value (RedactedTypesTests).
extension ChangePlan: Redacted {
    public var redactedDescription: String { "ChangePlan(\(action), \(secretCount) secrets, <redacted>)" }
}

extension ImportPlan: Redacted {
    public var redactedDescription: String {
        "ImportPlan(\(added.count) added, \(changed.count) changed, \(unchanged.count) unchanged, <redacted>)"
    }
}
