import { defineContractSuite } from './contract-suite.js';
import { redisWorld } from './worlds.js';

defineContractSuite('AtomicQueuesModule (real Redis)', redisWorld);
