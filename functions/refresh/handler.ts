import type { Context } from 'aws-lambda';
import { refreshDueInstallations, type RefreshRunSummary } from '../core/refresh/refresh-run';
import { reportFailure } from '../runtime/failure-report';
import type { AppLogger } from '../runtime/logger';
import { embeddedMetrics } from '../runtime/metrics';
import type { RefreshDependencies } from './dependencies';

/**
 * The scheduled refresh, triggered by EventBridge: refreshes or verifies every installation that
 * is due, stops in time before the Lambda deadline, and logs one summary line (also its metrics).
 * A run that cannot work at all (no configuration, no database) fails, so the error alarm fires.
 */
export function createRefreshHandler(provide: () => RefreshDependencies, log: AppLogger) {
  return async (_event: unknown, context: Context): Promise<RefreshRunSummary> => {
    const runLog = log.child({ route: 'scheduled refresh', correlationId: context.awsRequestId });
    try {
      const deps = provide();
      const summary = await refreshDueInstallations({ ...deps, log: runLog }, deps.settings, {
        runId: context.awsRequestId,
        deadlineEpochMs: deps.clock.nowEpochMs() + context.getRemainingTimeInMillis(),
      });
      runLog.info('refresh run finished', { ...summary, ...embeddedMetrics(summary, deps.clock.nowEpochMs()) });
      return summary;
    } catch (error) {
      // Every failure of a whole run is the service's own: logged at error level.
      reportFailure(runLog, error, { message: 'refresh run failed' });
      throw error;
    }
  };
}
