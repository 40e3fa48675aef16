import { type ControllerWriter, writeDeviceValue } from '../controller.js';
import { notSupported } from '../errors.js';
import type { CgroupFiles } from '../files.js';
import type { LinuxBlockIO } from '../types.js';

const F = 'linux.resources.blockIO';

/** CFQ's blkio.weight went with CFQ (Linux 5.0); BFQ offers blkio.bfq.weight instead. */
function weightFile(files: CgroupFiles, perDevice: boolean): string | undefined {
  const names = perDevice
    ? ['blkio.weight_device', 'blkio.bfq.weight_device']
    : ['blkio.weight', 'blkio.bfq.weight'];
  return names.find((name) => files.has(name));
}

const THROTTLES = [
  ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
  ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
  ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
  ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
] as const;

function wantsLeafWeight(blockIO: LinuxBlockIO): boolean {
  return Boolean(blockIO.leafWeight) || Boolean(blockIO.weightDevice?.some((device) => device.leafWeight));
}

export const blkioV1: ControllerWriter = {
  wants: ({ blockIO }) => {
    if (!blockIO) return undefined;
    const key = Object.keys(blockIO).find((k) => blockIO[k as keyof LinuxBlockIO] !== undefined);
    return key ? `${F}.${key}` : undefined;
  },

  check(files, { blockIO = {} }) {
    if (blockIO.weight && !weightFile(files, false)) {
      throw notSupported(
        'no blkio.weight or blkio.bfq.weight: the device scheduler has no weights',
        `${F}.weight`,
      );
    }
    if (blockIO.weightDevice?.some((device) => device.weight) && !weightFile(files, true)) {
      throw notSupported('no blkio.weight_device or blkio.bfq.weight_device', `${F}.weightDevice`);
    }
    if (wantsLeafWeight(blockIO) && !files.has('blkio.leaf_weight')) {
      throw notSupported('leaf weights went with the CFQ scheduler (Linux 5.0)', `${F}.leafWeight`);
    }
    for (const [key, file] of THROTTLES) {
      if (blockIO[key]?.length && !files.has(file))
        throw notSupported(`this kernel has no ${file}`, `${F}.${key}`);
    }
  },

  set(files, { blockIO = {} }) {
    const weight = weightFile(files, false);
    if (blockIO.weight && weight) files.write(weight, String(blockIO.weight));
    if (blockIO.leafWeight) files.write('blkio.leaf_weight', String(blockIO.leafWeight));
    const weightDevice = weightFile(files, true);
    for (const device of blockIO.weightDevice ?? []) {
      const id = `${device.major}:${device.minor}`;
      if (device.weight && weightDevice)
        writeDeviceValue(files, weightDevice, id, String(device.weight), '0');
      if (device.leafWeight)
        writeDeviceValue(files, 'blkio.leaf_weight_device', id, String(device.leafWeight), '0');
    }
    for (const [key, file] of THROTTLES) {
      // 0 removes a device's limit.
      for (const device of blockIO[key] ?? []) {
        writeDeviceValue(files, file, `${device.major}:${device.minor}`, String(device.rate), '0');
      }
    }
  },
};
