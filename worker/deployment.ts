import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isGrpcServiceError } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';
import type { PromotePolicy } from '../config';
import type { Logger } from '../logging';
import { projectRoot } from '../config';

/**
 * The default build id: the package version and a digest of the bundled workflow code. Changed workflow code is
 * always a new build (so its runs never replay on the old code), and an unchanged redeploy keeps its build id.
 */
export function defaultBuildId(workflowCode: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  const digest = createHash('sha256').update(workflowCode).digest('hex').slice(0, 12);
  return `oppsync-${manifest.version}-${digest}`;
}

/** The CLI command that makes `version` take new runs. */
export function promoteCommand(version: WorkerDeploymentVersion): string {
  return `temporal worker deployment set-current-version --deployment-name ${version.deploymentName} --build-id ${version.buildId}`;
}

export interface PromotionOutcome {
  /** This build is the deployment's current version: new runs start on it. */
  readonly current: boolean;
  /** This worker made it current. */
  readonly promoted: boolean;
  /** The current build when it is another one (undefined: unversioned workers, or this build). */
  readonly currentBuildId?: string;
}

interface PromotionOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  version: WorkerDeploymentVersion;
  policy: PromotePolicy;
  logger: Logger;
  /** Stops waiting when the worker stops. */
  stopped: () => boolean;
  timeoutMs?: number;
}

const GRPC_NOT_FOUND = 5;
const { TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY } = temporal.api.enums.v1.TaskQueueType;
const RETRY_MS = 250;

/**
 * Decides, once the worker polls, whether its build takes new runs. A deployment without a current version routes
 * new runs to unversioned workers, of which there are none: under 'first' the first build makes itself current, so
 * a first deploy just works; a later build waits for the operator. 'always' promotes every build that starts.
 * The server knows a version once its workers have polled, and refuses to make it current before it has polled
 * every kind of task the current version serves (workflow and activity tasks), hence the wait for both.
 */
export async function promoteWhenPolling(options: PromotionOptions): Promise<PromotionOutcome> {
  const { connection, namespace, taskQueue, version, policy, logger } = options;
  const service = connection.workflowService;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let lastError: unknown;
  while (!options.stopped() && Date.now() < deadline) {
    try {
      const { workerDeploymentVersionInfo: polled } = await service.describeWorkerDeploymentVersion({
        namespace,
        deploymentVersion: version,
      });
      const types = new Set(
        (polled?.taskQueueInfos ?? []).filter((queue) => queue.name === taskQueue).map((queue) => queue.type),
      );
      const polling = types.has(TASK_QUEUE_TYPE_WORKFLOW) && types.has(TASK_QUEUE_TYPE_ACTIVITY);
      if (polling) {
        const { workerDeploymentInfo: info, conflictToken } = await service.describeWorkerDeployment({
          namespace,
          deploymentName: version.deploymentName,
        });
        const currentBuildId = info?.routingConfig?.currentDeploymentVersion?.buildId ?? undefined;
        if (currentBuildId === version.buildId) return { current: true, promoted: false };
        if (policy === 'never' || (policy === 'first' && currentBuildId !== undefined))
          return { current: false, promoted: false, currentBuildId };
        // The conflict token makes this fail, and the loop decide again, if an operator changed the deployment meanwhile.
        await service.setWorkerDeploymentCurrentVersion({
          namespace,
          deploymentName: version.deploymentName,
          buildId: version.buildId,
          conflictToken,
          identity: `oppsync worker ${version.buildId}`,
        });
        return { current: true, promoted: true };
      }
    } catch (error) {
      if (!(isGrpcServiceError(error) && Number(error.code) === GRPC_NOT_FOUND)) {
        lastError = error;
        logger.debug({ err: error }, 'worker deployment not ready for promotion yet');
      }
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  if (options.stopped()) return { current: false, promoted: false };
  throw new Error(
    `the deployment version ${version.deploymentName}/${version.buildId} was not seen polling workflow and activity tasks within ` +
      `${options.timeoutMs ?? 60_000} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

/** promoteWhenPolling, logged: what the worker decided, and the command that promotes a build left waiting. */
export async function promoteAndReport(options: PromotionOptions): Promise<PromotionOutcome> {
  const { logger, version } = options;
  try {
    const outcome = await promoteWhenPolling(options);
    if (outcome.promoted) logger.info(version, 'made this build the current version: new runs start on it');
    else if (!outcome.current && !options.stopped())
      logger.info(
        { ...version, currentBuildId: outcome.currentBuildId, command: promoteCommand(version) },
        'this build takes no new runs until it is made the current version',
      );
    return outcome;
  } catch (error) {
    logger.warn({ err: error, ...version }, 'could not check the worker deployment');
    return { current: false, promoted: false };
  }
}
