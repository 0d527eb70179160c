import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock, RandomSource } from '../core/ports';

export const systemClock: Clock = {
  nowEpochMs: () => Date.now(),
  sleep: (durationMs) => sleep(durationMs),
};

export const cryptoRandom: RandomSource = {
  randomBytes: (length) => randomBytes(length),
};
