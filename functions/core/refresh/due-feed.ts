import type { DueEntry } from '../model';
import type { DueInstallationStore } from '../ports';

/**
 * Hands out due installations one at a time, reading the shards of the due index page by page,
 * round-robin, so no shard starves. One reader at a time: a page is never read twice.
 */
export class DueFeed {
  /** Installations the due-index queries returned so far. */
  read = 0;
  private readonly shards: Array<{ name: string; buffer: DueEntry[]; cursor?: string; done: boolean }>;
  private pointer = 0;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: DueInstallationStore,
    private readonly pageSize: number,
    private readonly nowEpochSeconds: () => number,
  ) {
    this.shards = store.dueShards().map((name) => ({ name, buffer: [], done: false }));
  }

  exhausted(): boolean {
    return this.shards.every((shard) => shard.done && shard.buffer.length === 0);
  }

  /** The next due installation, or undefined when every shard is read to its end. */
  next(): Promise<DueEntry | undefined> {
    const taken = this.lock.then(() => this.take());
    this.lock = taken.catch(() => undefined);
    return taken;
  }

  private async take(): Promise<DueEntry | undefined> {
    for (let visited = 0; visited < this.shards.length; visited += 1) {
      const shard = this.shards[this.pointer]!;
      this.pointer = (this.pointer + 1) % this.shards.length;
      if (shard.buffer.length === 0 && !shard.done) {
        const page = await this.store.findDue({
          shard: shard.name,
          nowEpochSeconds: this.nowEpochSeconds(),
          limit: this.pageSize,
          ...(shard.cursor === undefined ? {} : { cursor: shard.cursor }),
        });
        this.read += page.due.length;
        shard.buffer.push(...page.due);
        shard.cursor = page.cursor;
        shard.done = page.cursor === undefined;
      }
      const entry = shard.buffer.shift();
      if (entry !== undefined) return entry;
    }
    return undefined;
  }
}
