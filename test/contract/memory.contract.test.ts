import { defineContractSuite } from './contract-suite.js';
import { memoryWorld } from './worlds.js';

defineContractSuite('AtomicQueuesTestingModule (in memory, TestClock)', memoryWorld);
