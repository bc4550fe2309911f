import ArgumentParser
import Foundation
import WireGuard

/// `srouter genkey`: a new Curve25519 private key in base64, as `wg genkey` prints it.
struct GenKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genkey",
        abstract: "Print a new WireGuard private key (base64), like 'wg genkey'.")

    func run() throws {
        print(Curve25519.generatePrivateKey(using: SystemEntropy()).base64)
    }
}

/// `srouter pubkey`: reads a private key on stdin, prints its public key, as `wg pubkey`.
struct PubKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pubkey",
        abstract: "Read a private key (base64) on stdin and print its public key, like 'wg pubkey'.")

    func run() throws {
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        guard let key = WireGuardKey(base64: input.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            FileHandle.standardError.write(Data("srouter: pubkey: stdin is not a private key (44 characters of base64)\n".utf8))
            throw ExitCode(1)
        }
        print(Curve25519.publicKey(of: key).base64)
    }
}

/// `srouter genpsk`: a random preshared key in base64, as `wg genpsk`.
struct GenPSK: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genpsk",
        abstract: "Print a new random preshared key (base64), like 'wg genpsk'.")

    func run() throws {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeMutableBytes { SystemEntropy().fill($0) }
        print(WireGuardKey(bytes: bytes)!.base64)
    }
}
