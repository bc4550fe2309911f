import Testing
@testable import GuestNetwork

@Test func moduleLinks() { _ = GuestNetwork.self }
