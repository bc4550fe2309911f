import ArgumentParser
import Sandbox

/// `srouter`: run a stock routing daemon in an unprivileged sandbox whose network is
/// srouter's own userspace stack.
@main
struct SRouter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "srouter",
        abstract: "Run an unmodified routing daemon rootless, with srouter as its network.",
        discussion: """
            srouter starts the daemon as a sandboxed guest: its network system calls are \
            trapped with seccomp user notification and served by srouter. Nothing needs \
            root, CAP_NET_ADMIN or /dev/net/tun.

            Examples:
              srouter lab
              srouter run -- bird -f -c bird.conf
              srouter run --wg wg-dn42.conf -- bird -f -c bird.conf
              srouter exec -- ping -c 3 172.20.1.1
              srouter show peers
              srouter show routes --table all
              srouter capture wg-dn42 -c 10 -w dn42.pcap
              srouter policy default > policy.json
              srouter policy check policy.json
              srouter genkey | tee private.key | srouter pubkey > public.key
            """,
        version: "0.1.0",
        subcommands: [Run.self, Exec.self, Show.self, Capture.self, Metrics.self, Lab.self, Policy.self,
                      GenKey.self, PubKey.self, GenPSK.self])
}
