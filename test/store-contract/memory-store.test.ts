import { ManualClock } from '../support/fakes';
import { MemoryStore } from '../support/memory-store';
import { runStoreContract } from './store-contract';

runStoreContract('in-memory store (the core tests use it)', async () => {
  const clock = new ManualClock();
  return { store: new MemoryStore(4, clock), clock };
});
