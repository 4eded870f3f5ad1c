import { MemoryStore } from '../../core/store/memory/memory-store.ts';
import { runStoreContract } from './contract.ts';

runStoreContract('memory', () => Promise.resolve(new MemoryStore()));
