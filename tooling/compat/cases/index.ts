import { cgroupCases } from './cgroups.js';
import { commandCases } from './commands.js';
import { hookCases } from './hooks.js';
import { mountCases } from './mounts.js';
import { processCases } from './process.js';

/** Every case of the differential layer. */
export const allCases = [...processCases, ...mountCases, ...hookCases, ...commandCases, ...cgroupCases];
