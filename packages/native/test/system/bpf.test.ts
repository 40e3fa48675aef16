import { closeSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { BPF_PROG_TYPE_CGROUP_DEVICE, type BpfLoadError, bpfProgLoad } from '../../src/index.js';

/** struct bpf_insn bytes: opcode, dst | src << 4, s16 offset, s32 immediate. */
function program(...instructions: Array<[number, number, number, number]>): Buffer {
  const bytes = Buffer.alloc(instructions.length * 8);
  instructions.forEach(([code, regs, off, imm], index) => {
    bytes.writeUInt8(code, index * 8);
    bytes.writeUInt8(regs, index * 8 + 1);
    bytes.writeInt16LE(off, index * 8 + 2);
    bytes.writeInt32LE(imm, index * 8 + 4);
  });
  return bytes;
}

const MOV64_IMM = 0xb7;
const EXIT = 0x95;

describe('bpf(BPF_PROG_LOAD) on the real kernel', () => {
  it('loads a cgroup device program and returns its descriptor', () => {
    const fd = bpfProgLoad(
      BPF_PROG_TYPE_CGROUP_DEVICE,
      program([MOV64_IMM, 0, 0, 1], [EXIT, 0, 0, 0]),
      'Apache-2.0',
    );
    expect(fd).toBeGreaterThan(2);
    closeSync(fd);
  });

  it("returns the verifier's log when the kernel refuses a program", () => {
    // Exits without setting r0: the verifier refuses reading an uninitialised register.
    let error: BpfLoadError | undefined;
    try {
      bpfProgLoad(BPF_PROG_TYPE_CGROUP_DEVICE, program([EXIT, 0, 0, 0]), 'Apache-2.0');
    } catch (e) {
      error = e as BpfLoadError;
    }
    expect(error?.code).toBe('EACCES');
    expect(error?.syscall).toBe('bpf');
    expect(error?.verifierLog).toMatch(/R0 !read_ok/);
  });
});
