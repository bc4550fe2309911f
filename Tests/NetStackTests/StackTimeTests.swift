import Testing
@testable import NetStack

@Suite struct StackTimeTests {
    @Test func unitsAreNanoseconds() {
        #expect(StackDuration.second == 1_000 * StackDuration.millisecond)
    }
}
