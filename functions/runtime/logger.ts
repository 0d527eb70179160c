import { errorName } from '../core/errors';
import type { Logger } from '../core/ports';
import { redactingReplacer } from './redaction';

/** A logger that can add fields (a correlation id, a route) to every line of a child. */
export interface AppLogger extends Logger {
  child(fields: Record<string, unknown>): AppLogger;
}

type Level = 'INFO' | 'WARN' | 'ERROR';

/**
 * Structured JSON logging, one line per entry: `level`, `message`, `timestamp`, the context of the
 * logger (service, route, correlation id) and the entry's fields. Every line passes the redaction
 * (`redaction.ts`) before it is written. On Lambda each line on stdout becomes one log event in the
 * function's log group; tests pass their own `write` to read what was logged.
 */
export class JsonLogger implements AppLogger {
  constructor(
    private readonly context: Record<string, unknown> = {},
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

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
    const head = { level, message, timestamp: new Date().toISOString(), ...this.context };
    let line: string;
    try {
      line = JSON.stringify({ ...head, ...fields }, redactingReplacer);
    } catch (error) {
      // A field JSON cannot write (nested too deep, circular, a BigInt) must not turn a log line into
      // a failure of what it reports: the line goes out without its fields.
      line = JSON.stringify({ ...head, logFieldsOmitted: errorName(error) }, redactingReplacer);
    }
    this.write(line);
  }
}
