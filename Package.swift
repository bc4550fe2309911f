// swift-tools-version:6.0
//
// srouter: a rootless router. The daemon (BIRD, FRR, GoBGP…) runs unmodified as a guest
// under a seccomp user-notification sandbox; srouter serves its network calls from its own
// userspace stack. Module layout follows DESIGN.md §2: one direction of dependency, bottom up.
import PackageDescription

/// The probes share Guest/probes/common (errno names).
let probeSettings: [CSetting] = [.headerSearchPath("../common")]

/// Release builds of the modules on the packet and netlink paths skip the run-time
/// exclusivity checks (`swift_beginAccess` on class properties: ~5% of srouter's CPU while
/// BIRD loads routes, BENCHMARKS.md); debug builds, which the tests run, keep them.
let hotPathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "srouter",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "srouter", targets: ["srouter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        // MARK: System libraries (Debian's -dev packages, found through pkg-config)
        .systemLibrary(
            name: "CSeccomp", pkgConfig: "libseccomp",
            providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(
            name: "CSodium", pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(
            name: "CCap", pkgConfig: "libcap",
            providers: [.apt(["libcap-dev"])]),

        // MARK: C shim: what Swift cannot import (ioctls, macros, the pre-exec launcher)
        .target(name: "CSRouterLinux"),

        // MARK: Swift modules
        .target(name: "LinuxABI"),
        .target(name: "Wire", swiftSettings: hotPathSettings),
        .target(name: "WireGuard", dependencies: ["Wire", "CSodium"], swiftSettings: hotPathSettings),
        .target(name: "NetStack", dependencies: ["Wire"], swiftSettings: hotPathSettings),
        .target(name: "Netlink", dependencies: ["NetStack", "Wire"], swiftSettings: hotPathSettings),
        .target(
            name: "Sandbox",
            dependencies: [
                "CSRouterLinux", "CSeccomp", "CCap", "LinuxABI",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings),
        .target(
            name: "Router",
            dependencies: [
                "Sandbox", "Wire", "WireGuard", "NetStack", "CSRouterLinux",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings),
        // Guest sockets: the guest's AF_INET/AF_INET6 calls served from the stack (DESIGN §3).
        .target(
            name: "GuestNetwork",
            dependencies: [
                "Sandbox", "NetStack", "Netlink", "Wire", "LinuxABI", "CSRouterLinux",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings),
        .executableTarget(
            name: "srouter",
            dependencies: [
                "Sandbox", "LinuxABI", "WireGuard", "Router", "GuestNetwork", "Netlink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // MARK: Guest-side probes: small C programs that tests run inside the sandbox
        .executableTarget(name: "probe-hostile", path: "Guest/probes/hostile",
                          cSettings: probeSettings),
        .executableTarget(name: "probe-unix", path: "Guest/probes/unix",
                          cSettings: probeSettings),
        .executableTarget(name: "probe-threads", path: "Guest/probes/threads",
                          cSettings: probeSettings,
                          linkerSettings: [.linkedLibrary("pthread")]),
        .executableTarget(name: "probe-sockets", path: "Guest/probes/sockets",
                          cSettings: probeSettings),
        .executableTarget(name: "probe-syscall-cost", path: "Guest/probes/syscall-cost",
                          cSettings: probeSettings),
        .executableTarget(name: "probe-notify-floor", path: "Guest/probes/notify-floor",
                          cSettings: probeSettings),
        .executableTarget(name: "probe-netlink-routes", path: "Guest/probes/netlink-routes",
                          cSettings: probeSettings),

        // MARK: Test tools (driven by Tests/Integration scripts)
        .executableTarget(
            name: "stack-peer",
            dependencies: [
                "Router", "NetStack", "Wire", "WireGuard", "Sandbox",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Integration/StackPeer",
            // A single-threaded test tool written as a script: Swift 5 mode keeps its
            // top-level state simple.
            swiftSettings: [.swiftLanguageMode(.v5)]),

        // MARK: Benchmarks (run by Tests/Benchmarks/*.sh; never timed tests)
        .target(name: "MallocCounter", path: "Tests/Benchmarks/MallocCounter"),
        .executableTarget(
            name: "wireguard-benchmark", dependencies: ["WireGuard", "Wire", "CSodium", "MallocCounter"],
            path: "Tests/Benchmarks/WireGuardBenchmark"),
        .executableTarget(
            name: "stack-benchmark", dependencies: ["NetStack", "Wire", "MallocCounter"],
            path: "Tests/Benchmarks/StackBenchmark"),
        .executableTarget(
            name: "fib-benchmark", dependencies: ["NetStack", "Wire", "MallocCounter"],
            path: "Tests/Benchmarks/FIBBenchmark"),

        // MARK: Tests
        .testTarget(name: "LinuxABITests", dependencies: ["LinuxABI"]),
        .testTarget(name: "WireTests", dependencies: ["Wire"]),
        .testTarget(name: "WireGuardTests", dependencies: ["WireGuard", "Wire"]),
        .testTarget(name: "NetStackTests", dependencies: ["NetStack", "Wire"]),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "NetStack", "Wire"]),
        .testTarget(name: "RouterTests", dependencies: ["Router", "WireGuard", "Wire", "Sandbox"]),
        .testTarget(name: "GuestNetworkTests",
                    dependencies: ["GuestNetwork", "NetStack", "Wire", "LinuxABI", "Sandbox"]),
        .testTarget(name: "SandboxTests", dependencies: [
            "Sandbox", "LinuxABI", "CSRouterLinux", .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
