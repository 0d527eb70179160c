import type { Context } from 'aws-lambda';
import { refreshDueInstallations, type RefreshRunSummary } from '../core/refresh-installations';
import type { AppDependencies } from '../runtime/dependencies';
import type { AppLogger } from '../runtime/logger';
import { embeddedMetrics } from '../runtime/metrics';

/**
 * The scheduled refresh, triggered by EventBridge: refreshes or verifies every installation that
 * is due, stops in time before the Lambda deadline, and logs one summary line (also its metrics).
 * A run that cannot work at all (no configuration, no database) fails, so the error alarm fires.
 */
export function createRefreshHandler(provide: () => AppDependencies, log: AppLogger) {
  return async (_event: unknown, context: Context): Promise<RefreshRunSummary> => {
    const runLog = log.child({ route: 'scheduled refresh', correlationId: context.awsRequestId });
    try {
      const deps = provide();
      const summary = await refreshDueInstallations({ ...deps, log: runLog }, deps.refreshJobSettings, {
        runId: context.awsRequestId,
        deadlineEpochMs: deps.clock.nowEpochMs() + context.getRemainingTimeInMillis(),
      });
      runLog.info('refresh run finished', { ...summary, ...embeddedMetrics(summary, Date.now()) });
      return summary;
    } catch (error) {
      const failure = error as { name?: unknown; code?: unknown; message?: unknown; detail?: unknown };
      runLog.error('refresh run failed', {
        errorName: failure?.name,
        errorCode: failure?.code,
        message: failure?.message,
        detail: failure?.detail,
      });
      throw error;
    }
  };
}
