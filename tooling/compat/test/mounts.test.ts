import { mountCases } from '../cases/mounts.js';
import { compatSuite } from '../src/suite.js';

compatSuite('mounts under runc and corral', mountCases);
