import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './http-util';

/** An error the AWS JSON protocol reports as `__type` (the SDK turns it into an exception of that name). */
export class AwsServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type AwsJsonOperation = (input: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>;

/**
 * A minimal server for the AWS JSON 1.1 protocol (`POST /` with `X-Amz-Target: {prefix}.{Operation}`),
 * which Secrets Manager and KMS speak. Requests are not authenticated: it listens on loopback only.
 */
export class AwsJsonService {
  /** When set, every call fails with this error: for fault-injection tests. */
  failure: AwsServiceError | undefined;
  /** Where it listens, once `listen` resolved. */
  endpoint: string | undefined;
  private server: Server | undefined;

  constructor(
    private readonly targetPrefix: string,
    private readonly operations: Record<string, AwsJsonOperation>,
  ) {}

  async listen(port = 0): Promise<string> {
    const server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const reply = (status: number, body: Record<string, unknown>) => {
      const text = JSON.stringify(body);
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    };
    try {
      const target = String(request.headers['x-amz-target'] ?? '');
      const [prefix, name] = target.split('.');
      const operation = prefix === this.targetPrefix && name !== undefined ? this.operations[name] : undefined;
      const body = await readBody(request);
      if (operation === undefined) throw new AwsServiceError('UnknownOperationException', `Unsupported operation ${target}`);
      if (this.failure !== undefined) throw this.failure;
      reply(200, await operation(body === '' ? {} : (JSON.parse(body) as Record<string, unknown>)));
    } catch (error) {
      if (error instanceof AwsServiceError) reply(error.status, { __type: error.type, message: error.message });
      else reply(500, { __type: 'InternalFailure', message: 'stub failure' });
    }
  }
}
