import { readFileSync } from 'node:fs';

import { type InitOp, OPS } from '../../src/protocol/protocol.js';

interface RawVector {
  name: string;
  ops: Array<Record<string, unknown>>;
  hex: string;
}

export interface GoldenVector {
  name: string;
  ops: InitOp[];
  bytes: Buffer;
}

export const goldenPath = new URL('./plans.json', import.meta.url);

/** Reads the vectors, turning u64 fields (decimal strings in JSON) into bigints. */
export function loadGoldenVectors(): GoldenVector[] {
  const raw = JSON.parse(readFileSync(goldenPath, 'utf8')) as { vectors: RawVector[] };
  return raw.vectors.map((vector) => ({
    name: vector.name,
    bytes: Buffer.from(vector.hex, 'hex'),
    ops: vector.ops.map((op) => {
      const spec = OPS[op.op as keyof typeof OPS];
      const out: Record<string, unknown> = { ...op };
      for (const [field, kind] of spec.fields) if (kind === 'u64') out[field] = BigInt(op[field] as string);
      return out as InitOp;
    }),
  }));
}
