import type { ServerResponse } from 'node:http';

/**
 * The fake Ecwid's slowness (internal to `FakeEcwid`): requests that wait out a latency before they
 * are processed, and answers held until released. Both end when the client leaves or when
 * `releaseAll()` drops them, so servers can close.
 */
export class SlowAnswers {
  private readonly held = new Set<ServerResponse>();
  /** Requests waiting out the latency; calling one drops its request. */
  private readonly waiting = new Set<() => void>();

  /** @param latencyMs read at each request, so a test may change it at any time. */
  constructor(private readonly latencyMs: () => number) {}

  /** Requests now waiting out the latency. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Runs `answer` once the latency has passed, unless the request was dropped meanwhile. */
  async afterLatency(response: ServerResponse, answer: () => Promise<void> | void): Promise<true> {
    if (await this.waitOutLatency(response)) await answer();
    return true;
  }

  /** Leaves a response unanswered until `releaseAll()` (or until its client gives up). */
  hold(response: ServerResponse): void {
    this.held.add(response);
    response.once('close', () => this.held.delete(response));
  }

  /** Ends every held request and every request still waiting out the latency, by destroying its connection. */
  releaseAll(): void {
    for (const drop of [...this.waiting]) drop();
    for (const response of this.held) response.destroy();
    this.held.clear();
  }

  /** True after the latency; false, at once, when the client leaves or `releaseAll()` drops the request. */
  private waitOutLatency(response: ServerResponse): Promise<boolean> {
    const latencyMs = this.latencyMs();
    if (latencyMs <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (proceed: boolean) => {
        clearTimeout(timer);
        response.off('close', abandon);
        this.waiting.delete(drop);
        resolve(proceed);
      };
      const abandon = () => finish(false);
      const drop = () => {
        finish(false);
        response.destroy();
      };
      const timer = setTimeout(() => finish(true), latencyMs);
      response.once('close', abandon);
      this.waiting.add(drop);
    });
  }
}
