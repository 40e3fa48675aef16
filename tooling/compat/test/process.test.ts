import { processCases } from '../cases/process.js';
import { compatSuite } from '../src/suite.js';

compatSuite('the process under runc and corral', processCases);
