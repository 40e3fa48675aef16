import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** System tests need root and the artefacts that `tooling/setup` makes; say so plainly. */
export default function setup(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('system tests run as root on the real kernel: run them with sudo or as root');
  }
  const rootfs = fileURLToPath(new URL('./rootfs/out/busybox', import.meta.url));
  if (!existsSync(`${rootfs}/bin/busybox`)) {
    throw new Error(`test rootfs missing at ${rootfs}: run ./tooling/setup first`);
  }
}
