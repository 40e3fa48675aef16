import { cgroupCases } from '../cases/cgroups.js';
import { compatSuite } from '../src/suite.js';

compatSuite('cgroups under runc and corral', cgroupCases);
