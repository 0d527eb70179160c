import { createHash } from 'node:crypto';
import { EcwidRequestError } from '../../functions/core/errors';
import type { LifecycleEvent, TokenGrant } from '../../functions/core/model';
import type {
  ClientSecretSource,
  ClientSecretVersions,
  Clock,
  CodeExchangeRequest,
  LifecycleEventPublisher,
  Logger,
  RandomSource,
  TokenEndpoint,
  WebhookCount,
  WebhookCounter,
} from '../../functions/core/ports';
import { JsonLogger } from '../../functions/runtime/logger';

/** 2026-11-26T12:00:00Z. */
export const FIXED_START_EPOCH_MS = Date.UTC(2026, 10, 26, 12, 0, 0);

/**
 * A clock that moves only when told to. `sleep` advances it instead of waiting, and yields once to
 * the event loop so concurrent work can progress as it would during a real wait.
 */
export class ManualClock implements Clock {
  constructor(private epochMs = FIXED_START_EPOCH_MS) {}

  nowEpochMs(): number {
    return this.epochMs;
  }

  async sleep(durationMs: number): Promise<void> {
    this.epochMs += durationMs;
    await new Promise((resolve) => setImmediate(resolve));
  }

  advanceSeconds(seconds: number): void {
    this.epochMs += seconds * 1000;
  }
}

/** A real clock shifted by an adjustable offset: for tests over real HTTP that need to skip time. */
export class ShiftedClock implements Clock {
  offsetMs = 0;

  nowEpochMs(): number {
    return Date.now() + this.offsetMs;
  }

  sleep(durationMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, durationMs));
  }
}

/** Deterministic bytes (SHA-256 in counter mode over a seed): reproducible, yet every call differs. */
export class SeededRandom implements RandomSource {
  private counter = 0;

  constructor(private readonly seed = 'seed') {}

  randomBytes(length: number): Uint8Array {
    const out = Buffer.alloc(length);
    for (let offset = 0; offset < length; offset += 32) {
      createHash('sha256').update(`${this.seed}:${this.counter++}`).digest().copy(out, offset);
    }
    return out;
  }
}

/** A logger that keeps every line, so tests can read what was logged. */
export function capturingLogger(): { log: JsonLogger; lines: string[]; entries: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const log = new JsonLogger({ service: 'test' }, (line) => lines.push(line));
  return { log, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class FixedClientSecret implements ClientSecretSource, ClientSecretVersions {
  /** The secret before a rotation, while it rolls out. */
  previous: string | undefined;

  constructor(public value = 'client-secret-value') {}
  async clientSecret(): Promise<string> {
    return this.value;
  }
  async clientSecrets(): Promise<{ current: string; previous?: string }> {
    return this.previous === undefined ? { current: this.value } : { current: this.value, previous: this.previous };
  }
}

/** A counter that keeps what it counted, in order. */
export class RecordingCounter implements WebhookCounter {
  readonly counted: WebhookCount[] = [];

  count(what: WebhookCount): void {
    this.counted.push(what);
  }
}

/**
 * A publisher that keeps every event it is given as a subscriber would receive it (written as JSON and
 * read back, as EventBridge carries it), or gives them up (`givingUp`), or throws (`failing`).
 */
export class RecordingPublisher implements LifecycleEventPublisher {
  readonly events: LifecycleEvent[] = [];
  /** Throws, as a publisher breaking its contract would. */
  failing = false;
  /** Gives every event up, as the real publisher does after its retries (an EventBridge outage). */
  givingUp = false;

  async publish(events: readonly LifecycleEvent[]): Promise<{ unpublished: number }> {
    if (this.failing) throw new Error('EventBridge is unreachable');
    if (this.givingUp) return { unpublished: events.length };
    this.events.push(...events.map((event) => JSON.parse(JSON.stringify(event)) as LifecycleEvent));
    return { unpublished: 0 };
  }

  /** The detail types published, in order. */
  types(): string[] {
    return this.events.map((event) => event.detailType);
  }
}

type Answer = TokenGrant | EcwidRequestError | ((request: CodeExchangeRequest) => Promise<TokenGrant>);

/** A token endpoint that records every request and answers from a script (by default: a grant). */
export class ScriptedTokenEndpoint implements TokenEndpoint {
  readonly requests: CodeExchangeRequest[] = [];
  private readonly script: Answer[] = [];

  /** Queues the answer to the next request. */
  answer(next: Answer): this {
    this.script.push(next);
    return this;
  }

  async exchangeCode(request: CodeExchangeRequest): Promise<TokenGrant> {
    this.requests.push(request);
    const next = this.script.shift() ?? grantFor(request.storeId ?? 1003);
    if (next instanceof EcwidRequestError) throw next;
    if (typeof next === 'function') return next(request);
    return next;
  }
}

export function grantFor(storeId: number, overrides: Partial<TokenGrant> = {}): TokenGrant {
  return {
    accessToken: `secret_token_for_${storeId}_${Math.random().toString(36).slice(2)}`,
    scope: 'read_store_profile read_catalog',
    storeId,
    ...overrides,
  };
}
