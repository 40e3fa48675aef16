import type { ControllerWriter } from '../controller.js';
import { deviceRuleLine, normalizeDeviceRule } from '../devices/rules.js';

/**
 * devices.allow / devices.deny, one rule per write in order (a later rule overrides an earlier
 * one). Rollback puts back the whole previous list from devices.list.
 */
export const devicesV1: ControllerWriter = {
  wants: ({ devices }) => (devices ? 'linux.resources.devices' : undefined),
  set(files, { devices = [] }) {
    const previous = files.read('devices.list').trim().split('\n').filter(Boolean);
    let restoreRecorded = false;
    for (const rule of devices.map(normalizeDeviceRule)) {
      const undo = () => {
        files.write('devices.deny', 'a');
        for (const line of previous) files.write('devices.allow', line === 'a *:* rwm' ? 'a' : line);
      };
      files.write(
        rule.allow ? 'devices.allow' : 'devices.deny',
        deviceRuleLine(rule),
        restoreRecorded ? () => {} : undo,
      );
      restoreRecorded = true;
    }
  },
};
