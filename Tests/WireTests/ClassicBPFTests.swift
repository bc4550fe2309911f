import Testing
@testable import Wire

/// Classic BPF socket filters: `bpf_check_classic`'s refusals, the instructions' semantics
/// as Linux runs them, FRR's netlink filter, and random programs on random datagrams.
@Suite struct ClassicBPFTests {
    typealias I = ClassicBPFInstruction

    static func ld(_ size: UInt16, abs k: UInt32) -> I { I(code: 0x20 | size, k: k) }
    static func jeq(_ k: UInt32, _ jt: UInt8, _ jf: UInt8) -> I { I(code: 0x15, jumpTrue: jt, jumpFalse: jf, k: k) }
    static func ret(_ k: UInt32) -> I { I(code: 0x06, k: k) }
    static let retA = I(code: 0x16)

    func run(_ program: [I], _ packet: [UInt8]) throws -> UInt32 {
        let checked = try ClassicBPFProgram(program)
        return packet.withUnsafeBytes { checked.run($0, random: { 7 }) }
    }

    /// A netlink message header: length, type, flags, sequence, port id (host order).
    func header(type: UInt16, pid: UInt32, length: UInt32 = 16) -> [UInt8] {
        var bytes: [UInt8] = []
        for v in [length] { bytes += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
        bytes += [UInt8(type & 0xff), UInt8(type >> 8), 0, 0, 1, 0, 0, 0]
        bytes += [UInt8(pid & 0xff), UInt8(pid >> 8 & 0xff), UInt8(pid >> 16 & 0xff), UInt8(pid >> 24)]
        return bytes
    }

    /// FRR's `netlink_install_filter`: drop RTM_NEWROUTE/RTM_DELROUTE whose nlmsg_pid is its
    /// own, keep the rest (loads are big-endian: the host-order fields are compared swapped).
    @Test func frrsFilterDropsItsOwnRouteEchoes() throws {
        let pid: UInt32 = 0x1234_5678
        let program: [I] = [
            Self.ld(0x08, abs: 4),  // nlmsg_type (H)
            Self.jeq(UInt32(24 << 8), 1, 0),  // htons(RTM_NEWROUTE)
            Self.jeq(UInt32(25 << 8), 0, 3),  // htons(RTM_DELROUTE)
            Self.ld(0x00, abs: 12),  // nlmsg_pid (W)
            Self.jeq(pid.byteSwapped, 0, 1),
            Self.ret(0),
            Self.ret(0xffff),
        ]
        #expect(try run(program, header(type: 24, pid: pid)) == 0)
        #expect(try run(program, header(type: 25, pid: pid)) == 0)
        #expect(try run(program, header(type: 24, pid: pid + 1)) == 0xffff)
        #expect(try run(program, header(type: 16, pid: pid)) == 0xffff)
        // Shorter than the loads: the program ends with 0.
        #expect(try run(program, [24, 0, 0]) == 0)
    }

    /// What `bpf_check_classic` refuses (EINVAL).
    @Test func checksRefuseWhatLinuxRefuses() {
        let refused: [[I]] = [
            [],
            [I](repeating: Self.ret(0), count: ClassicBPFProgram.maximumLength + 1),
            [I(code: 0xff), Self.ret(0)],  // unknown opcode
            [I(code: 0x0e), Self.ret(0)],  // RET|X is not among Linux's codes
            [I(code: 0x34, k: 0), Self.ret(0)],  // DIV|K 0
            [I(code: 0x94, k: 0), Self.ret(0)],  // MOD|K 0
            [I(code: 0x64, k: 32), Self.ret(0)],  // LSH|K 32
            [I(code: 0x02, k: 16), Self.ret(0)],  // ST M[16]
            [I(code: 0x05, k: 1), Self.ret(0)],  // JA past the end
            [Self.jeq(0, 0, 1), Self.ret(0)],  // jf past the end
            [Self.ld(0x00, abs: 0)],  // no return last
            [I(code: 0x60, k: 3), Self.ret(0)],  // M[3] loaded, never stored
            [I(code: 0x02, k: 3), Self.jeq(0, 1, 0), I(code: 0x60, k: 4), I(code: 0x60, k: 3), Self.ret(0)],
            [Self.ld(0x00, abs: 0xffff_f000 + 64), Self.ret(0)],  // unknown ancillary
        ]
        for program in refused {
            #expect(throws: ClassicBPFError.invalid) { try ClassicBPFProgram(program) }
        }
        // A slot stored on every path to its load is fine.
        #expect((try? ClassicBPFProgram([I(code: 0x02, k: 3), Self.jeq(0, 1, 0), I(code: 0x60, k: 3),
                                        I(code: 0x60, k: 3), Self.ret(0)])) != nil)
    }

    @Test func instructionsComputeAsLinuxRunsThem() throws {
        let packet: [UInt8] = [0x45, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]
        #expect(try run([I(code: 0x80), Self.retA], packet) == 8)  // LD LEN
        #expect(try run([Self.ld(0x00, abs: 1), Self.retA], packet) == 0x0102_0304)  // big-endian W
        #expect(try run([Self.ld(0x10, abs: 7), Self.retA], packet) == 7)  // B
        #expect(try run([I(code: 0xb1, k: 0), I(code: 0x87), Self.retA], packet) == 20)  // MSH: 4 * (0x45 & 0xf)
        #expect(try run([I(code: 0x01, k: 2), I(code: 0x48, k: 4), Self.retA], packet) == 0x0607)  // IND H
        #expect(try run([I(code: 0x01, k: 7), I(code: 0x48, k: 0), Self.retA], packet) == 0)  // IND past the end
        #expect(try run([I(code: 0x01, k: 0xffff_fffe), I(code: 0x50, k: 1), Self.retA], packet) == 0)  // X + k < 0
        #expect(try run([I(code: 0x00, k: 5), I(code: 0x02, k: 9), I(code: 0x00, k: 1), I(code: 0x60, k: 9), Self.retA],
                        packet) == 5)  // ST, LD MEM
        #expect(try run([I(code: 0x00, k: 100), I(code: 0x01, k: 0), I(code: 0x3c), Self.retA], packet) == 0)  // A / 0
        #expect(try run([I(code: 0x00, k: 100), I(code: 0x01, k: 7), I(code: 0x9c), Self.retA], packet) == 2)  // A % X
        #expect(try run([I(code: 0x00, k: 1), I(code: 0x01, k: 33), I(code: 0x6c), Self.retA], packet) == 2)  // << (33 & 31)
        #expect(try run([I(code: 0x00, k: 1), I(code: 0x84), Self.retA], packet) == 0xffff_ffff)  // NEG
        #expect(try run([I(code: 0x00, k: 6), I(code: 0x45, jumpTrue: 1, jumpFalse: 0, k: 2), Self.ret(1), Self.ret(2)],
                        packet) == 2)  // JSET
        #expect(try run([I(code: 0x05, k: 1), Self.ret(1), Self.ret(2)], packet) == 2)  // JA
        #expect(try run([Self.ld(0x00, abs: 0xffff_f000 + 56), Self.retA], packet) == 7)  // SKF_AD_RANDOM
        // SKF_AD_IFINDEX: a netlink datagram has no device; the program ends with A as it is.
        #expect(try run([I(code: 0x00, k: 9), Self.ld(0x00, abs: 0xffff_f000 + 8), Self.ret(1)], packet) == 9)
    }

    /// SKF_AD_NLATTR and SKF_AD_NLATTR_NEST: the offset of an attribute of type X.
    @Test func netlinkAttributeLoadsFindTheirAttribute() throws {
        // At offset 0: attribute 1 (8 bytes), attribute 2 nested (12 bytes: holds attribute 5).
        let packet: [UInt8] = [8, 0, 1, 0, 9, 9, 9, 9, 12, 0, 0x02, 0x80, 8, 0, 5, 0, 1, 2, 3, 4]
        func find(_ type: UInt32, from start: UInt32, nested: Bool) throws -> UInt32 {
            try run([I(code: 0x01, k: type), I(code: 0x00, k: start),
                     Self.ld(0x00, abs: 0xffff_f000 + (nested ? 16 : 12)), Self.retA], packet)
        }
        #expect(try find(2, from: 0, nested: false) == 8)
        #expect(try find(5, from: 0, nested: false) == 0)
        #expect(try find(5, from: 8, nested: true) == 12)
        #expect(try find(9, from: 8, nested: true) == 0)
        #expect(try find(1, from: 100, nested: false) == 0)
    }

    /// Random programs on random datagrams: checked or refused, never a trap, always an end.
    @Test func randomProgramsNeverTrap() {
        var rng = SplitMix64(state: 0x5eed)
        let codes = Array(ClassicBPFProgram.acceptedCodes)
        var accepted = 0
        for _ in 0..<3000 {
            let length = 1 + Int(rng.next() % 12)
            var program: [I] = (0..<length).map { _ in
                I(code: rng.next() % 4 == 0 ? UInt16(rng.next() & 0xff) : codes[Int(rng.next() % UInt64(codes.count))],
                  jumpTrue: UInt8(rng.next() % 4), jumpFalse: UInt8(rng.next() % 4),
                  k: rng.next() % 3 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : UInt32(rng.next() % 24))
            }
            if rng.next() % 2 == 0 { program.append(Self.retA) }
            guard let checked = try? ClassicBPFProgram(program) else { continue }
            accepted += 1
            let packet = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = packet.withUnsafeBytes { checked.run($0, random: { 0 }) }
        }
        #expect(accepted > 100)
    }
}
