import { EcwidRequestError } from '../../functions/core/errors';
import { reportFailure } from '../../functions/runtime/failure-report';
import { capturingLogger } from '../support/fakes';

describe('reportFailure', () => {
  it("logs the status this app answers, never one of the failure's facts under the same name", () => {
    const { log, entries } = capturingLogger();
    reportFailure(log, new EcwidRequestError('CLIENT_REJECTED', 'refused', { detail: { ecwidStatus: 401, status: 401 } }), { status: 502 });
    expect(entries()[0]).toMatchObject({ level: 'ERROR', errorCode: 'CLIENT_REJECTED', errorName: 'EcwidRequestError', status: 502, ecwidStatus: 401 });
  });

  it('logs a refusal (4xx) as a warning, a run without a status as an error with its own message', () => {
    const { log, entries } = capturingLogger();
    reportFailure(log, new EcwidRequestError('CODE_REJECTED', 'invalid_grant'), { status: 400 });
    reportFailure(log, new TypeError('boom'), { message: 'refresh run failed' });
    expect(entries()[0]).toMatchObject({ level: 'WARN', status: 400 });
    expect(entries()[1]).toMatchObject({ level: 'ERROR', message: 'refresh run failed', errorCode: 'INTERNAL', errorName: 'TypeError', errorMessage: 'unexpected error' });
    expect(entries()[1]).not.toHaveProperty('status');
    expect(String(entries()[1]!.stack)).toContain('TypeError: boom');
  });
});
