import { hookCases } from '../cases/hooks.js';
import { compatSuite } from '../src/suite.js';

compatSuite('hooks under runc and corral', hookCases);
