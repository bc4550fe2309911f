import ArgumentParser
import Foundation
import Glibc
import Router

/// Set by SIGINT/SIGTERM/SIGPIPE during `srouter capture`: stop after the current packet.
nonisolated(unsafe) private var captureInterrupted: sig_atomic_t = 0

/// `srouter capture IFACE [-w FILE] [-c COUNT]`.
struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture a WireGuard interface's inner packets, both ways, as pcap.",
        discussion: """
            The packets are the decrypted IPv4/IPv6 ones (pcap link type RAW, 101), readable \
            by tcpdump, tshark and Wireshark. -w FILE writes a pcap file ('-w -': stdout); \
            without -w, a pcap stream goes to stdout when it is not a terminal \
            ('srouter capture wg0 | tcpdump -n -r -'), else one summary line per packet. \
            Stops after -c COUNT packets or at Ctrl-C, and prints the count on stderr. \
            A capture that cannot keep up loses packets (counted in 'srouter show stats'); \
            the router never waits for it.

            Exit status: 0, or 1 if the router cannot be reached or refuses.
            """)

    @Argument(help: ArgumentHelp("The interface.", valueName: "iface"))
    var interface: String

    @Option(name: .customShort("w"), help: ArgumentHelp("Write pcap to FILE ('-': stdout).", valueName: "file"))
    var file: String?

    @Option(name: .customShort("c"), help: ArgumentHelp("Stop after COUNT packets.", valueName: "count"))
    var count: Int?

    @OptionGroup var selection: RouterSelection

    func validate() throws {
        if let count, count <= 0 { throw ValidationError("-c COUNT must be positive") }
    }

    func run() throws {
        let output: FileHandle
        let summary: Bool
        switch file {
        case nil:
            output = .standardOutput
            summary = isatty(STDOUT_FILENO) == 1
        case "-"?:
            output = .standardOutput
            summary = false
        case let path?:
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                fail("\(path): cannot create", status: 1)
            }
            output = handle
            summary = false
        }
        for signo in [SIGINT, SIGTERM, SIGPIPE] {
            signal(signo) { _ in captureInterrupted = 1 }
        }
        var packets = 0
        do {
            let client = try ControlClient(path: try selection.path())
            try client.send(ControlRequest(command: "capture", interface: interface, count: count))
            try client.readStreamHeader("pcap")
            var reader = PcapStreamReader()
            var wroteHeader = false
            while captureInterrupted == 0 {
                let chunk = try client.read(timeout: nil, interrupted: { captureInterrupted != 0 })
                if chunk.isEmpty { break }
                reader.append(chunk)
                if !wroteHeader, let header = reader.fileHeader {
                    wroteHeader = true
                    if !summary { output.write(Data(header)) }
                }
                while let record = reader.nextRecord() {
                    packets += 1
                    if summary {
                        print(PacketSummary.line(record.packet, seconds: record.seconds, microseconds: record.microseconds))
                    } else {
                        output.write(Data(record.bytes))
                    }
                }
            }
        } catch let error as ControlClientError {
            fail(error.message, status: 1)
        }
        FileHandle.standardError.write(Data("\(packets) packet\(packets == 1 ? "" : "s") captured\n".utf8))
    }
}
