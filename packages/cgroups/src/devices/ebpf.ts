// A BPF_PROG_TYPE_CGROUP_DEVICE program assembled from device rules. The kernel calls it with a
// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } and allows the access when
// it returns 1. access_type is (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*.

import type { DeviceRule } from './rules.js';
import { effectiveDeviceRules } from './rules.js';

// Instruction classes and operations (linux/bpf_common.h, linux/bpf.h).
const BPF_LDX = 0x01;
const BPF_ALU = 0x04;
const BPF_JMP = 0x05;
const BPF_JMP32 = 0x06;
const BPF_ALU64 = 0x07;
const BPF_W = 0x00;
const BPF_MEM = 0x60;
const BPF_K = 0x00;
const BPF_X = 0x08;
const BPF_AND = 0x50;
const BPF_RSH = 0x70;
const BPF_MOV = 0xb0;
const BPF_JNE = 0x50;
const BPF_EXIT = 0x90;

export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;

// Registers as the program uses them.
const R0 = 0; // return value
const R1 = 1; // context on entry, then scratch
const R2 = 2; // device type
const R3 = 3; // requested access
const R4 = 4; // major
const R5 = 5; // minor

interface Instruction {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): Instruction => ({
  code,
  dst,
  src,
  off,
  imm,
});
const loadWord = (dst: number, src: number, off: number) => insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
const and32 = (dst: number, imm: number) => insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm);
const rsh32 = (dst: number, imm: number) => insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm);
const mov32Reg = (dst: number, src: number) => insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
const mov64 = (dst: number, imm: number) => insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
// 32-bit compares: a major of 2^31 or more must not be sign-extended into a 64-bit immediate.
const jne32 = (dst: number, imm: number, off: number) =>
  insn(BPF_JMP32 | BPF_JNE | BPF_K, dst, 0, off, imm | 0);
const jne32Reg = (dst: number, src: number, off: number) =>
  insn(BPF_JMP32 | BPF_JNE | BPF_X, dst, src, off, 0);
const exit = () => insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

function accessMask(access: string): number {
  return (
    (access.includes('m') ? BPF_DEVCG_ACC_MKNOD : 0) |
    (access.includes('r') ? BPF_DEVCG_ACC_READ : 0) |
    (access.includes('w') ? BPF_DEVCG_ACC_WRITE : 0)
  );
}

/** One rule: a chain of "if this does not match, skip to the next rule" tests, then the verdict. */
function ruleBlock(rule: DeviceRule): Instruction[] {
  const tests: Array<(skip: number) => Instruction[]> = [];
  if (rule.type !== 'a') {
    const type = rule.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
    tests.push((skip) => [jne32(R2, type, skip)]);
  }
  if (rule.access !== 'rwm') {
    // Match only when every requested access is among those the rule names.
    const mask = accessMask(rule.access);
    tests.push((skip) => [mov32Reg(R1, R3), and32(R1, mask), jne32Reg(R1, R3, skip)]);
  }
  if (rule.major !== -1) tests.push((skip) => [jne32(R4, rule.major, skip)]);
  if (rule.minor !== -1) tests.push((skip) => [jne32(R5, rule.minor, skip)]);
  const verdict = [mov64(R0, rule.allow ? 1 : 0), exit()];
  // Build back to front so each jump knows how many instructions follow it in this block.
  let block = verdict;
  for (const test of tests.reverse()) block = [...test(block.length), ...block];
  return block;
}

/** Assembles the program for an ordered rule list (later rules override earlier ones, as in v1). */
export function assembleDeviceProgram(rules: readonly DeviceRule[]): Instruction[] {
  const { defaultAllow, rules: ordered } = effectiveDeviceRules(rules);
  const prologue = [
    loadWord(R2, R1, 0),
    and32(R2, 0xffff),
    loadWord(R3, R1, 0),
    rsh32(R3, 16),
    loadWord(R4, R1, 4),
    loadWord(R5, R1, 8),
  ];
  return [...prologue, ...ordered.flatMap(ruleBlock), mov64(R0, defaultAllow ? 1 : 0), exit()];
}

/** The kernel's struct bpf_insn layout: code, dst:4|src:4, s16 off, s32 imm, little-endian. */
export function encodeInstructions(instructions: readonly Instruction[]): Buffer {
  const bytes = Buffer.alloc(instructions.length * 8);
  instructions.forEach((instruction, index) => {
    const at = index * 8;
    bytes.writeUInt8(instruction.code, at);
    bytes.writeUInt8(((instruction.src & 0xf) << 4) | (instruction.dst & 0xf), at + 1);
    bytes.writeInt16LE(instruction.off, at + 2);
    bytes.writeInt32LE(instruction.imm | 0, at + 4);
  });
  return bytes;
}

/** Runs a program the way the kernel would, for unit tests of the assembler's logic. */
export function interpretDeviceProgram(
  instructions: readonly Instruction[],
  request: { type: 'b' | 'c'; major: number; minor: number; access: string },
): number {
  const context = [
    ((accessMask(request.access) << 16) |
      (request.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR)) >>>
      0,
    request.major >>> 0,
    request.minor >>> 0,
  ];
  const registers = new Array<number>(11).fill(0);
  let pc = 0;
  for (let steps = 0; steps < 100_000; steps++) {
    const instruction = instructions[pc];
    if (!instruction) throw new Error(`fell off the program at ${pc}`);
    const { code, dst, src, off, imm } = instruction;
    pc++;
    const value = (code & BPF_X) === BPF_X ? (registers[src] ?? 0) : imm >>> 0;
    switch (code) {
      case BPF_LDX | BPF_MEM | BPF_W: {
        if (src !== R1 || off % 4 !== 0) throw new Error('only context loads are expected');
        registers[dst] = context[off / 4] ?? 0;
        break;
      }
      case BPF_ALU | BPF_AND | BPF_K:
        registers[dst] = ((registers[dst] ?? 0) & value) >>> 0;
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        registers[dst] = (registers[dst] ?? 0) >>> value;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
      case BPF_ALU64 | BPF_MOV | BPF_K:
        registers[dst] = value;
        break;
      case BPF_JMP32 | BPF_JNE | BPF_K:
      case BPF_JMP32 | BPF_JNE | BPF_X:
        if ((registers[dst] ?? 0) >>> 0 !== value >>> 0) pc += off;
        break;
      case BPF_JMP | BPF_EXIT:
        return registers[R0] ?? 0;
      default:
        throw new Error(`unexpected opcode 0x${code.toString(16)}`);
    }
  }
  throw new Error('program did not finish');
}

export type { Instruction as BpfInstruction };
