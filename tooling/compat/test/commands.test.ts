import { commandCases } from '../cases/commands.js';
import { compatSuite } from '../src/suite.js';

compatSuite('command-line answers under runc and corral', commandCases);
