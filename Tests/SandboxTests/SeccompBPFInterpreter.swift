import CSRouterLinux

/// A classic-BPF interpreter for seccomp programs, so tests can ask a compiled filter what it
/// decides for a given system call without installing it.
///
/// Implements the instruction classes libseccomp emits: loads from `seccomp_data`, scratch
/// memory, ALU with constants, conditional and unconditional jumps, and returns.
struct SeccompBPFInterpreter {
    let program: [sock_filter]

    /// `struct seccomp_data` as the kernel lays it out (little-endian).
    struct Call {
        var number: Int32
        var arch: UInt32 = srouter_audit_arch_native
        var arguments: [UInt64] = []

        func word(at offset: UInt32) -> UInt32? {
            switch offset {
            case 0: return UInt32(bitPattern: number)
            case 4: return arch
            case 8, 12: return 0  // instruction pointer
            case 16..<64 where offset % 4 == 0:
                let index = Int((offset - 16) / 8)
                let value = index < arguments.count ? arguments[index] : 0
                return (offset - 16) % 8 == 0 ? UInt32(truncatingIfNeeded: value)
                                              : UInt32(truncatingIfNeeded: value >> 32)
            default: return nil
            }
        }
    }

    /// The value the filter returns for `call` (`SECCOMP_RET_…` | data).
    func run(_ call: Call) -> UInt32? {
        var a: UInt32 = 0, x: UInt32 = 0
        var memory = [UInt32](repeating: 0, count: 16)
        var pc = 0
        var steps = 0
        while pc < program.count, steps < 100_000 {
            steps += 1
            let ins = program[pc]
            let code = ins.code, k = ins.k
            pc += 1
            switch code & 0x07 {
            case 0x00:  // LD
                switch code & 0xe0 {
                case 0x20: guard let w = call.word(at: k) else { return nil }; a = w  // ABS
                case 0x00: a = k  // IMM
                case 0x60: a = memory[Int(k)]  // MEM
                case 0x80: a = 64  // LEN
                default: return nil
                }
            case 0x01:  // LDX
                switch code & 0xe0 {
                case 0x00: x = k
                case 0x60: x = memory[Int(k)]
                case 0x80: x = 64
                default: return nil
                }
            case 0x02: memory[Int(k)] = a  // ST
            case 0x03: memory[Int(k)] = x  // STX
            case 0x04:  // ALU
                let operand = (code & 0x08) != 0 ? x : k
                switch code & 0xf0 {
                case 0x00: a = a &+ operand
                case 0x10: a = a &- operand
                case 0x20: a = a &* operand
                case 0x40: a = a | operand
                case 0x50: a = a & operand
                case 0x60: a = a << operand
                case 0x70: a = a >> operand
                case 0x80: a = 0 &- a
                case 0xa0: a = a ^ operand
                default: return nil
                }
            case 0x05:  // JMP
                let operand = (code & 0x08) != 0 ? x : k
                let taken: Bool
                switch code & 0xf0 {
                case 0x00: pc += Int(k); continue  // JA
                case 0x10: taken = a == operand
                case 0x20: taken = a > operand
                case 0x30: taken = a >= operand
                case 0x40: taken = (a & operand) != 0
                default: return nil
                }
                pc += Int(taken ? ins.jt : ins.jf)
            case 0x06:  // RET
                return (code & 0x18) == 0x10 ? a : k
            case 0x07:  // MISC
                if code & 0xf8 == 0x00 { x = a } else { a = x }
            default: return nil
            }
        }
        return nil
    }
}

/// Stacked seccomp filters as the kernel runs them (`seccomp_run_filters`): every filter, most
/// recently installed first; the verdict whose action has the highest precedence (the lowest
/// `ACTION_ONLY` as a signed value) wins, ties going to the filter run first.
struct StackedSeccompFilters {
    /// Most recently installed first.
    let filters: [SeccompBPFInterpreter]

    func run(_ call: SeccompBPFInterpreter.Call) -> UInt32? {
        var verdict: UInt32 = 0x7fff_0000
        for filter in filters {
            guard let current = filter.run(call) else { return nil }
            if Int32(bitPattern: current & 0xffff_0000) < Int32(bitPattern: verdict & 0xffff_0000) {
                verdict = current
            }
        }
        return verdict
    }
}
