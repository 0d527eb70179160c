import type { Logger } from '../core/ports';

type Level = 'INFO' | 'WARN' | 'ERROR';

/** One JSON object per line, the shape CloudWatch Logs Insights queries best. */
export class JsonLogger implements Logger {
  constructor(
    private readonly context: Record<string, unknown> = {},
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  /** A logger that adds these fields (a correlation id, a route) to every line. */
  child(fields: Record<string, unknown>): JsonLogger {
    return new JsonLogger({ ...this.context, ...fields }, this.write);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.log('INFO', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.log('WARN', message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.log('ERROR', message, fields);
  }

  private log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
    this.write(JSON.stringify({ level, message, timestamp: new Date().toISOString(), ...this.context, ...fields }));
  }
}
