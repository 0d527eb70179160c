import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from '../core/ports';
import { redactingReplacer } from './redaction';

/** A logger that can add fields (a correlation id, a route) to every line of a child. */
export interface AppLogger extends Logger {
  child(fields: Record<string, unknown>): AppLogger;
}

/**
 * The Lambda logger: AWS Lambda Powertools' structured JSON logger, every line redacted
 * (see `redaction.ts`) by its JSON replacer.
 *
 * @see https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/
 */
export class LambdaLogger implements AppLogger {
  private constructor(private readonly logger: PowertoolsLogger) {}

  static create(serviceName: string): LambdaLogger {
    return new LambdaLogger(new PowertoolsLogger({ serviceName, jsonReplacerFn: redactingReplacer }));
  }

  child(fields: Record<string, unknown>): LambdaLogger {
    const child = this.logger.createChild();
    child.appendPersistentKeys(fields);
    return new LambdaLogger(child);
  }

  info(message: string, fields: Record<string, unknown> = {}): void {
    this.logger.info(message, fields);
  }

  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.logger.warn(message, fields);
  }

  error(message: string, fields: Record<string, unknown> = {}): void {
    this.logger.error(message, fields);
  }
}

type Level = 'INFO' | 'WARN' | 'ERROR';

/**
 * The same shape of line without Powertools, written where the caller says: tests read what was
 * logged through it. Redacted the same way.
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
    const entry = { level, message, timestamp: new Date().toISOString(), ...this.context, ...fields };
    this.write(JSON.stringify(entry, redactingReplacer));
  }
}
